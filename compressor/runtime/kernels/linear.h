// The linear kernel the runtime runs, by COMPRESSOR_KERNELS (read once, at the first call; any other
// value is an error naming it):
//   auto (default): the AVX-512 GEMV (int4, int8, f32) for up to kMaxChunkedGemvTokens tokens
//                   (in chunks of kMaxGemvTokens) where the CPU and the weight allow it, else
//                   linear_blas;
//   blas:           linear_blas always;
//   ref:            linear_ref (and the double-precision attention).
#pragma once

#include <string>
#include <vector>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// Up to this many tokens (a batch of decode steps) the GEMV runs in chunks rather than sgemm on a
// dequantized copy: SmolLM2 at a batch of 16 decodes 205 vs 143 tok/s (int4 g64) and 256 vs 148
// (int8); at 32, sgemm is ahead (209 vs 195, int4). bench/runtime_batch_bench.sh measures it.
inline constexpr int64_t kMaxChunkedGemvTokens = 16;

// "auto", "blas" or "ref": the kernel set in use.
const std::string& kernel_set();

void linear(const LinearWeight& w, const Matrix& x, Matrix& y);
// Several weights that read the same x (q, k, v; gate, up): ys[i] = x · ws[i]ᵀ (+ bias), as
// linear() on each gives, in one kernel call where the kernel can share the input's preparation
// and one parallel loop between them (gemv_limbs_group: decode of W4A16 / W8A16), else one by one.
void linear_group(const std::vector<const LinearWeight*>& ws, const Matrix& x, const std::vector<Matrix*>& ys);

// The same, returning y.
inline Matrix linear(const LinearWeight& w, const Matrix& x) {
  Matrix y;
  linear(w, x, y);
  return y;
}

}  // namespace compressor::runtime
