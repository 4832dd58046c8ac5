#include "compressor/runtime/ops/activation.h"

#include <cmath>

namespace compressor::runtime::ops {

void gelu_tanh(Matrix& x) {
  const double k = std::sqrt(2.0 / M_PI);
  for (auto& v : x.data) {
    const double d = v;
    v = static_cast<float>(0.5 * d * (1.0 + std::tanh(k * (d + 0.044715 * d * d * d))));
  }
}

void gelu_erf(Matrix& x) {
  for (auto& v : x.data) {
    const double d = v;
    v = static_cast<float>(0.5 * d * (1.0 + std::erf(d / std::sqrt(2.0))));
  }
}

void silu_mul(Matrix& gate, const Matrix& up) {
  for (size_t i = 0; i < gate.data.size(); ++i) {
    const double g = gate.data[i];
    gate.data[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up.data[i]);
  }
}

}  // namespace compressor::runtime::ops
