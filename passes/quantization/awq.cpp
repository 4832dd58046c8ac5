#include "passes/quantization/awq.h"

#include <cmath>
#include <limits>

#include "compressor/base/error.h"

namespace compressor::passes {

namespace {

torch::Tensor fake_quantize(const torch::Tensor& w, const WeightQuantOptions& o, const std::string& name) {
  return fake_quantize_weight(w, o, name);
}

// Σ_rows Δ H Δᵀ in float64.
double output_error(const torch::Tensor& delta, const torch::Tensor& hessian) {
  const auto h = hessian.to(torch::kFloat32);
  return (delta.mm(h) * delta).sum(torch::kFloat64).item<double>();
}

// The length of the runs of one row's columns that share a scale.
int64_t unit_width(const WeightQuantOptions& o, int64_t cols) {
  switch (o.args.strategy) {
    case quant::Strategy::group: return o.args.group_size;
    case quant::Strategy::channel: return cols;
    default: return 0;  // tensor (and token, which weights do not use): one unit
  }
}

}  // namespace

std::vector<AwqGridPoint> awq_grid(int64_t n_grid, DuoScaling duo) {
  if (n_grid < 2) throw InternalError("awq", "n_grid below 2");
  std::vector<AwqGridPoint> grid;
  switch (duo) {
    case DuoScaling::on:
      grid.push_back({0.0, false});
      for (int64_t i = 0; i < n_grid - 1; ++i) grid.push_back({static_cast<double>(i) / static_cast<double>(n_grid - 2), true});
      break;
    case DuoScaling::off:
      for (int64_t i = 0; i < n_grid; ++i) grid.push_back({static_cast<double>(i) / static_cast<double>(n_grid - 1), false});
      break;
    case DuoScaling::both: {
      const int64_t half = n_grid / 2;
      if (half < 2) throw InternalError("awq", "n_grid below 4 with duo_scaling both");
      for (int64_t i = 0; i < half; ++i) {
        for (bool d : {false, true}) grid.push_back({static_cast<double>(i) / static_cast<double>(half - 1), d});
      }
      break;
    }
  }
  return grid;
}

torch::Tensor awq_weight_mean(const std::vector<torch::Tensor>& weights, const std::vector<WeightQuantOptions>& quant) {
  torch::NoGradGuard no_grad;
  if (weights.empty() || weights.size() != quant.size()) throw InternalError("awq", "weight means of an empty group");
  torch::Tensor sum;
  int64_t rows = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const auto w = weights[i].detach().to(torch::kFloat32).abs();
    const int64_t width = unit_width(quant[i], w.size(1));
    const auto units = width > 0 ? w.reshape({-1, width}) : w.reshape({1, -1});
    const auto normalised = (units / (std::get<0>(units.max(1, /*keepdim=*/true)) + 1e-6)).reshape(w.sizes());
    const auto s = normalised.sum(0, /*keepdim=*/false, torch::kFloat64);
    sum = sum.defined() ? sum + s : s;
    rows += w.size(0);
  }
  return (sum / static_cast<double>(rows)).to(torch::kFloat32);
}

torch::Tensor awq_candidate_scale(const torch::Tensor& x_mean, const torch::Tensor& w_mean, const AwqGridPoint& p) {
  const auto x = x_mean.to(torch::kFloat32);
  auto s = p.duo ? (x.pow(p.ratio) / (w_mean.to(torch::kFloat32).pow(1 - p.ratio) + 1e-4)).clamp_min(1e-4)
                 : x.pow(p.ratio).clamp_min(1e-4);
  s = s / (s.max() * s.min()).sqrt();
  s = torch::where(torch::isfinite(s), s, torch::ones_like(s));
  // A channel the calibration never excited carries no signal to protect, and a scale folded into
  // its producer would only blow up what other data might send through it.
  return torch::where(x > 0, s, torch::ones_like(s));
}

double quantization_output_error(const torch::Tensor& w, const WeightQuantOptions& quant, const torch::Tensor& hessian,
                                 const std::string& name) {
  torch::NoGradGuard no_grad;
  const auto w32 = w.detach().to(torch::kFloat32);
  return output_error(w32 - fake_quantize(w32, quant, name), hessian);
}

