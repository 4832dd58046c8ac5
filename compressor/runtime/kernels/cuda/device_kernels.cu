#include "compressor/runtime/kernels/cuda/device_kernels.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "compressor/runtime/kernels/cuda/cuda_check.cuh"
#include "compressor/runtime/kernels/cuda/element_codec.h"
#include "compressor/runtime/kernels/cuda/weight_decode.cuh"

namespace compressor::runtime::cuda {

namespace {

template <ElementKind K>
__global__ void dequantize_kernel(WeightView w, float* out) {
  const int64_t total = w.rows * w.cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = decode<K>(w, i / w.cols, i % w.cols);
  }
}

// ---- the input as the activation scheme sees it ----------------------------------------------

constexpr int kRowThreads = 256;

// Block-wide min and max of per-thread values (every thread gets the result).
__device__ void block_range(float& lo, float& hi) {
  __shared__ float s_lo[kRowThreads / 32], s_hi[kRowThreads / 32];
  for (int off = 16; off > 0; off /= 2) {
    lo = fminf(lo, __shfl_xor_sync(0xFFFFFFFFu, lo, off));
    hi = fmaxf(hi, __shfl_xor_sync(0xFFFFFFFFu, hi, off));
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    s_lo[warp] = lo;
    s_hi[warp] = hi;
  }
  __syncthreads();
  lo = s_lo[0];
  hi = s_hi[0];
  for (int i = 1; i < kRowThreads / 32; ++i) {
    lo = fminf(lo, s_lo[i]);
    hi = fmaxf(hi, s_hi[i]);
  }
  __syncthreads();
}

// ranges[2t], ranges[2t+1] = min and max of row t of x, widened to include 0 (one block per row).
__global__ void row_ranges_kernel(const float* x, int64_t cols, float* ranges) {
  const float* row = x + blockIdx.x * cols;
  float lo = 0, hi = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    lo = fminf(lo, row[c]);
    hi = fmaxf(hi, row[c]);
  }
  block_range(lo, hi);
  if (threadIdx.x == 0) {
    ranges[2 * blockIdx.x] = lo;
    ranges[2 * blockIdx.x + 1] = hi;
  }
}

// Every row's range replaced by the whole tensor's (one block).
__global__ void tensor_range_kernel(int64_t n, float* ranges) {
  float lo = 0, hi = 0;
  for (int64_t t = threadIdx.x; t < n; t += blockDim.x) {
    lo = fminf(lo, ranges[2 * t]);
    hi = fmaxf(hi, ranges[2 * t + 1]);
  }
  block_range(lo, hi);
  for (int64_t t = threadIdx.x; t < n; t += blockDim.x) {
    ranges[2 * t] = lo;
    ranges[2 * t + 1] = hi;
  }
}

// out[t, i] = q(x[t, order ? order[i] : i]) under the scheme (one block per row).
__global__ void prepare_input_kernel(InputView in, const float* x, int64_t cols, const float* ranges, float* out) {
  const int64_t t = blockIdx.x;
  const float* row = x + t * cols;
  float* dst = out + t * cols;
  const bool integer = in.scheme == InputScheme::int_token || in.scheme == InputScheme::int_tensor ||
                       in.scheme == InputScheme::int_static;
  IntParams ip;
  float fp8 = 1;
  switch (in.scheme) {
    case InputScheme::int_token:
    case InputScheme::int_tensor: ip = int_params(ranges[2 * t], ranges[2 * t + 1], in.num_bits, in.symmetric); break;
    case InputScheme::int_static: ip = IntParams{in.static_scale, in.static_zero_point}; break;
    case InputScheme::fp8_token:
    case InputScheme::fp8_tensor: fp8 = fp8_scale(ranges[2 * t], ranges[2 * t + 1]); break;
    case InputScheme::fp8_static: fp8 = in.static_scale; break;
    case InputScheme::none: break;
  }
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    const float v = row[in.input_order ? in.input_order[i] : i];
    if (in.scheme == InputScheme::none) {
      dst[i] = v;
    } else if (integer) {
      dst[i] = dequantize_int(quantize_int(v, ip, in.num_bits), ip);
    } else {
      dst[i] = fp8_e4m3_to_float(float_to_fp8_e4m3(v / fp8)) * fp8;
    }
  }
}

// The row's integer input parameters under the scheme (ranges as row_ranges_kernel leaves them).
__device__ IntParams input_params(const InputView& in, const float* ranges, int64_t t) {
  if (in.scheme == InputScheme::int_static) return IntParams{in.static_scale, in.static_zero_point};
  return int_params(ranges[2 * t], ranges[2 * t + 1], in.num_bits, in.symmetric);
}

