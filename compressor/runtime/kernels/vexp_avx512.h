// The AVX-512 body of exp_inplace (kernels/vexp.h); call it only where the CPU has AVX-512 F.
#pragma once

#include <cstdint>

namespace compressor::runtime {

void exp_inplace_avx512(float* x, int64_t n);

}  // namespace compressor::runtime
