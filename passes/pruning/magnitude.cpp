#include "passes/pruning/magnitude.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>

#include "compressor/base/error.h"
#include "passes/pruning/mask.h"

namespace compressor::passes {

namespace {

// |w| as its float bit pattern with the sign cleared: for non-negative floats the integer order is
// the float order, so order statistics can be taken over integers.
uint32_t abs_bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u & 0x7fffffffu;
}

// The same for a whole tensor, as int32 (finite |w| stays below 0x7f800000): one slot's working set.
torch::Tensor abs_bits(const torch::Tensor& w) { return w.detach().abs().contiguous().view(torch::kInt32); }

using Histogram = std::vector<int64_t>;  // 65536 bins

// Counts of |w| bit patterns over every slot, read in place (no copy of the weights): binned by
// their top 16 bits when `top` < 0, else only those whose top 16 bits equal `top`, binned by their
// low 16 bits. Threads fill private histograms that are summed at the end.
Histogram histogram(const std::vector<model::LinearSlot*>& slots, int64_t top) {
  std::vector<Histogram> partial(static_cast<size_t>(at::get_num_threads()), Histogram(65536, 0));
  for (auto* s : slots) {
    const torch::Tensor w = s->weight.detach().contiguous();  // the slot itself unless strided
    const float* p = w.data_ptr<float>();
    at::parallel_for(0, w.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
      auto& h = partial[static_cast<size_t>(at::get_thread_num())];
      if (top < 0) {
        for (int64_t i = begin; i < end; ++i) ++h[abs_bits(p[i]) >> 16];
      } else {
        for (int64_t i = begin; i < end; ++i) {
          const uint32_t u = abs_bits(p[i]);
          if ((u >> 16) == static_cast<uint32_t>(top)) ++h[u & 0xffffu];
        }
      }
    });
  }
  for (size_t t = 1; t < partial.size(); ++t) {
    for (size_t b = 0; b < 65536; ++b) partial[0][b] += partial[t][b];
  }
  return std::move(partial[0]);
}

struct Threshold {
  int32_t bits;   // smallest t with count(|w| bits <= t) >= k
  int64_t below;  // count(|w| bits < t)
};

// The k-th smallest |w| over all slots (1 <= k <= their size) by radix select: one pass over the
// weights bins them by the top 16 bits of |w|, a second bins the chosen bin by the low 16 bits.
// Two reads of the weights and no copy, where sorting or bisection would copy or read 31 times.
Threshold kth_smallest(const std::vector<model::LinearSlot*>& slots, int64_t k) {
  const Histogram high = histogram(slots, -1);
  int64_t below = 0;
  uint32_t hi = 0;
  while (below + high[hi] < k) below += high[hi++];
  const Histogram low = histogram(slots, hi);
  uint32_t lo = 0;
  while (below + low[lo] < k) below += low[lo++];
  return {static_cast<int32_t>((hi << 16) | lo), below};
}

// Keep-mask pruning exactly the weights with |w| below the threshold bit pattern `t`, then the
// first `ties` (in row-major order) of those equal to it.
torch::Tensor keep_mask(const torch::Tensor& bits, int32_t t, int64_t ties) {
  auto prune = bits < t;
  if (ties > 0) {
    auto eq = (bits == t).reshape({-1});
    auto rank = eq.to(torch::kLong).cumsum(0);  // 1-based rank among equals
    prune.reshape({-1}).logical_or_(eq.logical_and(rank <= ties));
  }
  return prune.logical_not();
}

class MagnitudePass final : public Pass {
 public:
  explicit MagnitudePass(const OptionValues& o)
      : sparsity_(o.get_float("sparsity")),
        global_(o.get_string("scope") == "global"),
        structure_(o.get_string("mask_structure"), "magnitude.mask_structure") {}
  std::string_view name() const override { return "magnitude"; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    const MaskStructure structure = structure_.check(sparsity_, slots, where);
    if (global_ && !structure.unstructured()) {
      throw BadInput(where + ".scope", "scope global ranks weights across layers; mask_structure " + structure.str() +
                                           " ranks them within groups of " + std::to_string(structure.m) +
                                           ": choose one");
    }
  }

  void apply(model::Model&, const std::vector<model::LinearSlot*>& slots, Context&) override {
    if (!structure_.get().unstructured()) {
      for (auto* s : slots) magnitude_prune_nm(*s, structure_.get());
    } else if (global_) {
      magnitude_prune_global(slots, sparsity_);
    } else {
      for (auto* s : slots) magnitude_prune_layer(*s, sparsity_);
    }
  }

 private:
  double sparsity_;
  bool global_;
  MaskStructureOption structure_;
};

}  // namespace

void magnitude_prune_layer(model::LinearSlot& slot, double sparsity) {
  magnitude_prune_global({&slot}, sparsity);
}

void magnitude_prune_global(const std::vector<model::LinearSlot*>& slots, double sparsity) {
  torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (auto* s : slots) {
    TORCH_CHECK(s->weight.scalar_type() == torch::kFloat32, "magnitude: slot ", s->name, " is not float32");
    total += s->weight.numel();
  }
  const int64_t k = prune_count(sparsity, total);
  if (k == 0) return;
  const Threshold t = kth_smallest(slots, k);
  int64_t ties = k - t.below;  // how many weights equal to the threshold still go, in slot order
  for (auto* s : slots) {
    const torch::Tensor bits = abs_bits(s->weight);
    const int64_t take = ties > 0 ? std::min(ties, (bits == t.bits).sum().item<int64_t>()) : 0;
    apply_keep_mask(*s, keep_mask(bits, t.bits, take));
    ties -= take;
  }
}

void magnitude_prune_nm(model::LinearSlot& slot, const MaskStructure& structure) {
  torch::NoGradGuard no_grad;
  if (structure.unstructured() || slot.in_features() % structure.m != 0) {
    throw BadInput(slot.name, "cannot apply " + structure.str() + " to width " + std::to_string(slot.in_features()));
  }
  apply_keep_mask(slot, keep_by_score_per_row(slot.weight.detach().abs(), 0.0, structure));
}

PassInfo magnitude_pass_info() {
  PassInfo info;
  info.name = "magnitude";
  info.summary = "magnitude pruning: unstructured per layer or with one global threshold, or N:M (mask_structure)";
  info.options = {
      float_option("sparsity", "fraction of weights set to zero (unstructured)", 0.5, 0.0, 1.0, true, false),
      choice_option("scope", "layer: every slot reaches the sparsity; global: one threshold over all selected slots",
                            {"layer", "global"}, std::string("layer")),
      string_option("mask_structure", "\"0:0\" unstructured, or \"N:M\": keep the N largest of every M inputs (e.g. \"2:4\")",
                    std::string("0:0")),
  };
  info.create = [](const OptionValues& o) { return std::make_unique<MagnitudePass>(o); };
  return info;
}

}  // namespace compressor::passes
