// The runtime's CUDA device_ops.cu compiled by g++ against the CPU emulation (emulation.h): the very
// source nvcc compiles, so the emulated tests (tests/CMakeLists.txt, runtime_cuda_emulated) run it.
#include "compressor/runtime/kernels/cuda/device_ops.cu"
