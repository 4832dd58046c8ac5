#include "compressor/runtime/ops/rotary.h"

#include <cmath>
#include <vector>

namespace compressor::runtime::ops {

void apply_rotary(Matrix& x, int64_t heads, int64_t head_dim, int64_t first_pos, double theta) {
  const int64_t half = head_dim / 2;
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) inv_freq[i] = std::pow(theta, -static_cast<double>(2 * i) / static_cast<double>(head_dim));
  std::vector<float> cos(static_cast<size_t>(half)), sin(static_cast<size_t>(half));
  for (int64_t t = 0; t < x.rows; ++t) {
    const double pos = static_cast<double>(first_pos + t);
    // float tables, as the LibTorch model casts its double tables to the activations' dtype.
    for (int64_t i = 0; i < half; ++i) {
      cos[i] = static_cast<float>(std::cos(pos * inv_freq[i]));
      sin[i] = static_cast<float>(std::sin(pos * inv_freq[i]));
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x.row(t) + h * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos[i] - b * sin[i];
        v[i + half] = b * cos[i] + a * sin[i];
      }
    }
  }
}

}  // namespace compressor::runtime::ops
