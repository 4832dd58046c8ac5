#include "compressor/runtime/kernels/cpu_isa.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "compressor/base/error.h"

namespace compressor::runtime {

Isa max_isa() {
  static const Isa isa = [] {
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl");
    const Isa cpu = avx512 ? Isa::avx512 : avx2 ? Isa::avx2 : Isa::baseline;
    const char* env = std::getenv("COMPRESSOR_MAX_ISA");
    const std::string cap = env ? env : "";
    if (cap.empty() || cap == "avx512") return cpu;
    if (cap == "avx2") return std::min(cpu, Isa::avx2);
    if (cap == "baseline") return Isa::baseline;
    throw BadInput("COMPRESSOR_MAX_ISA", "'" + cap + "' is not an instruction set cap (avx512, avx2, baseline)");
  }();
  return isa;
}

}  // namespace compressor::runtime
