#include "passes/pruning/magnitude.h"

#include <cstring>

#include "passes/pruning/mask.h"

namespace compressor::passes {

namespace {

// |w| as int32 bit patterns: for non-negative floats the integer order is the float order, so an
// exact k-th smallest can be found by bisection over integers without sorting a global copy.
torch::Tensor abs_bits(const torch::Tensor& w) { return w.detach().abs().contiguous().view(torch::kInt32); }

// Keep-mask pruning exactly `k` weights: all with |w| below the threshold bit pattern `t`, then
// the first `ties` (in row-major order) of those equal to it.
torch::Tensor keep_mask(const torch::Tensor& bits, int32_t t, int64_t ties) {
  auto prune = bits < t;
  if (ties > 0) {
    auto eq = (bits == t).reshape({-1});
    auto rank = eq.to(torch::kLong).cumsum(0);  // 1-based rank among equals
    prune.reshape({-1}).logical_or_(eq.logical_and(rank <= ties));
  }
  return prune.logical_not();
}

// Smallest bit pattern t with count(bits <= t) >= k, over a set of tensors.
int32_t kth_bits(const std::vector<torch::Tensor>& bits, int64_t k) {
  int64_t lo = 0, hi = 0x7f800000;  // +inf; weights are finite (checked at load)
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    int64_t count = 0;
    for (const auto& b : bits) count += (b <= static_cast<int32_t>(mid)).sum().item<int64_t>();
    if (count >= k) hi = mid; else lo = mid + 1;
  }
  return static_cast<int32_t>(lo);
}

class MagnitudePass final : public pipeline::Pass {
 public:
  explicit MagnitudePass(const recipe::OptionValues& o)
      : sparsity_(o.get_float("sparsity")), global_(o.get_string("scope") == "global") {}
  std::string_view name() const override { return "magnitude"; }
  void apply(model::Model&, const std::vector<model::LinearSlot*>& slots, pipeline::Context&) override {
    if (global_) {
      magnitude_prune_global(slots, sparsity_);
    } else {
      for (auto* s : slots) magnitude_prune_layer(*s, sparsity_);
    }
  }

 private:
  double sparsity_;
  bool global_;
};

}  // namespace

void magnitude_prune_layer(model::LinearSlot& slot, double sparsity) {
  magnitude_prune_global({&slot}, sparsity);
}

void magnitude_prune_global(const std::vector<model::LinearSlot*>& slots, double sparsity) {
  torch::NoGradGuard no_grad;
  int64_t total = 0;
  std::vector<torch::Tensor> bits;
  for (auto* s : slots) {
    bits.push_back(abs_bits(s->weight));
    total += s->weight.numel();
  }
  const int64_t k = prune_count(sparsity, total);
  if (k == 0) return;
  const int32_t t = kth_bits(bits, k);
  int64_t below = 0;
  for (const auto& b : bits) below += (b < t).sum().item<int64_t>();
  int64_t ties = k - below;  // how many weights equal to the threshold still go, in slot order
  for (size_t i = 0; i < slots.size(); ++i) {
    const int64_t eq = (bits[i] == t).sum().item<int64_t>();
    const int64_t take = std::min(ties, eq);
    apply_keep_mask(*slots[i], keep_mask(bits[i], t, take));
    ties -= take;
  }
}

pipeline::PassInfo magnitude_pass_info() {
  pipeline::PassInfo info;
  info.name = "magnitude";
  info.summary = "unstructured magnitude pruning, per layer or with one global threshold";
  info.options = {
      recipe::float_option("sparsity", "fraction of weights set to zero", std::nullopt, 0.0, 1.0, true, false),
      recipe::choice_option("scope", "layer: every slot reaches the sparsity; global: one threshold over all selected slots",
                            {"layer", "global"}, std::string("layer")),
  };
  info.create = [](const recipe::OptionValues& o) { return std::make_unique<MagnitudePass>(o); };
  return info;
}

}  // namespace compressor::passes
