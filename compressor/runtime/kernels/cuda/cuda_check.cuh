// What every .cu file starts from: CUDA's runtime API (or, with COMPRESSOR_CUDA_EMULATION, its CPU
// emulation: emulation/emulation.h), the launch spelling both accept, and status checks (a failed
// call or launch throws std::runtime_error naming it).
#pragma once

#if defined(COMPRESSOR_CUDA_EMULATION)
#include "compressor/runtime/kernels/cuda/emulation/emulation.h"
#else
#include <cuda_runtime.h>
// kernel<<<grid, block>>>(args) spelled COMPRESSOR_LAUNCH(kernel, grid, block)(args), which the
// emulation can define as a function call.
#define COMPRESSOR_LAUNCH(kernel, grid, block) kernel<<<grid, block>>>
#endif

#include <cstdint>
#include <stdexcept>
#include <string>

namespace compressor::runtime::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Kernel launches report their errors through cudaGetLastError.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline int64_t blocks_for(int64_t items, int64_t per_block) { return (items + per_block - 1) / per_block; }

}  // namespace compressor::runtime::cuda