// codes[t, i] = the 8-bit code of x[t, order ? order[i] : i] and params[t] its row's parameters
// (one block per row): the integer product's input.
__global__ void quantize_codes_kernel(InputView in, const float* x, int64_t cols, const float* ranges, int8_t* codes,
                                      IntParams* params) {
  const int64_t t = blockIdx.x;
  const IntParams ip = input_params(in, ranges, t);
  if (threadIdx.x == 0) params[t] = ip;
  const float* row = x + t * cols;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    codes[t * cols + i] = static_cast<int8_t>(quantize_int(row[in.input_order ? in.input_order[i] : i], ip, 8));
  }
}

bool needs_ranges(InputScheme s) {
  return s == InputScheme::int_token || s == InputScheme::int_tensor || s == InputScheme::fp8_token ||
         s == InputScheme::fp8_tensor;
}

bool prepares_input(const InputView& in) { return in.scheme != InputScheme::none || in.input_order != nullptr; }

// ---- the products ---------------------------------------------------------------------------

constexpr int kGemvMaxTokens = 8;
constexpr int kGemvWarps = 8;

// The end of a float GEMV row: the warp's partial sums added up, the bias added, row r of every
// token written by lane 0.
__device__ __forceinline__ void finish_gemv_row(const WeightView& w, float (&acc)[kGemvMaxTokens], int n, int lane,
                                                int64_t r, float* y) {
#pragma unroll
  for (int t = 0; t < kGemvMaxTokens; ++t) {
    for (int off = 16; off > 0; off /= 2) acc[t] += __shfl_down_sync(0xFFFFFFFFu, acc[t], off);
  }
  if (lane == 0) {
    const float b = w.bias ? w.bias[r] : 0.0f;
    for (int t = 0; t < n; ++t) y[t * w.rows + r] = acc[t] + b;
  }
}

// Decode (n ≤ 8 tokens): one warp per output row, each lane a strided share of the columns; each
// weight element is decoded once and multiplied into every token.
template <ElementKind K>
__global__ void gemv_kernel(WeightView w, const float* x, int n, float* y) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(kGemvWarps) + threadIdx.x / 32;
  if (r >= w.rows) return;
  const int lane = threadIdx.x % 32;
  float acc[kGemvMaxTokens] = {};
  for (int64_t c = lane; c < w.cols; c += 32) {
    const float v = decode<K>(w, r, c);
#pragma unroll
    for (int t = 0; t < kGemvMaxTokens; ++t) {
      if (t < n) acc[t] += v * x[t * w.cols + c];
    }
  }
  finish_gemv_row(w, acc, n, lane, r, y);
}

// One slice of a tile: acc[i][j] = mac(xs[k][4·ty + i], ws[k][4·tx + j], acc[i][j]) for every k,
// the 4 × 4 outputs of thread (tx, ty) (the float and the int8 GEMM alike).
template <class T, int K, int M, class Mac>
__device__ __forceinline__ void tile_product(const T (&xs)[K][M], const T (&ws)[K][M], T (&acc)[4][4], int tx, int ty,
                                             Mac mac) {
#pragma unroll
  for (int k = 0; k < K; ++k) {
    T a[4], b[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      a[i] = xs[k][ty * 4 + i];
      b[i] = ws[k][tx * 4 + i];
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] = mac(a[i], b[j], acc[i][j]);
    }
  }
}

// Decode of 4-bit packed codes a word at a time: each lane takes one int32 word (8 codes, one scale
// unit when groups are multiples of 8 columns), decodes it with one scale and zero point lookup, and
// multiplies the 8 values into every token, where gemv_kernel would decode code by code.
__global__ void gemv_packed4_kernel(WeightView w, const float* x, int n, float* y) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(kGemvWarps) + threadIdx.x / 32;
  if (r >= w.rows) return;
  const int lane = threadIdx.x % 32;
  const auto* row = static_cast<const uint32_t*>(w.data) + r * w.words_per_row;
  const int64_t unit_row = (w.scale_rows == 1 ? 0 : r) * w.scale_cols;
  float acc[kGemvMaxTokens] = {};
  for (int64_t word = lane; word < w.words_per_row; word += 32) {
    const uint32_t bits = row[word];
    const int64_t c0 = word * 8;
    const int64_t u = unit_row + (w.scale_cols == 1 ? 0 : c0 / w.group_size);
    const IntParams p{w.scale[u], w.zero_point ? w.zero_point[u] : 0};
    const int codes = static_cast<int>(w.cols - c0 < 8 ? w.cols - c0 : 8);
    float v[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = dequantize_int(static_cast<int32_t>((bits >> (4 * k)) & 0xFu) - 8, p);
#pragma unroll
    for (int t = 0; t < kGemvMaxTokens; ++t) {
      if (t >= n) break;
      const float* xt = x + t * w.cols + c0;
      for (int k = 0; k < codes; ++k) acc[t] += v[k] * xt[k];
    }
  }
  finish_gemv_row(w, acc, n, lane, r, y);
}

