#include "compressor/runtime/ops/activation.h"

#include <cmath>
#include <vector>

#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/kernels/vexp.h"

namespace compressor::runtime::ops {

namespace {
bool reference() { return kernel_set() == "ref"; }
}  // namespace

void gelu_tanh(Matrix& x) {
  if (!reference()) {
    // tanh(u) = 1 - 2 / (exp(2u) + 1), so 0.5·x·(1 + tanh u) = x - x / (exp(2u) + 1); exp overflowing
    // to inf gives x, underflowing to 0 gives 0, as the limits should.
    const float k = static_cast<float>(std::sqrt(2.0 / M_PI));
    thread_local std::vector<float> e;
    e.resize(x.data.size());
    for (size_t i = 0; i < e.size(); ++i) {
      const float v = x.data[i];
      e[i] = 2.0f * k * (v + 0.044715f * v * v * v);
    }
    exp_inplace(e.data(), static_cast<int64_t>(e.size()));
    for (size_t i = 0; i < e.size(); ++i) x.data[i] -= x.data[i] / (e[i] + 1.0f);
    return;
  }
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
  if (!reference()) {
    thread_local std::vector<float> e;
    e.resize(gate.data.size());
    for (size_t i = 0; i < e.size(); ++i) e[i] = -gate.data[i];
    exp_inplace(e.data(), static_cast<int64_t>(e.size()));
    for (size_t i = 0; i < e.size(); ++i) gate.data[i] = gate.data[i] / (1.0f + e[i]) * up.data[i];
    return;
  }
  for (size_t i = 0; i < gate.data.size(); ++i) {
    const double g = gate.data[i];
    gate.data[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up.data[i]);
  }
}

void relu(Matrix& x) {
  for (auto& v : x.data) v = v < 0.0f ? 0.0f : v;  // NaN stays NaN, as torch.relu keeps it
}

}  // namespace compressor::runtime::ops
