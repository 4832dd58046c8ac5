#include "compressor/runtime/kernels/cuda/device_ops.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "compressor/runtime/kernels/cuda/cuda_check.cuh"
#include "compressor/runtime/kernels/cuda/weight_decode.cuh"

namespace compressor::runtime::cuda {

namespace {

constexpr int kThreads = 256;  // every block-per-row kernel here
static_assert(kAttentionMaxHeadDim == kThreads, "attention keeps one output column per thread");

// The block's sum of one value per thread (every thread gets it). T: float or double.
template <class T>
__device__ T block_sum(T v) {
  __shared__ T partial[kThreads / 32];
  for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xFFFFFFFFu, v, off);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  T total = 0;
  for (int i = 0; i < kThreads / 32; ++i) total += partial[i];
  __syncthreads();  // partial may be reused by the next call
  return total;
}

__device__ float block_max(float v) {
  __shared__ float partial[kThreads / 32];
  for (int off = 16; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, off));
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  float m = partial[0];
  for (int i = 1; i < kThreads / 32; ++i) m = fmaxf(m, partial[i]);
  __syncthreads();
  return m;
}

template <ElementKind K>
__global__ void embed_kernel(WeightView table, const int32_t* order, const int32_t* tokens, const float* positions,
                             int64_t first_pos, float* out) {
  const int64_t t = blockIdx.x;
  const int64_t row = tokens[t];
  float* dst = out + t * table.cols;
  for (int64_t i = threadIdx.x; i < table.cols; i += blockDim.x) {
    const int64_t c = order ? order[i] : i;
    dst[c] = decode<K>(table, row, i);
  }
  if (!positions) return;
  __syncthreads();  // order scatters: every column written before the positions are added
  const float* p = positions + (first_pos + t) * table.cols;
  for (int64_t c = threadIdx.x; c < table.cols; c += blockDim.x) dst[c] += p[c];
}

__global__ void layer_norm_kernel(float* x, int64_t cols, const float* weight, const float* bias, double eps) {
  float* v = x + blockIdx.x * cols;
  double s = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += v[c];
  const double mean = block_sum(s) / static_cast<double>(cols);
  double q = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) q += (v[c] - mean) * (v[c] - mean);
  const double inv = 1.0 / sqrt(block_sum(q) / static_cast<double>(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    v[c] = static_cast<float>((v[c] - mean) * inv * weight[c] + bias[c]);
  }
}

__global__ void rms_norm_kernel(float* x, int64_t cols, const float* weight, double eps) {
  float* v = x + blockIdx.x * cols;
  double s = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += static_cast<double>(v[c]) * v[c];
  const double inv = 1.0 / sqrt(block_sum(s) / static_cast<double>(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) v[c] = static_cast<float>(v[c] * inv * weight[c]);
}

// One block per row; thread i of a head's half rotates the pair (i, i + half) of every head.
__global__ void rotary_kernel(float* x, int64_t heads, int64_t head_dim, int64_t first_pos, double theta) {
  const int64_t t = blockIdx.x, half = head_dim / 2;
  const double pos = static_cast<double>(first_pos + t);
  for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
    const double inv_freq = pow(theta, -static_cast<double>(2 * i) / static_cast<double>(head_dim));
    const float c = static_cast<float>(cos(pos * inv_freq)), s = static_cast<float>(sin(pos * inv_freq));
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim;
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = b * c + a * s;
    }
  }
}

__global__ void store_kv_kernel(const float* k, const float* v, int64_t kv_heads, int64_t head_dim, int64_t capacity,
                                int64_t first_pos, float* keys, float* values) {
  const int64_t t = blockIdx.x, width = kv_heads * head_dim;
  for (int64_t i = threadIdx.x; i < width; i += blockDim.x) {
    const int64_t h = i / head_dim, c = i % head_dim;
    const int64_t at = (h * capacity + first_pos + t) * head_dim + c;
    keys[at] = k[t * width + i];
    values[at] = v[t * width + i];
  }
}