bool packed4_words(const WeightView& w) {
  return w.kind == ElementKind::packed && w.num_bits == 4 && !w.g_idx && (w.scale_cols == 1 || w.group_size % 8 == 0);
}

// Thread (tx, ty)'s 4 × 4 outputs written as y[t, r] = out(acc, t, r), inside n tokens and `rows` rows.
template <class T, class Out>
__device__ __forceinline__ void store_tile(const T (&acc)[4][4], int64_t t0, int64_t r0, int tx, int ty, int64_t n,
                                           int64_t rows, float* y, Out out) {
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + ty * 4 + i;
    if (t >= n) continue;
    for (int j = 0; j < 4; ++j) {
      const int64_t r = r0 + tx * 4 + j;
      if (r < rows) y[t * rows + r] = out(acc[i][j], t, r);
    }
  }
}

// Prompts: 64 tokens × 64 output rows per block of 256 threads, 4 × 4 outputs per thread, over
// slices of 16 columns; each weight element of the tile is decoded once into shared memory.
constexpr int kTileM = 64, kTileN = 64, kTileK = 16;

template <ElementKind K>
__global__ void gemm_kernel(WeightView w, const float* x, int64_t n, float* y) {
  __shared__ float xs[kTileK][kTileM + 4];
  __shared__ float ws[kTileK][kTileN + 4];
  const int64_t t0 = blockIdx.y * static_cast<int64_t>(kTileM);
  const int64_t r0 = blockIdx.x * static_cast<int64_t>(kTileN);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;  // outputs rows r0 + 4tx.., tokens t0 + 4ty..
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < w.cols; k0 += kTileK) {
    for (int i = threadIdx.x; i < kTileK * kTileM; i += blockDim.x) {
      const int m = i / kTileK, k = i % kTileK;  // consecutive threads along k: coalesced x rows
      const int64_t t = t0 + m, c = k0 + k;
      xs[k][m] = (t < n && c < w.cols) ? x[t * w.cols + c] : 0.0f;
      const int64_t r = r0 + m;
      ws[k][m] = (r < w.rows && c < w.cols) ? decode<K>(w, r, c) : 0.0f;
    }
    __syncthreads();
    tile_product(xs, ws, acc, tx, ty, [](float a, float b, float c) { return c + a * b; });
    __syncthreads();
  }
  store_tile(acc, t0, r0, tx, ty, n, w.rows, y,
             [&](float a, int64_t, int64_t r) { return a + (w.bias ? w.bias[r] : 0.0f); });
}

// ---- W8A8: int8 codes times int8 codes -----------------------------------------------------

// y[t, r] = s_x[t] · s_w[r] · (Σ q_x q_w − z_x[t] · Σ q_w) + b[r]: the fake-quant product, whose
// integer part is exact here.
__device__ __forceinline__ float integer_output(const WeightView& w, const IntParams& p, int32_t acc, int64_t r) {
  const float ws = w.scale[w.scale_rows == 1 ? 0 : r];
  const int32_t centred = acc - p.zero_point * w.code_sums[r];
  return p.scale * ws * static_cast<float>(centred) + (w.bias ? w.bias[r] : 0.0f);
}

__global__ void gemv_int8_kernel(WeightView w, const int8_t* codes, const IntParams* params, int n, float* y) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(kGemvWarps) + threadIdx.x / 32;
  if (r >= w.rows) return;
  const int lane = threadIdx.x % 32;
  const int64_t words = w.cols / 4;
  const auto* wrow = reinterpret_cast<const int32_t*>(static_cast<const int8_t*>(w.data) + r * w.cols);
  int32_t acc[kGemvMaxTokens] = {};
  for (int64_t c = lane; c < words; c += 32) {
    const int32_t b = wrow[c];
#pragma unroll
    for (int t = 0; t < kGemvMaxTokens; ++t) {
      if (t < n) acc[t] = __dp4a(reinterpret_cast<const int32_t*>(codes + t * w.cols)[c], b, acc[t]);
    }
  }