AwqSearchResult awq_search_scale(const std::vector<AwqLinear>& linears, const torch::Tensor& x_mean, int64_t n_grid,
                                 DuoScaling duo, const AwqObjective& objective, double energy) {
  torch::NoGradGuard no_grad;
  if (linears.empty()) throw InternalError("awq", "scale search on an empty group");
  std::vector<torch::Tensor> weights, quantized_weights;
  std::vector<WeightQuantOptions> quant;
  for (const auto& l : linears) {
    weights.push_back(l.weight.detach().to(torch::kFloat32));
    if (!l.quant) continue;
    quantized_weights.push_back(weights.back());
    quant.push_back(*l.quant);
  }
  if (quant.empty()) throw InternalError(linears.front().name, "scale search with no quantized linear");
  const auto w_mean = duo != DuoScaling::off ? awq_weight_mean(quantized_weights, quant) : torch::Tensor();
  const double norm = energy > 0 ? energy : 1.0;

  AwqSearchResult best;
  double best_error = std::numeric_limits<double>::infinity();
  bool first = true;
  for (const auto& p : awq_grid(n_grid, duo)) {
    const auto s = awq_candidate_scale(x_mean, w_mean, p);
    const auto row = s.unsqueeze(0);
    std::vector<torch::Tensor> candidate;
    for (size_t k = 0; k < linears.size(); ++k) {
      const auto& l = linears[k];
      candidate.push_back(l.quant ? fake_quantize(weights[k] * row, *l.quant, l.name) / row : weights[k]);
    }
    const double error = objective(candidate);
    if (first) best.identity_error = error / norm;  // every grid starts at s = 1 (x̄⁰, normalised)
    first = false;
    if (std::isfinite(error) && error < best_error) {
      best_error = error;
      best.best = p;
      best.scale = s;
    }
  }
  if (!best.scale.defined()) {
    throw BadInput(linears.front().name, "AWQ found no scale with a finite output error (NaN or Inf in the weights "
                                         "or the calibration statistics)");
  }
  best.error = best_error / norm;
  return best;
}

AwqSearchResult awq_search_scale(const std::vector<AwqLinear>& linears, const torch::Tensor& x_mean,
                                 const torch::Tensor& hessian, int64_t n_grid, DuoScaling duo) {
  torch::NoGradGuard no_grad;
  const auto h = hessian.to(torch::kFloat32);
  std::vector<torch::Tensor> weights;
  double energy = 0;
  for (const auto& l : linears) {
    weights.push_back(l.weight.detach().to(torch::kFloat32));
    energy += output_error(weights.back(), h);
  }
  const auto objective = [&](const std::vector<torch::Tensor>& candidate) {
    double error = 0;
    for (size_t k = 0; k < linears.size(); ++k) {
      if (linears[k].quant) error += output_error(weights[k] - candidate[k], h);
    }
    return error;
  };
  return awq_search_scale(linears, x_mean, n_grid, duo, objective, energy);
}

torch::Tensor awq_clip(const torch::Tensor& w, const WeightQuantOptions& quant, const torch::Tensor& hessian,
                       const std::string& name, int64_t n_grid, double max_shrink) {
  torch::NoGradGuard no_grad;
  const auto w32 = w.detach().to(torch::kFloat32).contiguous();
  const int64_t rows = w32.size(0), cols = w32.size(1);
  const int64_t width = unit_width(quant, cols);
  if (width == 0) return w32;  // one scale for the whole tensor: nothing per unit to search
  const int64_t units = cols / width;
  // H's diagonal blocks, one per unit: [units, width, width]. Errors across units are not coupled
  // here, as in the authors' search (each unit's output measured on its own inputs).
  const auto h = hessian.to(torch::kFloat32);
  auto blocks = torch::empty({units, width, width}, torch::kFloat32);
  for (int64_t u = 0; u < units; ++u) blocks[u].copy_(h.narrow(0, u * width, width).narrow(1, u * width, width));
  const auto grouped = w32.reshape({rows, units, width});
  const auto original_max = std::get<0>(grouped.abs().max(2, /*keepdim=*/true));  // [rows, units, 1]
  auto best_max = original_max.clone();
  auto best_error = torch::full({rows, units}, std::numeric_limits<float>::infinity());
  const auto steps = static_cast<int64_t>(max_shrink * static_cast<double>(n_grid));
  for (int64_t i = 0; i < std::max<int64_t>(steps, 1); ++i) {
    const auto max_val = original_max * (1.0 - static_cast<double>(i) / static_cast<double>(n_grid));
    const auto clamped = torch::max(torch::min(grouped, max_val), -max_val).reshape({rows, cols});
    const auto delta = (w32 - fake_quantize(clamped, quant, name)).reshape({rows, units, width}).permute({1, 0, 2});
    // error[u, r] = Δ_ur H_uu Δ_urᵀ
    const auto error = (torch::bmm(delta, blocks) * delta).sum(2).t();  // [rows, units]
    const auto better = error < best_error;
    best_error = torch::where(better, error, best_error);
    best_max = torch::where(better.unsqueeze(2), max_val, best_max);
  }
  return torch::max(torch::min(grouped, best_max), -best_max).reshape({rows, cols});
}

}  // namespace compressor::passes
