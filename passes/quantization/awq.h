// AWQ (Lin et al., 2023, arXiv:2306.00978): before quantizing the linears that read one input,
// scale their input channels by s (inputs divided by s through the norm or linear producing them,
// see scale_fold.h), so channels with large activations get finer steps on the weight grid:
//
//   s(r) = x̄^r / (w̄^(1-r) + 1e-4)      (duo scaling; x̄^r alone without it), clamped ≥ 1e-4,
//          divided by sqrt(max s · min s)
//   x̄_j  = mean |x_j| over the calibration rows
//   w̄_j  = mean over the group's output rows of |W_ij| / max|W| of W_ij's quantization unit
//   r    ∈ llm-compressor's grid (awq_grid), the best r minimising the output error
//          L(s) = Σ_linears mean_x ‖(W − Q(W·s)/s) x‖²
//
// The output error of each candidate is computed from the group's Hessian as
// Σ_rows (Δ H Δᵀ), with Δ = W − Q(W·s)/s: exactly the squared error of the linears' outputs over
// every calibration row, without keeping the rows. (llm-compressor and the authors' code measure
// the output of the enclosing module instead, attention or MLP, by running it once per candidate
// on stored inputs; see docs/recipes.md for what that changes.)
//
// Optional clipping search (the authors' auto_clip): per output row and quantization unit, the
// range max |w| shrunk by 1 − i/n_grid (i < max_shrink · n_grid) that minimises the unit's output
// error Δ_u H_uu Δ_uᵀ; the weight is clamped to it before quantization. Query and key projections
// are left unclipped (their errors pass through the softmax), as the authors do.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "passes/quantization/weight_quantizer.h"

namespace compressor::passes {

enum class DuoScaling { off, on, both };

struct AwqGridPoint {
  double ratio = 0;
  bool duo = false;
};

// llm-compressor's grid: on = the identity (0, off) then n_grid-1 ratios in [0, 1] with duo
// scaling; off = n_grid ratios in [0, 1]; both = n_grid/2 ratios in [0, 1], each without and with.
std::vector<AwqGridPoint> awq_grid(int64_t n_grid, DuoScaling duo);

// w̄ over the weights of one input group, each normalised by its own quantization units.
torch::Tensor awq_weight_mean(const std::vector<torch::Tensor>& weights, const std::vector<WeightQuantOptions>& quant);

// s(r) for one grid point; channels whose x̄ is 0 (never excited) keep 1.
torch::Tensor awq_candidate_scale(const torch::Tensor& x_mean, const torch::Tensor& w_mean, const AwqGridPoint& p);

// One linear of the group: its weight [out, in] and how it will be quantized (nullopt: it stays
// float, is scaled with the group but adds no error).
struct AwqLinear {
  std::string name;
  torch::Tensor weight;
  std::optional<WeightQuantOptions> quant;
};

struct AwqSearchResult {
  torch::Tensor scale;      // float32 [in]
  AwqGridPoint best;
  double error = 0;         // L at the best point, relative to Σ_rows (W H Wᵀ) (the outputs' energy)
  double identity_error = 0;  // L with s = 1 (round to nearest), relative likewise
};

// The loss of one grid candidate. `candidate` is parallel to the search's linears: each linear's
// weight as the candidate leaves it, Q(W·s)/s for a quantized one and W for a float one (its
// scale fold is exact), so the objective sees the group's function on its unscaled inputs.
using AwqObjective = std::function<double(const std::vector<torch::Tensor>& candidate)>;

// The grid search against any objective; `energy` (> 0) is what the reported errors are relative
// to. BadInput naming the first linear when no grid point gives a finite loss.
AwqSearchResult awq_search_scale(const std::vector<AwqLinear>& linears, const torch::Tensor& x_mean, int64_t n_grid,
                                 DuoScaling duo, const AwqObjective& objective, double energy);

// The search against the linears' own output error, Σ_linears Σ_rows Δ H Δᵀ (energy Σ W H Wᵀ).
// `x_mean` [in]; `hessian` [in, in] ∝ Σ x xᵀ of the group's inputs (any positive factor).
AwqSearchResult awq_search_scale(const std::vector<AwqLinear>& linears, const torch::Tensor& x_mean,
                                 const torch::Tensor& hessian, int64_t n_grid, DuoScaling duo);

// The output error Σ_rows (Δ H Δᵀ) of quantizing `w` with `quant` (the loss AWQ minimises).
double quantization_output_error(const torch::Tensor& w, const WeightQuantOptions& quant, const torch::Tensor& hessian,
                                 const std::string& name);

// The clipping search on one weight: returns `w` clamped per output row and quantization unit
// (channel and group strategies; a per-tensor scheme is returned unchanged).
torch::Tensor awq_clip(const torch::Tensor& w, const WeightQuantOptions& quant, const torch::Tensor& hessian,
                       const std::string& name, int64_t n_grid = 20, double max_shrink = 0.5);

}  // namespace compressor::passes
