// The machine's DRAM read bandwidth, measured: the physical limit of batch-1 decode, which reads
// every weight once per token. `compressor bench` and bench/bench_runtime_gemv state their figures
// as fractions of it.
#pragma once

#include <cstdint>

namespace compressor::runtime {

// GB/s (1e9 bytes) of reading a `bytes` buffer (default 1 GiB: far past any cache here) summed by
// `threads` OpenMP threads (AVX-512 loads where the CPU has them), best of `repeat` passes over
// pages already written.
double dram_read_gbs(int threads, int64_t bytes = int64_t{1} << 30, int repeat = 5);

}  // namespace compressor::runtime
