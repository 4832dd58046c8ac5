#include "compressor/runtime/ops/norm.h"

#include <cmath>

namespace compressor::runtime::ops {

void layer_norm(Matrix& x, const FloatVector& weight, const FloatVector& bias, double eps) {
  for (int64_t r = 0; r < x.rows; ++r) {
    float* v = x.row(r);
    double mean = 0, var = 0;
    for (int64_t c = 0; c < x.cols; ++c) mean += v[c];
    mean /= static_cast<double>(x.cols);
    for (int64_t c = 0; c < x.cols; ++c) var += (v[c] - mean) * (v[c] - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(x.cols) + eps);
    for (int64_t c = 0; c < x.cols; ++c) v[c] = static_cast<float>((v[c] - mean) * inv * weight[c] + bias[c]);
  }
}

void rms_norm(Matrix& x, const FloatVector& weight, double eps) {
  for (int64_t r = 0; r < x.rows; ++r) {
    float* v = x.row(r);
    double ss = 0;
    for (int64_t c = 0; c < x.cols; ++c) ss += static_cast<double>(v[c]) * v[c];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.cols) + eps);
    for (int64_t c = 0; c < x.cols; ++c) v[c] = static_cast<float>(v[c] * inv * weight[c]);
  }
}

}  // namespace compressor::runtime::ops
