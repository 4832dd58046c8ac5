#include "passes/pruning/fisher_obs_pass.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "compressor/base/error.h"
#include "passes/pruning/fisher_obs.h"
#include "passes/pruning/mask.h"
#include "passes/pruning/mask_structure.h"

namespace compressor::passes {

namespace {

// Gradients held at once per chunk (all of a block's slots together) before they go into the
// Fisher: one batched product per chunk instead of one per sample.
constexpr int64_t kChunkBytes = int64_t{256} << 20;

// While alive, only `weights` of the model's parameters require gradients, so a backward pass
// stops at the lowest block that holds one of them and computes no other weight's gradient.
class GradientsOnly {
 public:
  GradientsOnly(model::Model& model, const std::vector<torch::Tensor>& weights) {
    for (auto& p : model.module().parameters()) {
      saved_.emplace_back(p, p.requires_grad());
      p.requires_grad_(false);
    }
    for (auto w : weights) w.requires_grad_(true);
  }
  ~GradientsOnly() {
    for (auto& [p, flag] : saved_) p.requires_grad_(flag);
  }
  GradientsOnly(const GradientsOnly&) = delete;
  GradientsOnly& operator=(const GradientsOnly&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, bool>> saved_;
};

class FisherObsPass final : public Pass {
 public:
  explicit FisherObsPass(const OptionValues& o)
      : sparsity_(o.get_float("sparsity")),
        structure_(o.get_string("mask_structure"), "obs.mask_structure"),
        num_grads_(o.get_int("num_grads")),
        block_size_(o.get_int("fisher_block_size")),
        dampening_frac_(o.get_float("dampening_frac")),
        update_(o.get_bool("update")),
        sequential_(o.get_bool("sequential")) {
    request_.kind = o.get_string("loss");
    request_.dataset = o.get_string("dataset");
  }
  std::string_view name() const override { return "obs"; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    structure_.check(sparsity_, slots, where);
  }

  std::optional<calibration::LossRequest> loss_request() const override { return request_; }

  void apply(model::Model& model, const std::vector<model::LinearSlot*>& slots, Context& ctx) override {
    if (slots.empty()) return;  // no gradient to take
    if (!ctx.loss) throw InternalError("obs", "the pipeline supplied no loss to differentiate");
    const auto& loss = *ctx.loss;
    const int64_t m = std::min(num_grads_, loss.size());
    if (m < num_grads_) {
      spdlog::warn("obs: num_grads is {}, but the {} has {} samples: the Fisher averages {}", num_grads_,
                   loss.describe(), loss.size(), m);
    }
    // The same m samples for every block, drawn from the seed.
    const auto order = torch::randperm(loss.size(), torch::Generator(at::detail::createCPUGenerator(ctx.seed)),
                                       torch::kInt64)
                           .narrow(0, 0, m);
    if (!sequential_) {  // one gradient pass for every slot, all from the model as the pass starts
      spdlog::info("obs: {} gradients of the {}, one Fisher for all {} layers (sequential: false)", m,
                   loss.describe(), slots.size());
      prune_block(model, kAllBlocks, slots, loss, order, ctx);
      return;
    }
    std::map<int, std::vector<model::LinearSlot*>> by_block;  // block -1 (outside the blocks) comes first
    for (auto* s : slots) by_block[s->block].push_back(s);
    spdlog::info("obs: {} gradients per block of the {}, Fisher blocks of {}", m, loss.describe(), block_size_);
    for (auto& [block, mine] : by_block) prune_block(model, block, mine, loss, order, ctx);
  }

