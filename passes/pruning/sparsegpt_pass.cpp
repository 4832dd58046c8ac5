#include "passes/pruning/sparsegpt_pass.h"

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"
#include "formats/quantized_tensor.h"

#include "passes/obs/column_sweep.h"
#include "passes/pruning/mask.h"
#include "passes/pruning/mask_structure.h"
#include "passes/pruning/owl.h"
#include "passes/pruning/sparsegpt.h"
#include "passes/quantization/gptq.h"
#include "passes/quantization/scheme_groups.h"

namespace compressor::passes {

namespace {

class SparseGptPass final : public Pass {
 public:
  explicit SparseGptPass(const OptionValues& o)
      : sparsity_(o.get_float("sparsity")),
        structure_(o.get_string("mask_structure"), "sparsegpt.mask_structure"),
        block_size_(o.get_int("block_size")),
        dampening_frac_(o.get_float("dampening_frac")),
        true_sequential_(o.get_bool("true_sequential")),
        groups_(o, "sparsegpt"),
        layer_sparsity_(o, "sparsegpt") {}
  std::string_view name() const override { return "sparsegpt"; }

  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.hessian = true;
    r.range = !groups_.empty() && groups_.has_static_activations();
    return r;
  }

  bool compresses_per_group() const override { return true_sequential_; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    const auto structure = structure_.check(sparsity_, slots, where);
    layer_sparsity_.check(structure.unstructured(), where);
    if (groups_.empty()) return;
    groups_.check(slots, where, /*allow_actorder=*/true);
    for (const auto& g : groups_.parse(where, /*allow_actorder=*/true)) {
      if (!structure.unstructured() && g.scheme.weights->actorder != quant::ActOrder::none) {
        throw BadInput(where + (g.name == "scheme" ? ".scheme" : ".config_groups." + g.name),
                       "actorder reorders the columns, but mask_structure " + structure.str() +
                           " prunes adjacent ones; quantize while pruning N:M needs actorder off");
      }
    }
  }

  calibration::Requirements dense_requirements() const override { return layer_sparsity_.dense_requirements(); }
  void prepare(const model::Model& model, const std::vector<model::LinearSlot*>& slots,
               const std::vector<calibration::BlockStats>& dense) override {
    layer_sparsity_.prepare(model, slots, dense);
  }

  void compress_block(model::BlockView& block, const std::vector<model::LinearSlot*>& slots,
                      calibration::BlockStats& stats, Context&) override {
    SparseGptOptions o;
    o.sparsity = layer_sparsity_.at(block.index);
    o.structure = structure_.get();
    o.block_size = block_size_;
    o.dampening_frac = dampening_frac_;
    const auto groups = groups_.empty() ? std::vector<SchemeGroup>{} : groups_.parse("sparsegpt", true);
    for (auto* s : slots) {
      if (const SchemeGroup* g = groups_.empty() ? nullptr : groups_.group_of(*s, groups, "sparsegpt")) {
        prune_and_quantize(*s, *g, stats, o);
        continue;
      }
      auto r = sparsegpt_prune(s->weight, stats.of(*s).hessian(), s->mask, o, s->name);
      spdlog::debug("sparsegpt {}: loss {:.4g}, dampening_frac {}, {} dead columns", s->name, r.loss, r.dampening_frac,
                    r.dead_columns);
      s->set_weight(r.weight);
      apply_keep_mask(*s, r.keep);
    }
  }

 private:
  // The paper's joint mode: one sweep prunes and quantizes (GPTQ's sweep with this pass's mask).
  void prune_and_quantize(model::LinearSlot& s, const SchemeGroup& g, calibration::BlockStats& stats,
                          const SparseGptOptions& so) const {
    GptqOptions o;
    o.quant = groups_.options_for(g);
    o.block_size = so.block_size;
    o.dampening_frac = so.dampening_frac;
    o.prune = obs::MaskOptions{so.sparsity, so.structure};
    o.keep = s.mask;
    auto r = gptq_quantize(s.weight, stats.of(s).hessian(), o, s.name);
    spdlog::debug("sparsegpt {} (quantizing): loss {:.4g}, dampening_frac {}, {} dead columns", s.name, r.loss,
                  r.dampening_frac, r.dead_columns);
    s.set_weight(formats::dequantize(r.q));
    apply_keep_mask(s, r.keep);  // the weights are zero there already; this records the mask
    s.quantized = std::move(r.q);
    attach_input_quant(s, g, &stats);
  }

  double sparsity_;
  MaskStructureOption structure_;
  int64_t block_size_;
  double dampening_frac_;
  bool true_sequential_;
  SchemeGroups groups_;
  LayerSparsity layer_sparsity_;
};

}  // namespace

PassInfo sparsegpt_pass_info() {
  PassInfo info;
  info.name = "sparsegpt";
  info.summary = "SparseGPT: prune column by column, the remaining weights updated through the inverse Hessian so "
                 "the layer's outputs change least (needs calibration)";
  info.options = {
      float_option("sparsity", "fraction of weights set to zero (unstructured; chosen per block of columns)", 0.5, 0.0,
                   1.0, true, false),
      string_option("mask_structure", "\"0:0\" unstructured, or \"N:M\": keep N of every M inputs (e.g. \"2:4\")",
                    std::string("0:0")),
      int_option("block_size", "columns per lazy-update block and per unstructured mask decision", 128, 1),
      obs::dampening_frac_option(),
      bool_option("true_sequential", "within a block, prune q/k/v, o, gate/up, down in turn, each calibrated on inputs "
                  "from the ones already pruned; false: every linear of a block calibrated on the dense block "
                  "(llm-compressor)",
                  true),
  };
  for (auto& spec : LayerSparsity::options()) info.options.push_back(std::move(spec));
  // Optional: quantize in the same sweep (the paper's joint mode); without them the pass only prunes.
  for (auto spec : scheme_group_options()) {
    if (spec.key == "scheme") spec.help = "quantize while pruning, in the same sweep: " + spec.help +
                                                  " (empty: prune only)";
    info.options.push_back(std::move(spec));
  }
  info.create = [](const OptionValues& o) { return std::make_unique<SparseGptPass>(o); };
  return info;
}

}  // namespace compressor::passes
