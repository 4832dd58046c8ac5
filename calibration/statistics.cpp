#include "calibration/statistics.h"

#include <algorithm>
#include <cmath>

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

void accumulate(GroupStats& g, const torch::Tensor& x, const Requirements& req) {
  torch::NoGradGuard no_grad;
  const int64_t in = x.size(-1);
  const auto flat = x.reshape({-1, in});
  const int64_t n = flat.size(0);
  if (n == 0) return;
  const auto f32 = flat.to(torch::kFloat32);
  if (req.channel_norms) {
    // Squares in float32, their sum per batch in float64: exact enough per batch, and no drift
    // over millions of rows.
    auto s = f32.square().sum(0, /*keepdim=*/false, torch::kFloat64);
    g.sum_squares = g.sum_squares.defined() ? g.sum_squares.add_(s) : s;
  }
  if (req.abs_max) {
    auto m = std::get<0>(f32.abs().max(0));
    g.abs_max = g.abs_max.defined() ? torch::maximum(g.abs_max, m) : m;
  }
  if (req.range) {
    auto lo = std::get<0>(f32.min(0));
    auto hi = std::get<0>(f32.max(0));
    g.min_value = g.min_value.defined() ? torch::minimum(g.min_value, lo) : lo;
    g.max_value = g.max_value.defined() ? torch::maximum(g.max_value, hi) : hi;
  }
  if (req.abs_mean) {
    auto a = f32.abs().sum(0, /*keepdim=*/false, torch::kFloat64);
    g.abs_sum = g.abs_sum.defined() ? g.abs_sum.add_(a) : a;
  }
  if (req.hessian) {
    const auto dtype = req.hessian_fp64 ? torch::kFloat64 : torch::kFloat32;
    if (!g.xtx_upper.defined()) g.xtx_upper = torch::zeros({in, in}, dtype);
    add_gram_upper(g.xtx_upper, f32.to(dtype));
  }
  if (!req.abs_percentiles.empty()) {
    auto p = percentiles_of(f32.abs().reshape({-1}), req.abs_percentiles) * static_cast<double>(n);
    g.percentile_sum = g.percentile_sum.defined() ? g.percentile_sum.add_(p) : p;
  }
  g.rows += n;
}

}  // namespace compressor::calibration
