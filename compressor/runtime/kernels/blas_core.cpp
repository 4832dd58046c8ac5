#include "compressor/runtime/kernels/blas_core.h"

#include <cblas.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace compressor::runtime {

std::string blas_core() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

std::string better_blas_core() {
  if (std::getenv("OPENBLAS_CORETYPE")) return "";
  const std::string chosen = blas_core();
  // OpenBLAS's fallbacks for a CPU it does not know: SSE-era kernels, a fraction of what an AVX
  // CPU does. Any other choice is the library's knowledge of the model and stays.
  if (chosen != "Prescott" && chosen != "Core2" && chosen != "Nehalem") return "";
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")) {
    return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

void restart_with_better_blas_core(char** argv) {
  const std::string core = better_blas_core();
  if (core.empty() || !argv || !argv[0]) return;
  const std::string chosen = blas_core();
  if (setenv("OPENBLAS_CORETYPE", core.c_str(), 1) != 0) return;
  spdlog::debug("OpenBLAS chose its {} kernels on a CPU that runs its {} kernels; restarting with OPENBLAS_CORETYPE={}",
                chosen, core, core);
  execv("/proc/self/exe", argv);
  // Still here: the restart failed. OpenBLAS keeps its choice; the variable is left set, which is
  // harmless (the library read it already) and says what was tried.
  spdlog::warn("OpenBLAS runs its {} kernels on a CPU that runs its {} kernels (float32 GEMMs ~4x slower); "
               "restarting with OPENBLAS_CORETYPE={} failed: {}. Set it before starting.",
               chosen, core, core, std::strerror(errno));
}

}  // namespace compressor::runtime
