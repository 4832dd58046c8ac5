#include "compressor/runtime/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "compressor/base/error.h"

namespace compressor::runtime::ops {

LayerCache::LayerCache(int64_t kv_heads_, int64_t capacity_, int64_t head_dim_)
    : kv_heads(kv_heads_), capacity(capacity_), head_dim(head_dim_),
      keys(static_cast<size_t>(kv_heads_ * capacity_ * head_dim_), 0.0f),
      values(static_cast<size_t>(kv_heads_ * capacity_ * head_dim_), 0.0f) {}

void LayerCache::store(const Matrix& k, const Matrix& v, int64_t first_pos) {
  if (first_pos + k.rows > capacity) {
    throw InternalError("attention", "key/value cache of " + std::to_string(capacity) + " positions overflows");
  }
  for (int64_t t = 0; t < k.rows; ++t) {
    for (int64_t h = 0; h < kv_heads; ++h) {
      std::memcpy(key(h, first_pos + t), k.row(t) + h * head_dim, static_cast<size_t>(head_dim) * 4);
      std::memcpy(value(h, first_pos + t), v.row(t) + h * head_dim, static_cast<size_t>(head_dim) * 4);
    }
  }
}

Matrix causal_attention(const Matrix& q, const LayerCache& cache, int64_t heads, int64_t first_pos) {
  const int64_t d = cache.head_dim;
  const int64_t group = heads / cache.kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  Matrix out(q.rows, heads * d);
  std::vector<double> p(static_cast<size_t>(first_pos + q.rows));
  std::vector<double> acc(static_cast<size_t>(d));
  for (int64_t t = 0; t < q.rows; ++t) {
    const int64_t n = first_pos + t + 1;  // positions this query sees
    for (int64_t h = 0; h < heads; ++h) {
      const float* qh = q.row(t) + h * d;
      const int64_t kvh = h / group;
      double max = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        const float* k = cache.key(kvh, j);
        double s = 0;
        for (int64_t c = 0; c < d; ++c) s += static_cast<double>(qh[c]) * k[c];
        p[j] = s * scale;
        max = std::max(max, p[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += (p[j] = std::exp(p[j] - max));
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < n; ++j) {
        const float* v = cache.value(kvh, j);
        for (int64_t c = 0; c < d; ++c) acc[c] += p[j] * v[c];
      }
      float* o = out.row(t) + h * d;
      for (int64_t c = 0; c < d; ++c) o[c] = static_cast<float>(acc[c] / sum);
    }
  }
  return out;
}

}  // namespace compressor::runtime::ops
