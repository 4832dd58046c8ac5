#include "compressor/runtime/kernels/linear.h"

#include <cstdlib>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/linear_blas.h"
#include "compressor/runtime/kernels/linear_ref.h"

namespace compressor::runtime {

const std::string& kernel_set() {
  static const std::string set = [] {
    const char* env = std::getenv("COMPRESSOR_KERNELS");
    const std::string v = env ? env : "";
    if (v.empty() || v == "blas") return std::string("blas");
    if (v == "ref") return std::string("ref");
    throw BadInput("COMPRESSOR_KERNELS", "'" + v + "' is not a kernel set (blas, ref)");
  }();
  return set;
}

void linear(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (kernel_set() == "ref") {
    linear_ref(w, x, y);
  } else {
    linear_blas(w, x, y);
  }
}

}  // namespace compressor::runtime