// One block per (query row, head), softmax online over chunks of kThreads positions (each thread
// scores one position of the chunk; thread c keeps output column c, rescaled whenever the running
// maximum grows), so no buffer grows with the context: head_dim ≤ kThreads.
__global__ void attention_kernel(const float* q, int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t capacity,
                                 int64_t first_pos, const float* keys, const float* values, float* out) {
  __shared__ float p[kThreads];
  const int64_t t = blockIdx.x / heads, h = blockIdx.x % heads;
  const int64_t kvh = h / (heads / kv_heads);
  const int64_t seen = first_pos + t + 1;
  const float* qh = q + (t * heads + h) * head_dim;
  const float* kh = keys + kvh * capacity * head_dim;
  const float* vh = values + kvh * capacity * head_dim;
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(head_dim)));
  const int64_t c = threadIdx.x;
  float running_max = -INFINITY, sum = 0, acc = 0;
  for (int64_t j0 = 0; j0 < seen; j0 += kThreads) {
    const int64_t j = j0 + threadIdx.x;
    float s = -INFINITY;
    if (j < seen) {
      s = 0;
      for (int64_t d = 0; d < head_dim; ++d) s += qh[d] * kh[j * head_dim + d];
      s *= scale;
    }
    const float new_max = fmaxf(running_max, block_max(s));
    const float e = j < seen ? expf(s - new_max) : 0.0f;
    p[threadIdx.x] = e;
    const float chunk_sum = block_sum(e);  // its barrier also makes every p[i] visible below
    const float rescale = expf(running_max - new_max);  // 0 on the first chunk (exp(−inf))
    sum = sum * rescale + chunk_sum;
    if (c < head_dim) {
      const int64_t n = seen - j0 < kThreads ? seen - j0 : kThreads;
      float part = 0;
      for (int64_t i = 0; i < n; ++i) part += p[i] * vh[(j0 + i) * head_dim + c];
      acc = acc * rescale + part;
    }
    running_max = new_max;
    __syncthreads();  // p is rewritten by the next chunk
  }
  if (c < head_dim) out[(t * heads + h) * head_dim + c] = acc / sum;
}

__global__ void gelu_tanh_kernel(float* x, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2 / pi)
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
  }
}

__global__ void gelu_erf_kernel(float* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const double d = x[i];
    x[i] = static_cast<float>(0.5 * d * (1.0 + erf(d / sqrt(2.0))));
  }
}

__global__ void silu_mul_kernel(float* gate, const float* up, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    gate[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__global__ void add_kernel(float* x, const float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] += y[i];
  }
}

__global__ void copy_columns_kernel(const float* src, int64_t src_cols, int64_t begin, int64_t n, float* dst) {
  const int64_t r = blockIdx.x;
  for (int64_t c = threadIdx.x; c < n; c += blockDim.x) dst[r * n + c] = src[r * src_cols + begin + c];
}

unsigned elementwise_blocks(int64_t n) { return static_cast<unsigned>(std::min<int64_t>(blocks_for(n, kThreads), 65535)); }

}  // namespace

void launch_embed(const WeightView& table, const int32_t* order, const int32_t* tokens, int64_t n,
                  const float* positions, int64_t first_pos, float* out) {
  if (n <= 0) return;
  const auto grid = static_cast<unsigned>(n);
  switch (table.kind) {
    case ElementKind::f32: COMPRESSOR_LAUNCH(embed_kernel<ElementKind::f32>, grid, kThreads)(table, order, tokens, positions, first_pos, out); break;
    case ElementKind::f16: COMPRESSOR_LAUNCH(embed_kernel<ElementKind::f16>, grid, kThreads)(table, order, tokens, positions, first_pos, out); break;
    case ElementKind::bf16: COMPRESSOR_LAUNCH(embed_kernel<ElementKind::bf16>, grid, kThreads)(table, order, tokens, positions, first_pos, out); break;
    case ElementKind::packed: COMPRESSOR_LAUNCH(embed_kernel<ElementKind::packed>, grid, kThreads)(table, order, tokens, positions, first_pos, out); break;
    case ElementKind::int_bytes: COMPRESSOR_LAUNCH(embed_kernel<ElementKind::int_bytes>, grid, kThreads)(table, order, tokens, positions, first_pos, out); break;
    case ElementKind::fp8_e4m3: COMPRESSOR_LAUNCH(embed_kernel<ElementKind::fp8_e4m3>, grid, kThreads)(table, order, tokens, positions, first_pos, out); break;
  }
  check_launch("embed_kernel");
}

