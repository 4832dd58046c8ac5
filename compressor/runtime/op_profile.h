// Where a forward pass spends its time, by op, for `compressor bench`: a fixed table of counters
// that the decoder adds to when a State carries one (none by default: then a timer is a branch).
// Two clock reads per op; a decoded token of SmolLM2 runs ~300 ops in ~20 ms, so ~10 µs of it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace compressor::runtime {

enum class Op : int {
  embedding,   // token (and GPT-2 position) rows
  norm,        // LayerNorm / RMSNorm
  qkv,         // the query, key and value projections
  rotary,      // Llama's rotary embedding
  attention,   // cache store and causal attention over it
  attn_out,    // the attention output projection
  mlp_in,      // GPT-2's c_fc, Llama's gate and up projections
  activation,  // GELU / SiLU·up
  mlp_down,    // the MLP's down projection
  residual,    // the residual additions and slicing of fused q/k/v
  head,        // the vocabulary projection
  count
};
constexpr int kOpCount = static_cast<int>(Op::count);
const char* op_name(Op op);

struct OpProfile {
  std::array<double, kOpCount> seconds{};
  std::array<int64_t, kOpCount> calls{};
  double total_seconds() const;
  OpProfile& operator+=(const OpProfile& other);
};

// Adds the time from construction to destruction to profile's `op` (nothing when profile is null).
class OpTimer {
 public:
  OpTimer(OpProfile* profile, Op op) : profile_(profile), op_(op) {
    if (profile_) start_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (!profile_) return;
    const int i = static_cast<int>(op_);
    profile_->seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    ++profile_->calls[i];
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpProfile* profile_;
  Op op_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace compressor::runtime
