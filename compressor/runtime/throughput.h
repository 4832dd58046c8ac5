// The runtime's speed on one model, as `compressor bench` reports it: prefill (the prompt in one
// forward) and greedy decode through the key/value cache, of one sequence or a batch of them, timed per run after one untimed
// warm-up run (so cache-hot: the weights' pages are mapped and, where they fit, in cache), with the
// time per op of every timed run, and the bytes a decoded token must read (its bandwidth bound).
#pragma once

#include <cstdint>
#include <vector>

#include "compressor/runtime/decoder.h"
#include "compressor/runtime/op_profile.h"

namespace compressor::runtime {

struct ThroughputOptions {
  std::vector<int32_t> prompt;  // prefilled as one forward; its length is the prompt length
  int64_t decode_tokens = 64;   // greedy tokens decoded one at a time after it
  int runs = 3;                 // timed runs (each a fresh cache), after one untimed warm-up
  int64_t batch = 1;            // sequences run together (each the prompt): prefill and decode steps batched
};

struct ThroughputRun {
  double prefill_seconds = 0;  // forward of the prompt, logits of its last row, argmax
  double decode_seconds = 0;   // decode_tokens × (forward of one token, logits, argmax)
};

// Token counts are per sequence; tokens per second count every sequence of the batch.
struct Throughput {
  int64_t prompt_tokens = 0, decode_tokens = 0, batch = 1;
  std::vector<ThroughputRun> runs;
  OpProfile prefill_ops, decode_ops;  // summed over the timed runs
  double median_prefill_seconds() const;
  double median_decode_seconds() const;
  double prefill_tokens_per_second() const { return batch * prompt_tokens / median_prefill_seconds(); }
  double decode_tokens_per_second() const { return batch * decode_tokens / median_decode_seconds(); }
};

// BadInput ("--prompt-tokens" / "--decode-tokens" / "--runs" / "--batch") when the prompt is empty,
// decode_tokens, runs or batch < 1, or prompt + decode tokens pass the model's context.
Throughput measure_throughput(const Decoder& model, const ThroughputOptions& options);

// Bytes of weights one decoded token reads as the kernels hold them (packed codes, int8/FP8 bytes
// or float32, with scales, zero points and biases): every layer's linears and norms and the head;
// the embedding contributes one row.
int64_t weight_bytes_per_token(const Decoder& model);
// Bytes of keys and values one decoded token reads per position already in the cache.
int64_t kv_bytes_per_position(const Decoder& model);
// Parameters as the model defines them (a linear's rows × cols however it is stored, biases,
// norms, learned positions): float32 bytes = 4 × this.
int64_t logical_parameters(const Decoder& model);

}  // namespace compressor::runtime
