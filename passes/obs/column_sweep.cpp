#include "passes/obs/column_sweep.h"

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"

namespace compressor::passes::obs {

namespace {

// H + λI factorised; the upper Cholesky factor U of its inverse (H⁻¹ = Uᵀ U), or an undefined
// tensor. With J the reversal permutation and J (H + λI) J = L Lᵀ, U = J L⁻¹ J (upper, positive
// diagonal, and Uᵀ U = J L⁻ᵀ L⁻¹ J = (H + λI)⁻¹): one Cholesky and one triangular solve.
torch::Tensor try_factor(const torch::Tensor& h, double lambda) {
  auto damped = h.flip({0, 1});
  damped.diagonal().add_(lambda);
  auto [l, info] = torch::linalg_cholesky_ex(damped);
  if (info.item<int64_t>() != 0) return {};
  const auto eye = torch::eye(h.size(0), h.options());
  auto u = torch::linalg_solve_triangular(l, eye, /*upper=*/false).flip({0, 1});
  if (!torch::isfinite(u).all().item<bool>() || !(u.diagonal() > 0).all().item<bool>()) return {};
  return u;
}

}  // namespace

OptionSpec dampening_frac_option() {
  return float_option("dampening_frac", "λ = dampening_frac · mean(diag H) added to the Hessian; raised tenfold (up to 1) "
                      "when it does not factorise",
                      0.01, 0.0, 1.0, /*min_inclusive=*/false);
}

int64_t zero_dead_columns(torch::Tensor& h, torch::Tensor& wt) {
  auto diag = h.diagonal();
  const auto dead = diag.eq(0);
  const int64_t n = dead.sum().item<int64_t>();
  if (n) {
    diag.masked_fill_(dead, 1.0);
    wt.index_put_({dead}, 0);
  }
  return n;
}

InverseFactor inverse_factor(const torch::Tensor& h, double dampening_frac, const std::string& tensor) {
  const double mean_diag = h.diagonal().mean().item<double>();
  InverseFactor f;
  double frac = dampening_frac;
  for (;;) {
    f.u = try_factor(h, frac * mean_diag);
    if (f.u.defined()) break;
    if (frac >= 1.0) {
      throw BadInput(tensor, "its Hessian is not positive definite even with dampening_frac " + std::to_string(frac) +
                                 " (λ = " + std::to_string(frac * mean_diag) +
                                 "); the calibration data does not determine this layer (too few or degenerate samples)");
    }
    const double next = std::min(1.0, frac * 10);
    spdlog::warn("{}: the Hessian did not factorise with dampening_frac {} (λ = {:.3g}); retrying with {} (λ = {:.3g})",
                 tensor, frac, frac * mean_diag, next, next * mean_diag);
    frac = next;
  }
  f.dampening_frac = frac;
  return f;
}

Prepared prepare(torch::Tensor& h, torch::Tensor& wt, double dampening_frac, const std::string& tensor) {
  Prepared p;
  p.dead_columns = zero_dead_columns(h, wt);
  const auto f = inverse_factor(h, dampening_frac, tensor);
  p.dampening_frac = f.dampening_frac;
  p.u = f.u.to(wt.scalar_type()).contiguous();
  return p;
}

}  // namespace compressor::passes::obs
