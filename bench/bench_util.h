// Helpers the benchmarks share: best-of-N timing, the process's memory from /proc, and the start
// the compressor binary makes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "compressor/base/heap_reuse.h"
#include "compressor/runtime/kernels/blas_core.h"

namespace bench {

// First thing in main, as compressor's own main does: OpenBLAS on the kernels this CPU runs (a
// restart when it fell back to SSE ones; blas_core.h), and freed memory reused (heap_reuse.h).
inline void start_like_compressor(char** argv) {
  compressor::runtime::restart_with_better_blas_core(argv);
  compressor::base::reuse_freed_memory();
}

// A field of /proc/self/status ("VmRSS:", "VmHWM:") in MiB.
inline double status_mib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key))) / 1024.0;
  }
  return 0;
}

// The shortest of `repeat` runs of f, in seconds.
inline double best_of(int repeat, const std::function<void()>& f) {
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

}  // namespace bench
