// A CPU emulation of the part of CUDA the runtime's .cu files use, so their kernels run (slowly) and
// are tested on machines without a GPU: the same sources compiled by g++ with
// COMPRESSOR_CUDA_EMULATION (emulated_kernels.cpp), in the library compressor_runtime_cuda_emulated.
//
// Execution model: a launch runs its blocks one after another; a block's threads are fibers
// (ucontext) in the calling OS thread, resumed round robin. __syncthreads() yields until every live
// thread of the block has reached it; a warp shuffle writes the lane's value, yields, reads its
// partner's, and yields again, so all lanes exchange at the same point as on a GPU. __shared__
// variables are function statics: one copy, shared by the threads of the block that runs. Device
// memory is host memory. This checks indexing, bounds, reductions and barrier placement; it says
// nothing about speed, and cannot catch a race that a round-robin order happens to hide.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

namespace compressor::cuda_emulation {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3() = default;
  dim3(unsigned x_, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The running thread's indices (set by the scheduler before each fiber resumes).
const dim3& thread_index();
const dim3& block_index();
const dim3& block_dim();
const dim3& grid_dim();

void syncthreads();
// One lane's 8 bytes exchanged with lane `source` of its warp (both yields inside).
uint64_t warp_exchange(uint64_t value, unsigned source_lane);

// Runs body() once per thread of each block of `grid` × `block` (fibers, as above).
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);

template <class F>
struct Launch {
  dim3 grid, block;
  F kernel;
  template <class... Args>
  void operator()(Args... args) const {
    run_grid(grid, block, [&] { kernel(args...); });
  }
};
template <class F>
Launch<F> launch(dim3 grid, dim3 block, F kernel) {
  return Launch<F>{grid, block, kernel};
}

template <class T>
T shfl(T v, unsigned source_lane) {
  static_assert(sizeof(T) <= 8, "8-byte lanes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = warp_exchange(bits, source_lane);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

}  // namespace compressor::cuda_emulation

// ---- CUDA's spelling -----------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define threadIdx (::compressor::cuda_emulation::thread_index())
#define blockIdx (::compressor::cuda_emulation::block_index())
#define blockDim (::compressor::cuda_emulation::block_dim())
#define gridDim (::compressor::cuda_emulation::grid_dim())
#define COMPRESSOR_LAUNCH(kernel, grid, block) ::compressor::cuda_emulation::launch(grid, block, kernel)

using dim3 = ::compressor::cuda_emulation::dim3;

inline void __syncthreads() { ::compressor::cuda_emulation::syncthreads(); }

template <class T>
T __shfl_xor_sync(unsigned, T v, int lane_mask) {
  const unsigned lane = threadIdx.x % 32;
  return ::compressor::cuda_emulation::shfl(v, lane ^ static_cast<unsigned>(lane_mask));
}

template <class T>
T __shfl_down_sync(unsigned, T v, unsigned delta) {
  const unsigned lane = threadIdx.x % 32;
  // A source past the warp's end returns the lane's own value, as on a GPU.
  return ::compressor::cuda_emulation::shfl(v, lane + delta < 32 ? lane + delta : lane);
}

// c + the dot product of a's and b's four signed bytes.
inline int __dp4a(int a, int b, int c) {
  for (int i = 0; i < 4; ++i) {
    c += static_cast<int>(static_cast<int8_t>(static_cast<uint32_t>(a) >> (8 * i))) *
         static_cast<int>(static_cast<int8_t>(static_cast<uint32_t>(b) >> (8 * i)));
  }
  return c;
}

// ---- the runtime API the .cu files call -------------------------------------------------------------
enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInvalidValue = 1 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };

struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
};

const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaDeviceSynchronize();
