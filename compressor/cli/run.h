#pragma once
#include <string>
#include <vector>

namespace compressor::cli {

struct RunArgs {
  std::string recipe;
  std::vector<std::string> overrides;
  bool dry_run = false;
  bool resume = false;  // continue training stages from the checkpoints an interrupted run left
};

struct EvalArgs {
  std::string model;
  std::string text;
  int64_t seq_len = 0;
  int64_t stride = 0;
  int64_t max_bytes = 0;
  // torch: dequantized into LibTorch; runtime: executed as stored; auto: runtime for an artifact
  // of an architecture it executes (GPT-2, Llama), torch otherwise
  std::string engine = "auto";
  // cpu, or cuda: the runtime engine on CUDA device 0 (a build with nvcc and a GPU)
  std::string device = "cpu";
};

int run_recipe(const RunArgs& args, bool quiet);  // returns 0; throws GateFailed / BadInput
int eval_model(const EvalArgs& args);
int print_passes();

}  // namespace compressor::cli
