// The teacher's top-k logits for every training window, computed once and kept in a file, so the
// epochs after the first (and a resumed run) read them instead of running the teacher: the
// distillation loss is then sparse_soft_target_loss (losses.h).
//
// File: "CTOPK001", a little-endian uint64 header length, the header (JSON: identity, windows,
// positions, k), then per window its positions × k float32 logits and positions × k int32 ids,
// so window r is one contiguous read at a fixed offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "distill/losses.h"

namespace compressor::distill {

class TeacherCache {
 public:
  // [B, positions] ids -> the teacher's [B, positions, vocab] logits.
  using TeacherFn = std::function<torch::Tensor(const torch::Tensor&)>;
  using ProgressFn = std::function<void(int64_t done, int64_t total)>;

  // Opens `file` when it holds the top-k logits of exactly these `inputs` ([windows, positions]
  // int64) under `identity` (the teacher, k); otherwise computes them, `batch` windows per teacher
  // forward, writes `file` atomically (via a .partial beside it) and opens that.
  TeacherCache(const std::filesystem::path& file, const torch::Tensor& inputs, int64_t k, const nlohmann::json& identity,
               const TeacherFn& teacher, int64_t batch, const ProgressFn& progress = {});

  // The cached top-k of windows `rows` (int64 [B]): values [B, positions, k], indices int64.
  TopLogits read(const torch::Tensor& rows) const;
  bool reused() const { return reused_; }  // whether the file was already there
  uint64_t bytes() const { return bytes_; }

 private:
  std::filesystem::path file_;
  int64_t windows_ = 0, positions_ = 0, k_ = 0;
  uint64_t data_offset_ = 0, bytes_ = 0;
  bool reused_ = false;
  mutable std::ifstream in_;
};

}  // namespace compressor::distill
