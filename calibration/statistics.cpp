#include "calibration/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <cblas.h>

#include "compressor/base/error.h"

namespace compressor::calibration {

Requirements& Requirements::merge(const Requirements& o) {
  channel_norms = channel_norms || o.channel_norms;
  abs_max = abs_max || o.abs_max;
  abs_mean = abs_mean || o.abs_mean;
  range = range || o.range;
  hessian = hessian || o.hessian;
  hessian_fp64 = hessian_fp64 || o.hessian_fp64;
  probe_samples = std::max(probe_samples, o.probe_samples);
  // The finer of two samples serves both.
  if (o.sample_stride > 0) sample_stride = sample_stride > 0 ? std::min(sample_stride, o.sample_stride) : o.sample_stride;
  for (double p : o.abs_percentiles) {
    if (std::find(abs_percentiles.begin(), abs_percentiles.end(), p) == abs_percentiles.end()) abs_percentiles.push_back(p);
  }
  return *this;
}

torch::Tensor GroupStats::channel_norms() const {
  if (!sum_squares.defined()) throw InternalError("calibration", "channel norms were not collected");
  return sum_squares.sqrt().to(torch::kFloat32);
}

torch::Tensor GroupStats::hessian() const {
  if (!xtx_upper.defined()) throw InternalError("calibration", "the Hessian was not collected");
  if (rows == 0) return torch::zeros_like(xtx_upper);
  auto full = xtx_upper + xtx_upper.triu(1).t();
  return full.mul_(2.0 / static_cast<double>(rows));
}

torch::Tensor GroupStats::hessian_diagonal() const {
  if (!sum_squares.defined()) throw InternalError("calibration", "channel sums of squares were not collected");
  if (rows == 0) return torch::zeros_like(sum_squares);
  return sum_squares * (2.0 / static_cast<double>(rows));
}

torch::Tensor GroupStats::abs_percentiles() const {
  if (!percentile_sum.defined()) throw InternalError("calibration", "percentiles were not collected");
  return rows == 0 ? percentile_sum : percentile_sum / static_cast<double>(rows);
}

torch::Tensor GroupStats::channel_abs_mean() const {
  if (!abs_sum.defined()) throw InternalError("calibration", "channel sums of |x| were not collected");
  if (rows == 0) return torch::zeros_like(abs_sum, torch::kFloat32);
  return (abs_sum / static_cast<double>(rows)).to(torch::kFloat32);
}

void GroupStats::scale_inputs(const torch::Tensor& s) {
  torch::NoGradGuard no_grad;
  const auto inv = s.to(torch::kFloat64).reciprocal();
  if (sum_squares.defined()) sum_squares.mul_(inv.square());
  if (abs_sum.defined()) abs_sum.mul_(inv);
  if (abs_max.defined()) abs_max.mul_(inv.to(torch::kFloat32));
  if (min_value.defined()) min_value.mul_(inv.to(torch::kFloat32));  // s > 0: the order stays
  if (max_value.defined()) max_value.mul_(inv.to(torch::kFloat32));
  if (xtx_upper.defined()) {
    const auto d = inv.to(xtx_upper.scalar_type());
    xtx_upper.mul_(d.unsqueeze(1)).mul_(d.unsqueeze(0));
  }
  if (row_sample.defined()) row_sample.mul_(inv.to(torch::kFloat32));
  percentile_sum = torch::Tensor();
}

void GroupStats::keep_inputs(const torch::Tensor& keep) {
  torch::NoGradGuard no_grad;
  for (auto* t : {&sum_squares, &abs_sum, &abs_max, &min_value, &max_value}) {
    if (t->defined()) *t = t->index_select(0, keep);
  }
  if (xtx_upper.defined()) xtx_upper = xtx_upper.index_select(0, keep).index_select(1, keep);
  if (row_sample.defined()) row_sample = row_sample.index_select(1, keep);
  percentile_sum = torch::Tensor();
}

namespace {

// Percentiles p (in (0, 100]) of the values `a` (1-D), numpy's linear interpolation: the value at
// position p/100 · (n-1) of the ascending order. Only the top of the order is sorted (topk), as
// high percentiles are the ones quantization asks for.
torch::Tensor percentiles_of(const torch::Tensor& a, const std::vector<double>& ps) {
  const int64_t n = a.numel();
  double lowest = 100;
  for (double p : ps) lowest = std::min(lowest, p);
  const auto first = static_cast<int64_t>(std::floor(lowest / 100.0 * static_cast<double>(n - 1)));
  const int64_t k = n - first;  // ascending positions [first, n) are the k largest values
  auto top = std::get<0>(a.topk(k, 0, /*largest=*/true, /*sorted=*/true)).to(torch::kFloat64);
  auto at = [&](int64_t pos) { return top[n - 1 - pos].item<double>(); };
  std::vector<double> out;
  for (double p : ps) {
    const double pos = p / 100.0 * static_cast<double>(n - 1);
    const auto lo = static_cast<int64_t>(std::floor(pos));
    const int64_t hi = std::min(lo + 1, n - 1);
    const double frac = pos - static_cast<double>(lo);
    out.push_back(at(lo) + (at(hi) - at(lo)) * frac);
  }
  return torch::tensor(out, torch::kFloat64);
}

// c += xᵀx on the upper triangle of c (row-major [in, in]); x is [n, in]. OpenBLAS's syrk runs
// 1.6-1.9x faster than addmm_ here, as it does half the multiplications (bench_calibration).
void add_gram_upper(torch::Tensor& c, const torch::Tensor& x) {
  const auto xs = x.contiguous();
  const auto n = static_cast<blasint>(xs.size(0)), in = static_cast<blasint>(xs.size(1));
  if (c.scalar_type() == torch::kFloat64) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, in, n, 1.0, xs.data_ptr<double>(), in, 1.0, c.data_ptr<double>(), in);
  } else {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, in, n, 1.0f, xs.data_ptr<float>(), in, 1.0f, c.data_ptr<float>(), in);
  }
}

}  // namespace

