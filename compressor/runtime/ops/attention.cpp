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

namespace {

// 16 floats in one vector (one AVX-512 register, two AVX2 or four SSE2 ones on the other builds),
// moved from and to memory by memcpy: unaligned loads and stores.
typedef float Lanes16 __attribute__((vector_size(64)));
constexpr int64_t kLanes = 64;  // positions per step of the scores: four vectors, four independent FMA chains

constexpr int kRowsPerPass = 4;  // query rows sharing every load of keys and values

// The helpers below are inlined into attend_block's clones, so each is compiled for the clone's
// instruction set; none passes a vector by value (that would change the ABI between the clones).
#define ATTENTION_INLINE __attribute__((always_inline)) inline
ATTENTION_INLINE void load16(Lanes16& v, const float* p) { std::memcpy(&v, p, sizeof v); }
ATTENTION_INLINE void store16(float* p, const Lanes16& v) { std::memcpy(p, &v, sizeof v); }

// Scores of kRowsPerPass query rows (qs[r]: row r's head slice) against positions [0, steps) of
// the transposed keys, scaled: s[r · width + j]. 4 rows × 64 positions = 16 accumulators in
// registers; each step loads 4 key vectors and broadcasts 4 query values for 16 FMAs, where one row
// at a time loaded a key vector per FMA and was bound by the loads (58 GFLOP/s on 2 cores).
ATTENTION_INLINE void scores_4rows(const float* const qs[kRowsPerPass], const float* kt, int64_t width, int64_t steps, int64_t d,
                         float scale, float* s) {
  for (int64_t j0 = 0; j0 < steps; j0 += kLanes) {
    Lanes16 a[kRowsPerPass][4] = {};
    for (int64_t c = 0; c < d; ++c) {
      const float* k = kt + c * width + j0;
      Lanes16 k0, k1, k2, k3;
      load16(k0, k);
      load16(k1, k + 16);
      load16(k2, k + 32);
      load16(k3, k + 48);
      for (int r = 0; r < kRowsPerPass; ++r) {
        const float qc = qs[r][c];
        a[r][0] += qc * k0;
        a[r][1] += qc * k1;
        a[r][2] += qc * k2;
        a[r][3] += qc * k3;
      }
    }
    for (int r = 0; r < kRowsPerPass; ++r) {
      for (int i = 0; i < 4; ++i) store16(s + r * width + j0 + 16 * i, a[r][i] * scale);
    }
  }
}

// Softmax over the first `seen` scores of one row, unnormalized (exp(s - max)), with the positions
// [seen, upto) zeroed so that a pass over `upto` positions adds nothing for them. Returns the sum.
ATTENTION_INLINE float exp_row(float* s, int64_t seen, int64_t upto) {
  // Max and sum 16 lanes at a time: one scalar chain of dependent max/add instructions per
  // position took as long as the scores themselves.
  const int64_t whole = seen / 16 * 16;
  float max = -INFINITY;
  if (whole > 0) {
    Lanes16 m, x;
    load16(m, s);
    for (int64_t j = 16; j < whole; j += 16) {
      load16(x, s + j);
      m = m > x ? m : x;
    }
    for (int l = 0; l < 16; ++l) max = std::max(max, m[l]);
  }
  for (int64_t j = whole; j < seen; ++j) max = std::max(max, s[j]);
  for (int64_t j = 0; j < seen; ++j) s[j] -= max;
  exp_inplace(s, seen);
  Lanes16 partial = {};
  for (int64_t j = 0; j < whole; j += 16) {
    Lanes16 x;
    load16(x, s + j);
    partial += x;
  }
  float sum = 0;
  for (int l = 0; l < 16; ++l) sum += partial[l];
  for (int64_t j = whole; j < seen; ++j) sum += s[j];
  std::fill(s + seen, s + upto, 0.0f);
  return sum;
}

// o[r][c0, c0 + 16·V) = Σ_j p[r][j] · v_j[c0, ...) over positions [0, n), for kRowsPerPass rows:
// V value vectors loaded once per position serve every row.
template <int V>
ATTENTION_INLINE void weighted_values(const float* p, int64_t width, const LayerCache& cache, int64_t kvh, int64_t n, int64_t c0,
                            float* const os[kRowsPerPass]) {
  Lanes16 a[kRowsPerPass][V] = {};
  for (int64_t j = 0; j < n; ++j) {
    const float* vj = cache.value(kvh, j) + c0;
    Lanes16 v[V];
    for (int i = 0; i < V; ++i) load16(v[i], vj + 16 * i);
    for (int r = 0; r < kRowsPerPass; ++r) {
      const float pr = p[r * width + j];
      for (int i = 0; i < V; ++i) a[r][i] += pr * v[i];
    }
  }
  for (int r = 0; r < kRowsPerPass; ++r) {
    for (int i = 0; i < V; ++i) store16(os[r] + c0 + 16 * i, a[r][i]);
  }
}

// One head's attention for queries [t0, t1), kRowsPerPass rows at a time: q_h · Kᵀ through its
// key/value head's keys transposed in `kt` ([head_dim, width]), softmax in float32, then the
// weighted values. `scores` holds kRowsPerPass · width floats. A pass whose rows run past t1
// repeats the last row and stores only the real ones.
// Plain loops that the compiler vectorizes, built for AVX-512, AVX2 + FMA and the baseline and
// chosen by CPUID when the program loads (GCC's target_clones): the baseline's 4-lane SSE2 without
// FMA took 3-4x as long.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void attend_block(const Matrix& q, const LayerCache& cache, int64_t h, int64_t kvh, int64_t t0, int64_t t1,
                  int64_t first_pos, Mask mask, float scale, const float* kt, int64_t width, Matrix& out,
                  float* scores) {
  const int64_t d = cache.head_dim, total = first_pos + q.rows;
  for (int64_t r0 = t0; r0 < t1; r0 += kRowsPerPass) {
    const float* qs[kRowsPerPass];
    float* os[kRowsPerPass];
    int64_t seen[kRowsPerPass];
    for (int r = 0; r < kRowsPerPass; ++r) {
      const int64_t t = std::min(r0 + r, t1 - 1);
      qs[r] = q.row(t) + h * d;
      os[r] = out.row(t) + h * d;
      seen[r] = mask == Mask::causal ? first_pos + t + 1 : total;
    }
    const int64_t n = seen[kRowsPerPass - 1];  // the most any row of the pass sees
    scores_4rows(qs, kt, width, (n + kLanes - 1) / kLanes * kLanes, d, scale, scores);
    float inv[kRowsPerPass];
    for (int r = 0; r < kRowsPerPass; ++r) inv[r] = 1.0f / exp_row(scores + r * width, seen[r], n);
    // Rows past t1 write the last real row's slice with the same values; it is scaled once.
    int64_t c0 = 0;
    for (; c0 + 64 <= d; c0 += 64) weighted_values<4>(scores, width, cache, kvh, n, c0, os);
    for (; c0 + 32 <= d; c0 += 32) weighted_values<2>(scores, width, cache, kvh, n, c0, os);
    for (; c0 + 16 <= d; c0 += 16) weighted_values<1>(scores, width, cache, kvh, n, c0, os);
    for (; c0 < d; ++c0) {
      for (int r = 0; r < kRowsPerPass; ++r) {
        float acc = 0;
        for (int64_t j = 0; j < n; ++j) acc += scores[r * width + j] * cache.value(kvh, j)[c0];
        os[r][c0] = acc;
      }
    }
    for (int r = 0; r < std::min<int64_t>(kRowsPerPass, t1 - r0); ++r) {
      for (int64_t c = 0; c < d; ++c) os[r][c] *= inv[r];
    }
  }
}

