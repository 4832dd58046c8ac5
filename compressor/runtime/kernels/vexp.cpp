#include "compressor/runtime/kernels/vexp.h"

#include <cmath>

#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/vexp_avx512.h"

namespace compressor::runtime {

void exp_inplace(float* x, int64_t n) {
  static const bool avx512 = isa_allows(Isa::avx512);
  if (avx512) return exp_inplace_avx512(x, n);
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

}  // namespace compressor::runtime
