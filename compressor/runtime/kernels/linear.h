// The linear kernel the runtime runs: linear_blas, or linear_ref when COMPRESSOR_KERNELS=ref (read
// once, at the first call). Any other value of COMPRESSOR_KERNELS is an error naming it.
#pragma once

#include <string>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// "blas" or "ref": the kernel set in use.
const std::string& kernel_set();

void linear(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
