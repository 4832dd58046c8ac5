// The threads the runtime's kernels use: OpenMP (the GEMV kernels, the bandwidth probe) and
// OpenBLAS (the GEMM path). Both default to every core.
#pragma once

namespace compressor::runtime {

// Sets both pools to n threads (n >= 1).
void set_kernel_threads(int n);
int kernel_threads();

}  // namespace compressor::runtime
