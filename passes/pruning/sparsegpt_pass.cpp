#include "passes/pruning/sparsegpt_pass.h"

#include <spdlog/spdlog.h>

#include "passes/obs/column_sweep.h"
#include "passes/pruning/mask.h"
#include "passes/pruning/mask_structure.h"
#include "passes/pruning/sparsegpt.h"

namespace compressor::passes {

namespace {

class SparseGptPass final : public Pass {
 public:
  explicit SparseGptPass(const OptionValues& o)
      : sparsity_(o.get_float("sparsity")),
        structure_(o.get_string("mask_structure"), "sparsegpt.mask_structure"),
        block_size_(o.get_int("block_size")),
        dampening_frac_(o.get_float("dampening_frac")),
        true_sequential_(o.get_bool("true_sequential")) {}
  std::string_view name() const override { return "sparsegpt"; }

  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.hessian = true;
    return r;
  }

  bool compresses_per_group() const override { return true_sequential_; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    structure_.check(sparsity_, slots, where);
  }

  void compress_block(model::BlockView&, const std::vector<model::LinearSlot*>& slots,
                      calibration::BlockStats& stats, Context&) override {
    SparseGptOptions o;
    o.sparsity = sparsity_;
    o.structure = structure_.get();
    o.block_size = block_size_;
    o.dampening_frac = dampening_frac_;
    for (auto* s : slots) {
      auto r = sparsegpt_prune(s->weight, stats.of(*s).hessian(), s->mask, o, s->name);
      spdlog::debug("sparsegpt {}: loss {:.4g}, dampening_frac {}, {} dead columns", s->name, r.loss, r.dampening_frac,
                    r.dead_columns);
      s->set_weight(r.weight);
      apply_keep_mask(*s, r.keep);
    }
  }

 private:
  double sparsity_;
  MaskStructureOption structure_;
  int64_t block_size_;
  double dampening_frac_;
  bool true_sequential_;
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
  info.create = [](const OptionValues& o) { return std::make_unique<SparseGptPass>(o); };
  return info;
}

}  // namespace compressor::passes