 private:
  void prune_block(model::Model& model, int block, const std::vector<model::LinearSlot*>& slots,
                   const calibration::LossSource& loss, const torch::Tensor& order, Context& ctx) const {
    std::vector<BlockFisher> fisher;
    std::vector<torch::Tensor> weights;
    int64_t numel = 0;
    for (auto* s : slots) numel += s->weight.numel();
    // Staged gradients of all the block's slots together stay within kChunkBytes.
    const int64_t chunk = std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(1, numel * 4), 1, 64);
    for (auto* s : slots) {
      fisher.emplace_back(s->weight.numel(), block_size_, chunk);
      weights.push_back(s->weight);
    }
    const int64_t m = order.size(0);
    const auto start = std::chrono::steady_clock::now();
    const std::string label = block >= 0           ? "obs block " + std::to_string(block)
                              : block == kAllBlocks ? std::string("obs all layers")
                                                    : std::string("obs outside the blocks");
    {
      GradientsOnly only(model, weights);
      const auto* idx = order.data_ptr<int64_t>();
      for (int64_t i = 0; i < m; ++i) {
        auto l = loss.loss(model, idx[i]);
        const double value = l.item<double>();
        if (!std::isfinite(value)) {
          throw BadInput(where(block, slots), "the " + loss.describe() + " is " + (std::isnan(value) ? "NaN" : "Inf") +
                                                  " on sample " + std::to_string(idx[i]) +
                                                  ", so its gradients cannot estimate a Fisher");
        }
        auto grads = torch::autograd::grad({l}, weights, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                           /*create_graph=*/false, /*allow_unused=*/true);
        for (size_t j = 0; j < slots.size(); ++j) {
          if (!grads[j].defined()) {  // the loss does not reach this weight
            fisher[j].add(torch::zeros_like(weights[j]));
          } else if (slots[j]->mask.defined()) {  // a weight an earlier pass pruned stays zero: no gradient
            fisher[j].add(grads[j].mul(slots[j]->mask));
          } else {
            fisher[j].add(grads[j]);
          }
        }
        if (ctx.progress && (i + 1) % 16 == 0) ctx.progress(label, i + 1, m);
      }
      if (ctx.progress) ctx.progress(label, m, m);
    }
    const auto gathered = std::chrono::steady_clock::now();
    FisherObsOptions o;
    o.sparsity = sparsity_;
    o.structure = structure_.get();
    o.dampening_frac = dampening_frac_;
    o.update = update_;
    for (size_t j = 0; j < slots.size(); ++j) {
      auto* s = slots[j];
      auto r = fisher_obs_prune(s->weight, fisher[j], s->mask, o, s->name);
      spdlog::debug("obs {}: quadratic loss increase {:.4g}, λ {:.3g}", s->name, r.loss_increase, r.dampening);
      s->set_weight(r.weight);
      apply_keep_mask(*s, r.keep);
    }
    const auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    spdlog::info("obs {}: {} gradients in {:.1f}s, pruned in {:.1f}s", label, m, seconds(start, gathered),
                 seconds(gathered, std::chrono::steady_clock::now()));
  }

  // "block 3 (model.layers.3.self_attn.q_proj, ...)" for errors.
  static std::string where(int block, const std::vector<model::LinearSlot*>& slots) {
    const std::string first = slots.front()->name + (slots.size() > 1 ? ", ..." : "");
    return block >= 0 ? "block " + std::to_string(block) + " (" + first + ")" : first;
  }
  static constexpr int kAllBlocks = -2;  // prune_block's `block` for sequential: false

  double sparsity_;
  MaskStructureOption structure_;
  int64_t num_grads_, block_size_;
  double dampening_frac_;
  bool update_;
  bool sequential_;
  calibration::LossRequest request_;
};

}  // namespace

PassInfo fisher_obs_pass_info() {
  PassInfo info;
  info.name = "obs";
  info.summary = "Optimal BERT Surgeon: prune by second-order saliency from a block-diagonal empirical Fisher of the "
                 "loss's gradients, the kept weights of each block updated to compensate (needs a probe dataset "
                 "for an encoder, calibration for a causal LM)";
  info.options = {
      float_option("sparsity", "fraction of each layer's weights set to zero (unstructured)", 0.5, 0.0, 1.0, true,
                   false),
      string_option("mask_structure", "\"0:0\" unstructured, or \"N:M\": keep N of every M inputs (e.g. \"2:4\")",
                    std::string("0:0")),
      int_option("num_grads", "gradients (one per sample) the Fisher averages, m", 1024, 1),
      int_option("fisher_block_size", "weights per block of the block-diagonal Fisher, B (consecutive in each row)",
                 50, 1, 1024),
      float_option("dampening_frac", "λ = dampening_frac · mean(diag F) added to the Fisher; larger tends to magnitude "
                   "pruning",
                   0.01, 0.0, 1e6, /*min_inclusive=*/false),
      bool_option("update", "update the kept weights of each block to compensate (the OBS update); false: mask by "
                  "saliency only",
                  true),
      bool_option("sequential", "true: prune block by block, each from gradients taken with the earlier blocks pruned, "
                  "holding one block's Fisher; false: every layer from one pass of gradients of the model as the pass "
                  "starts (SparseML's one-shot; num_grads passes instead of one per block, all layers' Fisher held)",
                  true),
      choice_option("loss", "what is differentiated: auto (causal_lm for a causal LM, probe for an encoder), causal_lm "
                    "(next-token loss on the calibration samples) or probe (the probe task's cross-entropy on its "
                    "labelled train rows, with a probe fitted to the model as the pass starts)",
                    {"auto", "causal_lm", "probe"}, std::string("auto")),
      string_option("dataset", "the evaluate dataset (task probe) whose train file the probe loss uses; empty: the "
                    "only one",
                    std::string("")),
  };
  info.create = [](const OptionValues& o) { return std::make_unique<FisherObsPass>(o); };
  return info;
}

}  // namespace compressor::passes