#pragma unroll
  for (int t = 0; t < kGemvMaxTokens; ++t) {
    for (int off = 16; off > 0; off /= 2) acc[t] += __shfl_down_sync(0xFFFFFFFFu, acc[t], off);
  }
  if (lane == 0) {
    for (int t = 0; t < n; ++t) y[t * w.rows + r] = integer_output(w, params[t], acc[t], r);
  }
}

// As gemm_kernel, on 4-byte words of codes: 16 words (64 columns) per slice.
constexpr int kTileWords = 16;

__global__ void gemm_int8_kernel(WeightView w, const int8_t* codes, const IntParams* params, int64_t n, float* y) {
  __shared__ int32_t xs[kTileWords][kTileM + 1];
  __shared__ int32_t ws[kTileWords][kTileN + 1];
  const int64_t t0 = blockIdx.y * static_cast<int64_t>(kTileM);
  const int64_t r0 = blockIdx.x * static_cast<int64_t>(kTileN);
  const int64_t words = w.cols / 4;
  const auto* xw = reinterpret_cast<const int32_t*>(codes);
  const auto* ww = static_cast<const int32_t*>(w.data);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  int32_t acc[4][4] = {};
  for (int64_t k0 = 0; k0 < words; k0 += kTileWords) {
    for (int i = threadIdx.x; i < kTileWords * kTileM; i += blockDim.x) {
      const int m = i / kTileWords, k = i % kTileWords;
      const int64_t c = k0 + k, t = t0 + m, r = r0 + m;
      xs[k][m] = (t < n && c < words) ? xw[t * words + c] : 0;
      ws[k][m] = (r < w.rows && c < words) ? ww[r * words + c] : 0;
    }
    __syncthreads();
    tile_product(xs, ws, acc, tx, ty, [](int32_t a, int32_t b, int32_t c) { return __dp4a(a, b, c); });
    __syncthreads();
  }
  store_tile(acc, t0, r0, tx, ty, n, w.rows, y,
             [&](int32_t a, int64_t t, int64_t r) { return integer_output(w, params[t], a, r); });
}

template <ElementKind K>
void run_product(const WeightView& w, const float* x, int64_t n, float* y) {
  if (n <= kGemvMaxTokens && packed4_words(w)) {
    COMPRESSOR_LAUNCH(gemv_packed4_kernel, static_cast<unsigned>(blocks_for(w.rows, kGemvWarps)), kGemvWarps * 32)(
        w, x, static_cast<int>(n), y);
    check_launch("gemv_packed4_kernel");
    return;
  }
  if (n <= kGemvMaxTokens) {
    COMPRESSOR_LAUNCH(gemv_kernel<K>, static_cast<unsigned>(blocks_for(w.rows, kGemvWarps)), kGemvWarps * 32)(w, x, static_cast<int>(n), y);
    check_launch("gemv_kernel");
    return;
  }
  const dim3 grid(static_cast<unsigned>(blocks_for(w.rows, kTileN)), static_cast<unsigned>(blocks_for(n, kTileM)));
  COMPRESSOR_LAUNCH(gemm_kernel<K>, grid, 256)(w, x, n, y);
  check_launch("gemm_kernel");
}

template <ElementKind K>
void run_dequantize(const WeightView& w, float* out) {
  const int64_t blocks = std::min<int64_t>(blocks_for(w.rows * w.cols, 256), 65535);
  COMPRESSOR_LAUNCH(dequantize_kernel<K>, static_cast<unsigned>(blocks), 256)(w, out);
  check_launch("dequantize_kernel");
}

}  // namespace

int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: clear the sticky error, report none
    return 0;
  }
  return n;
}

std::string device_description(int device) {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  char buf[384];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
                static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}

void device_free(void* p) noexcept {
  if (p) cudaFree(p);
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the device");
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to the host");
}

void copy_on_device(void* dst, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy on the device");
}

void device_synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

bool integer_product(const WeightView& w, const InputView& in) {
  const bool int8_input = (in.scheme == InputScheme::int_token || in.scheme == InputScheme::int_tensor ||
                           in.scheme == InputScheme::int_static) &&
                          in.num_bits == 8;
  return int8_input && w.kind == ElementKind::int_bytes && w.num_bits == 8 && !w.zero_point && w.scale_cols == 1 &&
         w.code_sums && w.cols % 4 == 0;
}

