#include "compressor/runtime/kernels/linear.h"

#include <algorithm>
#include <cstdlib>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/gemm_int8.h"
#include "compressor/runtime/kernels/gemv_2of4.h"
#include "compressor/runtime/kernels/gemv_avx2.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/gemv_limbs.h"
#include "compressor/runtime/kernels/gemv_vnni.h"
#include "compressor/runtime/kernels/linear_blas.h"
#include "compressor/runtime/kernels/linear_ref.h"

namespace compressor::runtime {

const std::string& kernel_set() {
  static const std::string set = [] {
    const char* env = std::getenv("COMPRESSOR_KERNELS");
    const std::string v = env ? env : "";
    if (v.empty() || v == "auto") return std::string("auto");
    if (v == "blas" || v == "ref") return v;
    throw BadInput("COMPRESSOR_KERNELS", "'" + v + "' is not a kernel set (auto, blas, ref)");
  }();
  return set;
}

namespace {

bool any_gemv_supports(const LinearWeight& w) {
  return gemv_2of4_supports(w) || gemv_limbs_supports(w) || gemv_avx512_supports(w) || gemv_avx2_supports(w);
}

void gemv(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (gemv_2of4_supports(w)) return gemv_2of4(w, x, y);    // 2:4 int4: the kept codes and the mask as stored
  if (gemv_limbs_supports(w)) return gemv_limbs(w, x, y);  // W4A16, W8A16: integer dot products, float32's precision
  if (gemv_vnni_supports(w)) return gemv_vnni(w, x, y);    // W8A8: integer dot products
  const Matrix quantized_input = w.input_args ? quantize_input(w, x) : Matrix();
  const Matrix& in = w.input_args ? quantized_input : x;
  if (gemv_avx512_supports(w)) return gemv_avx512(w, in, y);
  gemv_avx2(w, in, y);
}

// x's columns in the weight's stored order.
void linear_as_stored(const LinearWeight& w, const Matrix& x, Matrix& y) {
  const auto& set = kernel_set();
  if (set == "ref") return linear_ref(w, x, y);
  // W8A8 prompts: int8 × int8 in oneDNN, where dequantizing for sgemm ran at half LibTorch's float speed.
  if (set == "auto" && x.rows > kMaxChunkedGemvTokens && gemm_int8_supports(w)) return gemm_int8(w, x, y);
  if (set != "auto" || x.rows > kMaxChunkedGemvTokens || !any_gemv_supports(w)) {
    return linear_blas(w, x, y);
  }
  if (x.rows <= kMaxGemvTokens) return gemv(w, x, y);
  // A batch of decode steps: the GEMV in chunks of kMaxGemvTokens rows, each chunk streaming the
  // weight once, still beats dequantizing it for sgemm (bench/runtime_batch_bench.sh).
  y = Matrix(x.rows, w.rows);
  for (int64_t r0 = 0; r0 < x.rows; r0 += kMaxGemvTokens) {
    const int64_t n = std::min(kMaxGemvTokens, x.rows - r0);
    Matrix part(n, x.cols), out;
    std::copy(x.row(r0), x.row(r0) + n * x.cols, part.data.begin());
    gemv(w, part, out);
    std::copy(out.data.begin(), out.data.end(), y.row(r0));
  }
}

}  // namespace

void linear_group(const std::vector<const LinearWeight*>& ws, const Matrix& x, const std::vector<Matrix*>& ys) {
  if (ws.size() != ys.size()) throw InternalError("linear_group", "weights and outputs differ in number");
  const bool in_order = std::all_of(ws.begin(), ws.end(), [](const LinearWeight* w) { return w->input_order.empty(); });
  if (kernel_set() == "auto" && x.rows <= kMaxGemvTokens && in_order && gemv_limbs_group_supports(ws)) {
    return gemv_limbs_group(ws, x, ys);
  }
  for (size_t i = 0; i < ws.size(); ++i) linear(*ws[i], x, *ys[i]);
}

void linear(const LinearWeight& w, const Matrix& x, Matrix& y) {
  if (w.input_order.empty()) return linear_as_stored(w, x, y);
  // Columns sorted by activation-ordered group at load: the input follows the same order.
  Matrix sorted(x.rows, x.cols);
  for (int64_t t = 0; t < x.rows; ++t) {
    const float* src = x.row(t);
    float* dst = sorted.row(t);
    for (int64_t i = 0; i < x.cols; ++i) dst[i] = src[w.input_order[static_cast<size_t>(i)]];
  }
  linear_as_stored(w, sorted, y);
}

}  // namespace compressor::runtime
