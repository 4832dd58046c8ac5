// The linear kernel the runtime runs, by COMPRESSOR_KERNELS (read once, at the first call; any other
// value is an error naming it):
//   auto (default): the AVX-512 GEMV (int4, f32) for up to kMaxGemvTokens tokens where the CPU
//                   and the weight allow it, else linear_blas;
//   blas:           linear_blas always;
//   ref:            linear_ref (and the double-precision attention).
#pragma once

#include <string>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// "auto", "blas" or "ref": the kernel set in use.
const std::string& kernel_set();

void linear(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