namespace {

// Scratch layout: [prepared input: n·cols floats, or codes: n·cols bytes rounded to 16, then n
// IntParams] then [2n range floats].
size_t input_bytes(const WeightView& w, const InputView& in, int64_t n) {
  if (integer_product(w, in)) {
    return (static_cast<size_t>(n * w.cols) + 15) / 16 * 16 + static_cast<size_t>(n) * sizeof(IntParams);
  }
  return prepares_input(in) ? static_cast<size_t>(n * w.cols) * sizeof(float) : 0;
}

void compute_ranges(const WeightView& w, const InputView& in, const float* x, int64_t n, float* ranges) {
  if (!needs_ranges(in.scheme)) return;
  COMPRESSOR_LAUNCH(row_ranges_kernel, static_cast<unsigned>(n), kRowThreads)(x, w.cols, ranges);
  check_launch("row_ranges_kernel");
  if (in.scheme == InputScheme::int_tensor || in.scheme == InputScheme::fp8_tensor) {
    COMPRESSOR_LAUNCH(tensor_range_kernel, 1, kRowThreads)(n, ranges);
    check_launch("tensor_range_kernel");
  }
}

void run_integer_product(const WeightView& w, const InputView& in, const float* x, int64_t n, float* y, void* scratch) {
  auto* codes = static_cast<int8_t*>(scratch);
  auto* params = reinterpret_cast<IntParams*>(codes + (static_cast<size_t>(n * w.cols) + 15) / 16 * 16);
  auto* ranges = reinterpret_cast<float*>(static_cast<char*>(scratch) + input_bytes(w, in, n));
  compute_ranges(w, in, x, n, ranges);
  COMPRESSOR_LAUNCH(quantize_codes_kernel, static_cast<unsigned>(n), kRowThreads)(in, x, w.cols, ranges, codes, params);
  check_launch("quantize_codes_kernel");
  if (n <= kGemvMaxTokens) {
    COMPRESSOR_LAUNCH(gemv_int8_kernel, static_cast<unsigned>(blocks_for(w.rows, kGemvWarps)), kGemvWarps * 32)(
        w, codes, params, static_cast<int>(n), y);
    check_launch("gemv_int8_kernel");
    return;
  }
  const dim3 grid(static_cast<unsigned>(blocks_for(w.rows, kTileN)), static_cast<unsigned>(blocks_for(n, kTileM)));
  COMPRESSOR_LAUNCH(gemm_int8_kernel, grid, 256)(w, codes, params, n, y);
  check_launch("gemm_int8_kernel");
}

}  // namespace

size_t linear_scratch_bytes(const WeightView& w, const InputView& in, int64_t n) {
  size_t bytes = input_bytes(w, in, n);
  if (needs_ranges(in.scheme)) bytes += static_cast<size_t>(2 * n) * sizeof(float);
  return bytes;
}

void launch_linear(const WeightView& w, const InputView& in, const float* x, int64_t n, float* y, void* scratch) {
  if (n <= 0) return;
  if (integer_product(w, in)) return run_integer_product(w, in, x, n, y, scratch);
  const float* input = x;
  if (prepares_input(in)) {
    auto* prepared = static_cast<float*>(scratch);
    float* ranges = prepared + n * w.cols;
    compute_ranges(w, in, x, n, ranges);
    COMPRESSOR_LAUNCH(prepare_input_kernel, static_cast<unsigned>(n), kRowThreads)(in, x, w.cols, ranges, prepared);
    check_launch("prepare_input_kernel");
    input = prepared;
  }
  switch (w.kind) {
    case ElementKind::f32: return run_product<ElementKind::f32>(w, input, n, y);
    case ElementKind::f16: return run_product<ElementKind::f16>(w, input, n, y);
    case ElementKind::bf16: return run_product<ElementKind::bf16>(w, input, n, y);
    case ElementKind::packed: return run_product<ElementKind::packed>(w, input, n, y);
    case ElementKind::int_bytes: return run_product<ElementKind::int_bytes>(w, input, n, y);
    case ElementKind::fp8_e4m3: return run_product<ElementKind::fp8_e4m3>(w, input, n, y);
  }
}

void launch_dequantize(const WeightView& w, float* out) {
  switch (w.kind) {
    case ElementKind::f32: return run_dequantize<ElementKind::f32>(w, out);
    case ElementKind::f16: return run_dequantize<ElementKind::f16>(w, out);
    case ElementKind::bf16: return run_dequantize<ElementKind::bf16>(w, out);
    case ElementKind::packed: return run_dequantize<ElementKind::packed>(w, out);
    case ElementKind::int_bytes: return run_dequantize<ElementKind::int_bytes>(w, out);
    case ElementKind::fp8_e4m3: return run_dequantize<ElementKind::fp8_e4m3>(w, out);
  }
}

}  // namespace compressor::runtime::cuda
