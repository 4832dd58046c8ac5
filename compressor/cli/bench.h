#pragma once
#include <cstdint>
#include <string>

namespace compressor::cli {

struct BenchArgs {
  std::string model;            // artifact or checkpoint directory
  int64_t prompt_tokens = 128;  // prefill length
  int64_t decode_tokens = 64;   // greedy tokens after it
  int64_t batch = 1;            // sequences prefilled and decoded together
  int runs = 3;                 // timed runs (median), after one warm-up
  int threads = 0;              // 0: every core
  std::string text;             // prompt from this text's first tokens (default: seeded random ids)
  bool torch = true;            // also time the float32 LibTorch model in the same run
  bool bandwidth = true;        // also measure DRAM read bandwidth (1 GiB)
  std::string json;             // report file
};

// Times the runtime on the model (prefill and decode tok/s of `batch` sequences, time per op, peak RSS, size,
// bytes read per decoded token against the measured DRAM bandwidth) and float32 LibTorch on the same
// tokens in the same process; prints a report (and JSON). Exit 2 for bad flags or models.
int bench_model(const BenchArgs& args);

}  // namespace compressor::cli
