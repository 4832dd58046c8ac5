#include "passes/pruning/structured.h"

#include <algorithm>
#include <limits>

#include "compressor/base/error.h"
#include "passes/obs/column_sweep.h"

namespace compressor::passes {

namespace {

// The columns of structure s.
torch::Tensor columns_of(int64_t s, int64_t width) { return torch::arange(s * width, (s + 1) * width, torch::kInt64); }

// Cheapest remaining structure whose group still has removals left; -1 when none.
int64_t cheapest(const std::vector<double>& cost, const std::vector<char>& gone, const std::vector<int64_t>& left,
                 int64_t per_group) {
  int64_t best = -1;
  double best_cost = std::numeric_limits<double>::infinity();
  for (size_t s = 0; s < cost.size(); ++s) {
    if (gone[s] || left[s / static_cast<size_t>(per_group)] == 0) continue;
    if (best < 0 || cost[s] < best_cost) {
      best = static_cast<int64_t>(s);
      best_cost = cost[s];
    }
  }
  return best;
}

}  // namespace

StructuredResult select_structures(const torch::Tensor& w, const torch::Tensor& h, const StructuredOptions& o,
                                   const std::string& tensor) {
  torch::NoGradGuard no_grad;
  const int64_t in = w.size(1);
  if (o.width < 1 || in % o.width != 0 || o.groups < 1 || (in / o.width) % o.groups != 0) {
    throw InternalError(tensor, "structures of " + std::to_string(o.width) + " columns in " + std::to_string(o.groups) +
                                    " groups over " + std::to_string(in) + " inputs");
  }
  const int64_t n = in / o.width, per_group = n / o.groups;
  if (o.remove_per_group < 0 || o.remove_per_group >= per_group) {
    throw InternalError(tensor, "removing " + std::to_string(o.remove_per_group) + " of " + std::to_string(per_group) +
                                    " structures per group");
  }
  if (h.size(0) != in || h.size(1) != in) throw InternalError(tensor, "Hessian of the wrong size");
  if (!torch::isfinite(h).all().item<bool>()) {
    throw BadInput(tensor, "its input Hessian holds NaN or Inf (the calibration activations overflowed before this "
                           "layer), so no head or neuron can be scored");
  }
  auto H = h.to(torch::kFloat64).clone();
  auto W = w.to(torch::kFloat64).clone();
  // An input that is always zero computes nothing: its column of W goes to zero (the function is
  // unchanged) and H_ii to one so the damped inverse exists; a structure of such inputs costs 0.
  const auto dead = (H.diagonal() == 0).nonzero().reshape({-1});
  if (dead.numel() > 0) {
    W.index_fill_(1, dead, 0.0);
    H.diagonal().index_fill_(0, dead, 1.0);
  }

  StructuredResult r;
  std::vector<char> gone(static_cast<size_t>(n), 0);
  std::vector<int64_t> left(static_cast<size_t>(o.groups), o.remove_per_group);
  const int64_t total = o.remove_per_group * o.groups;
  auto take = [&](int64_t s, double cost) {
    gone[static_cast<size_t>(s)] = 1;
    --left[static_cast<size_t>(s / per_group)];
    r.removed.push_back(s);
    r.loss += cost;
  };

  if (!o.update) {
    // Output energy of each structure: tr(W_S H_SS W_Sᵀ), all at once from H's diagonal blocks.
    const auto Hb = H.view({n, o.width, n, o.width}).diagonal(0, 0, 2).permute({2, 0, 1});  // [n, w, w]
    const auto Wb = W.view({W.size(0), n, o.width}).permute({1, 0, 2});                    // [n, out, w]
    const auto energy = (Wb.bmm(Hb) * Wb).sum({1, 2}).contiguous();
    const std::vector<double> cost(energy.data_ptr<double>(), energy.data_ptr<double>() + n);
    for (int64_t k = 0; k < total; ++k) {
      const int64_t s = cheapest(cost, gone, left, per_group);
      take(s, cost[static_cast<size_t>(s)]);
    }
  } else {
    const auto f = obs::inverse_factor(H, o.dampening_frac, tensor);
    r.dampening_frac = f.dampening_frac;
    auto Hinv = f.u.t().mm(f.u);  // (H + λI)⁻¹
    std::vector<double> cost(static_cast<size_t>(n));
    for (int64_t k = 0; k < total; ++k) {
      if (o.width == 1) {
        const auto eps = (W.square().sum(0) / Hinv.diagonal()).contiguous();
        std::copy(eps.data_ptr<double>(), eps.data_ptr<double>() + n, cost.begin());
      } else {
        for (int64_t s = 0; s < n; ++s) {
          if (gone[static_cast<size_t>(s)]) continue;
          const auto cols = columns_of(s, o.width);
          const auto Ws = W.index_select(1, cols);
          const auto Hs = Hinv.index_select(0, cols).index_select(1, cols);
          cost[static_cast<size_t>(s)] = (Ws.t() * torch::linalg_solve(Hs, Ws.t())).sum().item<double>();
        }
      }
      const int64_t s = cheapest(cost, gone, left, per_group);
      const auto cols = columns_of(s, o.width);
      const auto Hs_inv = torch::inverse(Hinv.index_select(0, cols).index_select(1, cols));
      const auto R = Hinv.index_select(0, cols);  // Hinv_S,: [w, in]
      W -= W.index_select(1, cols).mm(Hs_inv).mm(R);
      Hinv -= R.t().mm(Hs_inv).mm(R);
      W.index_fill_(1, cols, 0.0);  // zero already, up to rounding
      take(s, cost[static_cast<size_t>(s)]);
    }
  }
  std::sort(r.removed.begin(), r.removed.end());
  for (int64_t s : r.removed) W.index_fill_(1, columns_of(s, o.width), 0.0);
  r.weight = W.to(torch::kFloat32);
  return r;
}

}  // namespace compressor::passes
