#include "compressor/runtime/kernels/linear.h"

#include <cstdlib>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/linear_blas.h"
#include "compressor/runtime/kernels/linear_ref.h"

namespace compressor::runtime {

const std::string& kernel_set() {
  static const std::string set = [] {
    const char* env = std::getenv("COMPRESSOR_KERNELS");
    const std::string v = env ? env : "";
    if (v.empty() || v == "auto") return std::string("auto");
    if (v == "blas" || v == "ref") return v;
    throw BadInput("COMPRESSOR_KERNELS", "'" + v + "' is not a kernel set (auto, blas, ref)");
  }();
  return set;
}

void linear(const LinearWeight& w, const Matrix& x, Matrix& y) {
  const auto& set = kernel_set();
  if (set == "ref") return linear_ref(w, x, y);
  if (set == "auto" && x.rows <= kMaxGemvTokens && gemv_avx512_supports(w)) {
    if (!w.input_args) return gemv_avx512(w, x, y);
    return gemv_avx512(w, quantize_input(w, x), y);
  }
  linear_blas(w, x, y);
}

}  // namespace compressor::runtime
