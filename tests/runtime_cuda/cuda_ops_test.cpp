// The CUDA decoder's ops one by one against the CPU ops (runtime/ops) on shapes the tiny models do
// not reach: attention over more positions than one chunk of its online softmax (256), grouped
// heads, odd head widths; the norms, rotary and activations on odd widths. Skipped without a GPU.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "compressor/runtime/kernels/cuda/cuda_linear.h"
#include "compressor/runtime/kernels/cuda/device_ops.h"
#include "compressor/runtime/ops/activation.h"
#include "compressor/runtime/ops/attention.h"
#include "compressor/runtime/ops/norm.h"
#include "compressor/runtime/ops/rotary.h"

using namespace compressor::runtime;

namespace {

bool have_device() {
  if (cuda::device_count() > 0) return true;
  WARN("skipped: no CUDA device answers (cudaGetDeviceCount)");
  return false;
}

Matrix random_matrix(int64_t rows, int64_t cols, std::mt19937& rng, float scale = 1.0f) {
  Matrix m(rows, cols);
  std::normal_distribution<float> normal(0, scale);
  for (auto& v : m.data) v = normal(rng);
  return m;
}

cuda::DeviceBuffer upload(const FloatVector& v) { return cuda::DeviceBuffer::upload(v.data(), v.size() * sizeof(float)); }

FloatVector download(const cuda::DeviceBuffer& b, size_t n) {
  FloatVector v(n);
  cuda::copy_to_host(v.data(), b.get(), n * sizeof(float));
  return v;
}

float* floats(const cuda::DeviceBuffer& b) { return static_cast<float*>(b.get()); }

double max_relative(const FloatVector& got, const FloatVector& want) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  }
  return diff / scale;
}

}  // namespace

TEST_CASE("cuda attention equals the CPU reference past one softmax chunk, with grouped heads", "[cuda]") {
  if (!have_device()) return;
  std::mt19937 rng(3);
  for (const auto& [heads, kv_heads, head_dim, first, rows] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>{4, 2, 24, 597, 3}, {3, 3, 64, 0, 300}, {6, 1, 17, 255, 2}}) {
    CAPTURE(heads, kv_heads, head_dim, first, rows);
    const int64_t capacity = first + rows + 5;
    ops::LayerCache cache(kv_heads, capacity, head_dim);
    // Scores of a few units: the softmax is far from uniform, so a wrong rescale shows.
    cache.store(random_matrix(first + rows, kv_heads * head_dim, rng, 2.0f), random_matrix(first + rows, kv_heads * head_dim, rng), 0);
    const Matrix q = random_matrix(rows, heads * head_dim, rng, 2.0f);
    const Matrix want = ops::attention(q, cache, heads, first);
    const auto keys = upload(cache.keys), values = upload(cache.values), dq = upload(q.data);
    cuda::DeviceBuffer out(q.data.size() * sizeof(float));
    cuda::launch_attention(floats(dq), rows, heads, kv_heads, head_dim, capacity, first, floats(keys), floats(values),
                           floats(out));
    CHECK(max_relative(download(out, want.data.size()), want.data) <= 1e-5);
  }
}

TEST_CASE("cuda norms, rotary and activations equal the CPU ops", "[cuda]") {
  if (!have_device()) return;
  std::mt19937 rng(5);
  const int64_t rows = 5, cols = 300;
  const Matrix x = random_matrix(rows, cols, rng);
  const Matrix g = random_matrix(1, cols, rng), b = random_matrix(1, cols, rng);
  const auto dw = upload(g.data), db = upload(b.data);
  auto check_op = [&](const char* name, auto cpu_op, auto gpu_op) {
    CAPTURE(name);
    Matrix want = x;
    cpu_op(want);
    const auto d = upload(x.data);
    gpu_op(floats(d));
    CHECK(max_relative(download(d, x.data.size()), want.data) <= 1e-5);
  };
  check_op("layer_norm", [&](Matrix& m) { ops::layer_norm(m, g.data, b.data, 1e-5); },
           [&](float* d) { cuda::launch_layer_norm(d, rows, cols, floats(dw), floats(db), 1e-5); });
  check_op("rms_norm", [&](Matrix& m) { ops::rms_norm(m, g.data, 1e-6); },
           [&](float* d) { cuda::launch_rms_norm(d, rows, cols, floats(dw), 1e-6); });
  check_op("rotary", [&](Matrix& m) { ops::apply_rotary(m, 5, 60, 1000, 10000.0); },
           [&](float* d) { cuda::launch_rotary(d, rows, 5, 60, 1000, 10000.0); });
  check_op("gelu_tanh", [&](Matrix& m) { ops::gelu_tanh(m); }, [&](float* d) { cuda::launch_gelu_tanh(d, rows * cols); });
  check_op("gelu_erf", [&](Matrix& m) { ops::gelu_erf(m); }, [&](float* d) { cuda::launch_gelu_erf(d, rows * cols); });
  const auto du = upload(g.data);  // silu(x) · up with up one row long: use the first cols values
  check_op("silu_mul", [&](Matrix& m) {
             Matrix up(1, cols);
             up.data = g.data;
             Matrix one(1, cols);
             for (int64_t r = 0; r < rows; ++r) {
               std::copy(m.row(r), m.row(r) + cols, one.data.begin());
               ops::silu_mul(one, up);
               std::copy(one.data.begin(), one.data.end(), m.row(r));
             }
           },
           [&](float* d) {
             for (int64_t r = 0; r < rows; ++r) cuda::launch_silu_mul(d + r * cols, floats(du), cols);
           });
}
