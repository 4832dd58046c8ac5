// The threads the runtime's kernels use: OpenMP (the GEMV kernels, the bandwidth probe, the tiled
// attention) and OpenBLAS (the GEMM path). Both default to every core.
#pragma once

namespace compressor::runtime {

// Sets both pools to n threads (n >= 1).
void set_kernel_threads(int n);
int kernel_threads();
// The processors OpenMP may use (every core, whatever the current thread count).
int available_threads();

// OpenMP's thread count set to n for one scope and restored after it. LibTorch sets OpenMP's count
// to its own intra-op count when it starts (1 on a 2-core VM whose cores cpuinfo counts as one), so
// a runtime kernel called from LibTorch code (the model's fused attention) raises it for the call.
class OpenMpThreadsScope {
 public:
  explicit OpenMpThreadsScope(int n);
  ~OpenMpThreadsScope();
  OpenMpThreadsScope(const OpenMpThreadsScope&) = delete;
  OpenMpThreadsScope& operator=(const OpenMpThreadsScope&) = delete;

 private:
  int before_;
};

}  // namespace compressor::runtime