const GroupStats& BlockStats::of(const model::LinearSlot& slot) const {
  auto it = group_of.find(&slot);
  if (it == group_of.end()) throw InternalError(slot.name, "no calibration statistics for this slot");
  return groups.at(it->second);
}

GroupStats& BlockStats::of(const model::LinearSlot& slot) {
  return const_cast<GroupStats&>(static_cast<const BlockStats&>(*this).of(slot));
}

namespace {

// Per-column statistics of x [n, in] (float32, row-major) added into g, one statistic at a time
// over blocks of rows that stay in cache, each a plain loop over a row the compiler vectorizes.
// LibTorch's reductions over dim 0 (strided, the float64 sums through a converted copy) made the
// channel norms and abs-max of Wanda, SmoothQuant and AWQ cost as much as the forward itself
// (bench_calibration --mode speed: +96%). NaN propagates into abs-max, min and max as it does
// into the sums, so the finite check after the block sees it.
void add_column_stats(GroupStats& g, const float* x, int64_t n, int64_t in, const Requirements& req) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64), f32 = torch::TensorOptions().dtype(torch::kFloat32);
  if (req.channel_norms && !g.sum_squares.defined()) g.sum_squares = torch::zeros({in}, f64);
  if (req.abs_mean && !g.abs_sum.defined()) g.abs_sum = torch::zeros({in}, f64);
  if (req.abs_max && !g.abs_max.defined()) g.abs_max = torch::zeros({in}, f32);  // |x| >= 0
  if (req.range && !g.min_value.defined()) {
    g.min_value = torch::full({in}, std::numeric_limits<float>::infinity(), f32);
    g.max_value = torch::full({in}, -std::numeric_limits<float>::infinity(), f32);
  }
  double* squares = req.channel_norms ? g.sum_squares.data_ptr<double>() : nullptr;
  double* abs_sum = req.abs_mean ? g.abs_sum.data_ptr<double>() : nullptr;
  float* abs_max = req.abs_max ? g.abs_max.data_ptr<float>() : nullptr;
  float* lo = req.range ? g.min_value.data_ptr<float>() : nullptr;
  float* hi = req.range ? g.max_value.data_ptr<float>() : nullptr;
  constexpr int64_t kRows = 32;
  for (int64_t r0 = 0; r0 < n; r0 += kRows) {
    const int64_t r1 = std::min(n, r0 + kRows);
    for (int64_t r = r0; squares && r < r1; ++r) {
      const float* row = x + r * in;
      // Squares in float32, their sums in float64: exact enough per row, no drift over millions.
      for (int64_t c = 0; c < in; ++c) squares[c] += static_cast<double>(row[c] * row[c]);
    }
    for (int64_t r = r0; abs_sum && r < r1; ++r) {
      const float* row = x + r * in;
      for (int64_t c = 0; c < in; ++c) abs_sum[c] += static_cast<double>(std::fabs(row[c]));
    }
    for (int64_t r = r0; abs_max && r < r1; ++r) {
      const float* row = x + r * in;
      for (int64_t c = 0; c < in; ++c) {
        const float a = std::fabs(row[c]);
        abs_max[c] = (a > abs_max[c] || a != a) ? a : abs_max[c];
      }
    }
    for (int64_t r = r0; lo && r < r1; ++r) {
      const float* row = x + r * in;
      for (int64_t c = 0; c < in; ++c) {
        const float v = row[c];
        lo[c] = (v < lo[c] || v != v) ? v : lo[c];
        hi[c] = (v > hi[c] || v != v) ? v : hi[c];
      }
    }
  }
}

}  // namespace

void accumulate(GroupStats& g, const torch::Tensor& x, const Requirements& req) {
  torch::NoGradGuard no_grad;
  const int64_t in = x.size(-1);
  const auto flat = x.reshape({-1, in});
  const int64_t n = flat.size(0);
  if (n == 0) return;
  const auto f32 = flat.to(torch::kFloat32).contiguous();
  add_column_stats(g, f32.data_ptr<float>(), n, in, req);
  if (req.hessian) {
    const auto dtype = req.hessian_fp64 ? torch::kFloat64 : torch::kFloat32;
    if (!g.xtx_upper.defined()) g.xtx_upper = torch::zeros({in, in}, dtype);
    add_gram_upper(g.xtx_upper, f32.to(dtype));
  }
  if (!req.abs_percentiles.empty()) {
    auto p = percentiles_of(f32.abs().reshape({-1}), req.abs_percentiles) * static_cast<double>(n);
    g.percentile_sum = g.percentile_sum.defined() ? g.percentile_sum.add_(p) : p;
  }
  if (const int64_t stride = req.sample_stride; stride > 0) {
    const int64_t first = (stride - g.rows % stride) % stride;  // the next row index that is a multiple
    if (first < n) {
      const auto picked = f32.index_select(0, torch::arange(first, n, stride));
      g.row_sample = g.row_sample.defined() ? torch::cat({g.row_sample, picked}) : picked;
    }
  }
  g.rows += n;
}

}  // namespace compressor::calibration
