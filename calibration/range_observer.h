// Range observers: they watch a 2-D tensor (a weight [out, in], or activations [tokens, in]) over
// one or more observe() calls and turn what they saw into the min/max ranges and integer qparams
// that quantization passes store. Methods, strategies and defaults are named as in llm-compressor
// and compressed-tensors, so a recipe written for those means the same thing here.
//
// The observer reduces and searches in float64, whatever the input dtype (bf16/f16 inputs are
// widened first): a range search in bf16 would round away the very differences it chooses between.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace compressor::calibration {

// How a range is estimated from what was observed.
enum class RangeMethod {
  minmax,         // running min and max over every observation
  moving_minmax,  // exponential moving average of each observation's min and max
  percentile,     // the p-th percentile per observation, averaged over observations
  mse,            // shrink of the min/max range that minimizes the quantization error (llm-compressor "mse")
  kl,             // TensorRT entropy calibration: the clip threshold minimizing KL(P‖Q) of the |x| histogram
};

// Which elements share one range (compressed-tensors' QuantizationStrategy).
enum class RangeStrategy {
  tensor,   // one range for the whole tensor
  channel,  // one per row (output channel of a weight)
  group,    // one per `group_size` consecutive columns of each row
  token,    // one per row (token), dynamic: only the last observe() counts
};

// Parse the recipe spelling ("minmax", "channel", ...); BadInput naming `where` and the choices.
RangeMethod parse_range_method(const std::string& s, const std::string& where = "range observer");
RangeStrategy parse_range_strategy(const std::string& s, const std::string& where = "range observer");
std::string to_string(RangeMethod m);
std::string to_string(RangeStrategy s);

struct RangeObserverOptions {
  RangeMethod method = RangeMethod::minmax;
  RangeStrategy strategy = RangeStrategy::tensor;
  int64_t group_size = 128;         // columns per group (strategy group only)
  bool symmetric = true;            // symmetric: zero_point 0 and the range ±max(|min|, |max|)
  int num_bits = 8;                 // integer grid [-2^(b-1), 2^(b-1)-1], 2..16 bits
  double averaging_constant = 0.01; // moving_minmax: weight of each new observation, in (0, 1]
  double percentile = 99.99;        // percentile: p in (0, 100]
  int mse_grid = 100;               // mse: shrink factors 1 - i/grid ...
  double mse_max_shrink = 0.8;      // ... for i in [0, int(max_shrink * grid)), max_shrink in (0, 1]
  double mse_norm = 2.4;            // mse: error Σ|q(x) - x|^norm, norm > 0
  int kl_bins = 2048;               // kl: histogram bins, at least 2^(num_bits-1)
};

// Validates every option up front, so a recipe fails at parse time rather than mid-calibration.
// BadInput at `where` (e.g. "recipe.yaml:12:3: calibration.percentile") naming the bad value and
// the allowed range.
void check_range_options(const RangeObserverOptions& o, const std::string& where);

// Min/max per reduction unit, float32. Shapes as compressed-tensors stores scales:
// tensor [1], channel and token [rows, 1], group [rows, cols / group_size].
struct Range {
  torch::Tensor min, max;
};

// Quantization parameters: scale float32, zero_point int32 (wide enough for 16 bits; packing
// narrows it), both in the shape of the Range.
struct QParams {
  torch::Tensor scale, zero_point;
};

// Integer grid of `num_bits` bits: qmin = -2^(b-1), qmax = 2^(b-1) - 1.
int64_t qmin_of(int num_bits);
int64_t qmax_of(int num_bits);

// compressed-tensors' calculate_qparams for integers. min is clamped to ≤ 0 and max to ≥ 0 (zero
// must be exact). Symmetric: scale = max(|min|, |max|) / ((qmax - qmin) / 2), zero_point 0.
// Asymmetric: scale = (max - min) / (qmax - qmin), zero_point = clamp(round(qmin - min / scale),
// qmin, qmax). A zero scale becomes float32 epsilon (torch.finfo(float32).eps) so that nothing
// divides by zero. Computes in float64; see QParams for the dtypes returned.
QParams compute_qparams(const torch::Tensor& min, const torch::Tensor& max, int num_bits, bool symmetric);

// Quantize-dequantize `x` [rows, cols] as compressed-tensors does: q = round(clamp(x / s + z, qmin,
// qmax)) (half to even, after adding z), then (q - z) · s, with `scale` and `zero_point` shaped
// as a Range of `strategy` (group: expanded over each group's columns). Computes in float64 when
// x is float64, else in float32, and returns that dtype. The MSE search uses it, and so can
// quantization passes that need the error of a candidate grid.
torch::Tensor fake_quantize(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& zero_point,
                            int num_bits, RangeStrategy strategy, int64_t group_size);

// Accumulates ranges over observe() calls. Across observations:
//   minmax         running min / max;
//   moving_minmax  the first observation sets r, each later one does r ← r + c·(batch − r);
//   percentile     the running mean of each observation's percentiles (a percentile of the
//                  union would need every value kept; the mean weighs each batch equally);
//   mse            the running mean of each observation's best shrunk range (llm-compressor
//                  moves an average instead; the mean does not depend on the batch order);
//   kl             one |x| histogram per unit accumulated over observations (re-binned exactly
//                  when a larger value arrives), searched when range() or qparams() is asked;
//                  asymmetric: separate histograms and searches for the positive and negative
//                  values, giving [-t_neg, t_pos];
// token strategy keeps only the last observation, whatever the method (dynamic per-token ranges).
// Ranges live on the observations' device, kl's on the CPU (its search is a scalar loop).
class RangeObserver {
 public:
  // `where` names what is observed (a tensor, a key path) in the errors this observer throws.
  explicit RangeObserver(RangeObserverOptions options, std::string where = "range observer");

  // x: [rows, cols] of any floating dtype. BadInput when x is not 2-D, has NaN/Inf, its width is
  // not a multiple of group_size (group), or its shape differs from earlier observations where the
  // strategy needs it fixed (channel: rows; group: rows and cols). An empty x is a no-op.
  void observe(const torch::Tensor& x);

  bool empty() const { return count_ == 0; }
  // InternalError when nothing was observed.
  Range range() const;
  QParams qparams() const;
  const RangeObserverOptions& options() const { return options_; }

 private:
  void observe_kl(const torch::Tensor& units);
  std::pair<torch::Tensor, torch::Tensor> range_f64() const;  // float64 [units] min and max

  RangeObserverOptions options_;
  std::string where_;
  int64_t count_ = 0;           // observations so far (token: only the last one counts)
  std::vector<int64_t> shape_;  // shape of the range
  torch::Tensor min_, max_;     // float64 [units]: the state of every method but kl
  // kl only: per half (0: |x|, or the positive values when asymmetric; 1: the negated negative
  // values) and unit, a histogram of kl_bins bins over (0, top]; range_observer.cpp says how
  // later, larger observations re-bin it.
  torch::Tensor hist_;  // float64 [halves, units, bins], on the CPU
  torch::Tensor top_;   // float64 [halves, units]; 0 until a positive value was seen
};

}  // namespace compressor::calibration
