#include "passes/quantization/smoothquant.h"

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"
#include "passes/quantization/scale_fold.h"

namespace compressor::passes {

namespace {

// Below this a scale would blow the norm's weight up; llm-compressor uses the same floor.
constexpr double kMinimumScale = 1e-5;

class SmoothQuantPass final : public Pass {
 public:
  explicit SmoothQuantPass(const OptionValues& o) : alpha_(o.get_float("smoothing_strength")) {}
  std::string_view name() const override { return "smoothquant"; }

  bool preserves_function() const override { return true; }  // a fold, tested to leave outputs as they were
  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.abs_max = true;
    return r;
  }

  void compress_block(model::BlockView& block, const std::vector<model::LinearSlot*>& slots,
                      calibration::BlockStats& stats, Context&) override {
    for (size_t gi = 0; gi < block.groups.size(); ++gi) {
      model::NormSlot* norm = block.group_norm[gi];
      const auto& members = block.group_slots[gi];
      if (!norm || members.empty()) continue;  // fed by a linear (v -> o, up -> down): no norm to fold into
      size_t selected = 0;
      for (auto* m : members) selected += std::count(slots.begin(), slots.end(), m);
      if (selected == 0) continue;
      if (!block.groups[gi].fold_norm) {
        spdlog::warn("smoothquant: {} also feeds the residual stream (a post-norm block), so scales folded into it "
                     "would change the model; {} not smoothed",
                     norm->name, members.front()->name);
        continue;
      }
      if (selected != members.size()) {
        spdlog::warn("smoothquant: {} reads {} together with layers outside the pass's targets; not smoothed "
                     "(smoothing changes the input of every reader)", members.front()->name, norm->name);
        continue;
      }
      auto& group_stats = stats.of(*members.front());
      const auto scale = smoothing_scales(members, group_stats.abs_max, alpha_, norm->name);
      fold_input_scale(block, gi, scale);
      group_stats.scale_inputs(scale);  // a GPTQ after it in this sweep sees the smoothed inputs
    }
  }

 private:
  double alpha_;
};

}  // namespace

torch::Tensor smoothing_scales(const std::vector<model::LinearSlot*>& linears, const torch::Tensor& act_max, double alpha,
                               const std::string& where) {
  torch::NoGradGuard no_grad;
  if (linears.empty() || !act_max.defined() || act_max.numel() != linears.front()->in_features()) {
    throw InternalError(where, "smoothquant needs max |x| per input channel of the group");
  }
  auto w_max = torch::zeros_like(act_max, torch::kFloat32);
  for (auto* s : linears) w_max = torch::maximum(w_max, std::get<0>(s->weight.detach().abs().max(0)));
  const auto act = act_max.to(torch::kFloat32);
  auto scale = act.pow(alpha) / w_max.pow(1 - alpha);
  scale = torch::where(w_max > 0, scale, act).clamp_min(kMinimumScale);
  // A channel the calibration never excited (max |x| = 0) keeps its scale at 1: nothing to move.
  scale = torch::where(act > 0, scale, torch::ones_like(scale));
  if (!torch::isfinite(scale).all().item<bool>()) throw BadInput(where, "smoothing scales are not finite");
  return scale;
}

PassInfo smoothquant_pass_info() {
  PassInfo info;
  info.name = "smoothquant";
  info.summary = "SmoothQuant: per-channel scales s = max|X|^α / max|W|^(1-α) folded from the norms into the linears "
                 "they feed (before W8A8)";
  info.options = {float_option("smoothing_strength", "α: 0 leaves activations alone, 1 moves all their range into the weights",
                               0.5, 0.0, 1.0)};
  info.create = [](const OptionValues& o) { return std::make_unique<SmoothQuantPass>(o); };
  return info;
}

}  // namespace compressor::passes
