// The fast linear kernel: dense weights go straight to OpenBLAS's sgemm; quantized ones are
// dequantized a tile of rows at a time (the scalar references of compressor/quant, so the floats
// are exactly the LibTorch model's) into a small scratch that sgemm multiplies. The tile keeps the
// scratch at kTileRows · in floats instead of a float copy of the whole weight, and the
// dequantization costs 1/tokens of the GEMM. The OpenMP threads split the weight's rows and run
// OpenBLAS single-threaded on their share (OpenBLAS's thread count is set to 1 for the call and
// restored): call it from one thread. Tested against linear_ref on odd shapes.
#pragma once

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

inline constexpr int64_t kTileRows = 256;

// x: [n, w.cols] -> y: [n, w.rows] (resized). Same contract as linear_ref.
void linear_blas(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
