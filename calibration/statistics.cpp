#include "calibration/statistics.h"

#include "compressor/base/error.h"

namespace compressor::calibration {

Requirements& Requirements::merge(const Requirements& o) {
  channel_norms = channel_norms || o.channel_norms;
  abs_max = abs_max || o.abs_max;
  hessian = hessian || o.hessian;
  hessian_fp64 = hessian_fp64 || o.hessian_fp64;
  return *this;
}

torch::Tensor GroupStats::channel_norms() const {
  if (!sum_squares.defined()) throw InternalError("calibration", "channel norms were not collected");
  return sum_squares.sqrt().to(torch::kFloat32);
}

torch::Tensor GroupStats::hessian() const {
  if (!xtx.defined()) throw InternalError("calibration", "the Hessian was not collected");
  if (rows == 0) return torch::zeros_like(xtx);
  return xtx * (2.0 / static_cast<double>(rows));
}

const GroupStats& BlockStats::of(const model::LinearSlot& slot) const {
  auto it = group_of.find(&slot);
  if (it == group_of.end()) throw InternalError(slot.name, "no calibration statistics for this slot");
  return groups.at(it->second);
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
  if (req.hessian) {
    const auto dtype = req.hessian_fp64 ? torch::kFloat64 : torch::kFloat32;
    const auto xs = f32.to(dtype);
    if (!g.xtx.defined()) g.xtx = torch::zeros({in, in}, dtype);
    g.xtx.addmm_(xs.t(), xs);
  }
  g.rows += n;
}

}  // namespace compressor::calibration