// kt[c · width + j] = key(kvh, j)[c] for positions j < total, 0 up to width (a multiple of 16),
// 16 positions at a time so that each store fills a cache line.
void transpose_keys(const LayerCache& cache, int64_t kvh, int64_t j0, int64_t total, int64_t width, float* kt) {
  const int64_t d = cache.head_dim;
  for (int64_t c = 0; c < d; ++c) {
    float* row = kt + c * width + j0;
    for (int64_t l = 0; l < 16; ++l) row[l] = j0 + l < total ? cache.key(kvh, j0 + l)[c] : 0.0f;
  }
}

}  // namespace

Matrix attention_tiled(const Matrix& q, const LayerCache& cache, int64_t heads, int64_t first_pos, Mask mask) {
  const int64_t d = cache.head_dim, group = heads / cache.kv_heads, total = first_pos + q.rows;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  Matrix out(q.rows, heads * d);
  const int64_t blocks = (q.rows + kAttentionBlockRows - 1) / kAttentionBlockRows;
  const int64_t width = (total + kLanes - 1) / kLanes * kLanes, position_blocks = width / 16;
  std::vector<float> kt(static_cast<size_t>(cache.kv_heads * d * width));  // each key/value head's keys, transposed once
#pragma omp parallel
  {
#pragma omp for
    for (int64_t task = 0; task < cache.kv_heads * position_blocks; ++task) {
      const int64_t kvh = task / position_blocks;
      transpose_keys(cache, kvh, task % position_blocks * 16, total, width, kt.data() + kvh * d * width);
    }
    std::vector<float> scores(static_cast<size_t>(kRowsPerPass * width));
    // Later blocks see more positions (causal): dynamic scheduling evens the threads out.
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < heads * blocks; ++task) {
      const int64_t h = task % heads, b = blocks - 1 - task / heads;  // the longest blocks first
      const int64_t t0 = b * kAttentionBlockRows, kvh = h / group;
      attend_block(q, cache, h, kvh, t0, std::min(q.rows, t0 + kAttentionBlockRows), first_pos, mask, scale,
                   kt.data() + kvh * d * width, width, out, scores.data());
    }
  }
  return out;
}

}  // namespace compressor::runtime::ops
