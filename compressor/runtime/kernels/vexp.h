// exp over float arrays, vectorized: the runtime's softmax and activations spend most of their time
// in it (SmolLM2 prefill: ~60 M exp per 512-token window), where a scalar libm call per element
// would cost as much as the matrix products.
#pragma once

#include <cstdint>

namespace compressor::runtime {

// x[i] <- exp(x[i]). AVX-512 where the CPU has it (Cephes' expf: range reduction by ln 2, degree-6
// polynomial, 2^n by scalef; within 2 ulp of std::exp, tested), std::exp otherwise. Inputs past
// ±88.7 saturate to +inf / 0 as expf does; NaN stays NaN.
void exp_inplace(float* x, int64_t n);

}  // namespace compressor::runtime
