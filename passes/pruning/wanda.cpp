#include "passes/pruning/wanda.h"

#include "passes/pruning/mask.h"
#include "passes/pruning/owl.h"

namespace compressor::passes {

namespace {

class WandaPass final : public Pass {
 public:
  explicit WandaPass(const OptionValues& o)
      : sparsity_(o.get_float("sparsity")),
        structure_(o.get_string("mask_structure"), "wanda.mask_structure"),
        layer_sparsity_(o, "wanda") {}
  std::string_view name() const override { return "wanda"; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    layer_sparsity_.check(structure_.check(sparsity_, slots, where).unstructured(), where);
  }

  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.channel_norms = true;
    return r;
  }
  calibration::Requirements dense_requirements() const override { return layer_sparsity_.dense_requirements(); }
  void prepare(const model::Model& model, const std::vector<model::LinearSlot*>& slots,
               const std::vector<calibration::BlockStats>& dense) override {
    layer_sparsity_.prepare(model, slots, dense);
  }

  void compress_block(model::BlockView& block, const std::vector<model::LinearSlot*>& slots,
                      calibration::BlockStats& stats, Context&) override {
    const double sparsity = layer_sparsity_.at(block.index);
    for (auto* s : slots) wanda_prune(*s, stats.of(*s).channel_norms(), sparsity, structure_.get());
  }

 private:
  double sparsity_;
  MaskStructureOption structure_;
  LayerSparsity layer_sparsity_;
};

}  // namespace

void wanda_prune(model::LinearSlot& slot, const torch::Tensor& channel_norms, double sparsity,
                 const MaskStructure& structure) {
  torch::NoGradGuard no_grad;
  const auto scores = slot.weight.detach().abs() * channel_norms.to(slot.weight.scalar_type()).unsqueeze(0);
  apply_keep_mask(slot, keep_by_score_per_row(scores, sparsity, structure));
}

PassInfo wanda_pass_info() {
  PassInfo info;
  info.name = "wanda";
  info.summary = "Wanda: prune by |weight| x input-channel norm within each output row (needs calibration)";
  info.options = {
      float_option("sparsity", "fraction of each row's weights set to zero (unstructured)", 0.5, 0.0, 1.0, true, false),
      string_option("mask_structure", "\"0:0\" unstructured, or \"N:M\": keep N of every M inputs (e.g. \"2:4\")",
                    std::string("0:0")),
  };
  for (auto& spec : LayerSparsity::options()) info.options.push_back(std::move(spec));
  info.create = [](const OptionValues& o) { return std::make_unique<WandaPass>(o); };
  return info;
}

}  // namespace compressor::passes
