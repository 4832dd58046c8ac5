#include "compressor/runtime/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <cblas.h>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/vexp.h"

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

Matrix attention(const Matrix& q, const LayerCache& cache, int64_t heads, int64_t first_pos, Mask mask) {
  const int64_t d = cache.head_dim;
  const int64_t group = heads / cache.kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  Matrix out(q.rows, heads * d);
  std::vector<double> p(static_cast<size_t>(first_pos + q.rows));
  std::vector<double> acc(static_cast<size_t>(d));
  for (int64_t t = 0; t < q.rows; ++t) {
    const int64_t n = mask == Mask::causal ? first_pos + t + 1 : first_pos + q.rows;  // positions this query sees
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

Matrix attention_blas(const Matrix& q, const LayerCache& cache, int64_t heads, int64_t first_pos, Mask mask) {
  const int64_t d = cache.head_dim, n = q.rows, total = first_pos + q.rows;
  const int64_t group = heads / cache.kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  Matrix out(n, heads * d);
  Matrix scores(n, total);
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t kvh = h / group;
    // scores = scale · q_h K_hᵀ over every cached position; a causal mask is applied below.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n), static_cast<blasint>(total),
                static_cast<blasint>(d), scale, q.data.data() + h * d, static_cast<blasint>(heads * d),
                cache.key(kvh, 0), static_cast<blasint>(d), 0.0f, scores.data.data(), static_cast<blasint>(total));
    for (int64_t t = 0; t < n; ++t) {
      float* s = scores.row(t);
      const int64_t seen = mask == Mask::causal ? first_pos + t + 1 : total;
      const float max = *std::max_element(s, s + seen);
      for (int64_t j = 0; j < seen; ++j) s[j] -= max;
      exp_inplace(s, seen);
      float sum = 0;
      for (int64_t j = 0; j < seen; ++j) sum += s[j];
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < seen; ++j) s[j] *= inv;
      std::fill(s + seen, s + total, 0.0f);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(n), static_cast<blasint>(d),
                static_cast<blasint>(total), 1.0f, scores.data.data(), static_cast<blasint>(total), cache.value(kvh, 0),
                static_cast<blasint>(d), 0.0f, out.data.data() + h * d, static_cast<blasint>(heads * d));
  }
  return out;
}

}  // namespace compressor::runtime::ops