void launch_layer_norm(float* x, int64_t rows, int64_t cols, const float* weight, const float* bias, double eps) {
  if (rows <= 0) return;
  COMPRESSOR_LAUNCH(layer_norm_kernel, static_cast<unsigned>(rows), kThreads)(x, cols, weight, bias, eps);
  check_launch("layer_norm_kernel");
}

void launch_rms_norm(float* x, int64_t rows, int64_t cols, const float* weight, double eps) {
  if (rows <= 0) return;
  COMPRESSOR_LAUNCH(rms_norm_kernel, static_cast<unsigned>(rows), kThreads)(x, cols, weight, eps);
  check_launch("rms_norm_kernel");
}

void launch_rotary(float* x, int64_t rows, int64_t heads, int64_t head_dim, int64_t first_pos, double theta) {
  if (rows <= 0) return;
  COMPRESSOR_LAUNCH(rotary_kernel, static_cast<unsigned>(rows), 64)(x, heads, head_dim, first_pos, theta);
  check_launch("rotary_kernel");
}

void launch_store_kv(const float* k, const float* v, int64_t rows, int64_t kv_heads, int64_t head_dim,
                     int64_t capacity, int64_t first_pos, float* keys, float* values) {
  if (rows <= 0) return;
  COMPRESSOR_LAUNCH(store_kv_kernel, static_cast<unsigned>(rows), kThreads)(k, v, kv_heads, head_dim, capacity, first_pos, keys, values);
  check_launch("store_kv_kernel");
}

void launch_attention(const float* q, int64_t rows, int64_t heads, int64_t kv_heads, int64_t head_dim,
                      int64_t capacity, int64_t first_pos, const float* keys, const float* values, float* out) {
  if (rows <= 0) return;
  if (head_dim > kThreads) throw std::invalid_argument("attention: head_dim above " + std::to_string(kThreads));
  COMPRESSOR_LAUNCH(attention_kernel, static_cast<unsigned>(rows * heads), kThreads)(q, heads, kv_heads, head_dim, capacity,
                                                                                     first_pos, keys, values, out);
  check_launch("attention_kernel");
}

void launch_gelu_tanh(float* x, int64_t n) {
  if (n <= 0) return;
  COMPRESSOR_LAUNCH(gelu_tanh_kernel, elementwise_blocks(n), kThreads)(x, n);
  check_launch("gelu_tanh_kernel");
}

void launch_gelu_erf(float* x, int64_t n) {
  if (n <= 0) return;
  COMPRESSOR_LAUNCH(gelu_erf_kernel, elementwise_blocks(n), kThreads)(x, n);
  check_launch("gelu_erf_kernel");
}

void launch_silu_mul(float* gate, const float* up, int64_t n) {
  if (n <= 0) return;
  COMPRESSOR_LAUNCH(silu_mul_kernel, elementwise_blocks(n), kThreads)(gate, up, n);
  check_launch("silu_mul_kernel");
}

void launch_add(float* x, const float* y, int64_t n) {
  if (n <= 0) return;
  COMPRESSOR_LAUNCH(add_kernel, elementwise_blocks(n), kThreads)(x, y, n);
  check_launch("add_kernel");
}

void launch_copy_columns(const float* src, int64_t rows, int64_t src_cols, int64_t begin, int64_t n, float* dst) {
  if (rows <= 0) return;
  COMPRESSOR_LAUNCH(copy_columns_kernel, static_cast<unsigned>(rows), kThreads)(src, src_cols, begin, n, dst);
  check_launch("copy_columns_kernel");
}

}  // namespace compressor::runtime::cuda
