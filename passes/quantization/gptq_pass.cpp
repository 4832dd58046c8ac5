#include "passes/quantization/gptq_pass.h"

#include <spdlog/spdlog.h>

#include "passes/obs/column_sweep.h"
#include "passes/quantization/gptq.h"
#include "passes/quantization/scheme_groups.h"

namespace compressor::passes {

namespace {

quant::ActOrder parse_actorder(const std::string& s) {
  if (s == "static") return quant::ActOrder::static_order;
  if (s == "weight") return quant::ActOrder::weight;
  if (s == "group") return quant::ActOrder::group;
  return quant::ActOrder::none;
}

class GptqPass final : public Pass {
 public:
  explicit GptqPass(const OptionValues& o)
      : groups_(o, "gptq"),
        block_size_(o.get_int("block_size")),
        dampening_frac_(o.get_float("dampening_frac")),
        actorder_(parse_actorder(o.get_string("actorder"))),
        static_groups_(o.get_bool("static_groups")),
        true_sequential_(o.get_bool("true_sequential")) {}
  std::string_view name() const override { return "gptq"; }

  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.hessian = true;
    r.range = groups_.has_static_activations();
    return r;
  }

  bool compresses_per_group() const override { return true_sequential_; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    groups_.check(slots, where, /*allow_actorder=*/true);
  }

  void compress_block(model::BlockView&, const std::vector<model::LinearSlot*>& slots,
                      calibration::BlockStats& stats, Context&) override {
    const auto groups = groups_.parse("gptq", /*allow_actorder=*/true);
    for (auto* s : slots) {
      const SchemeGroup* g = groups_.group_of(*s, groups, "gptq");
      if (!g) continue;
      GptqOptions o;
      o.quant = groups_.options_for(*g);
      // The scheme's own actorder wins; the pass's applies to schemes that name none.
      if (o.quant.args.actorder == quant::ActOrder::none) {
        o.quant.args.actorder = actorder_;
        // A scheme without groups (per channel or tensor) has no groups to order: the order alone applies.
        if (actorder_ == quant::ActOrder::group && o.quant.args.strategy != quant::Strategy::group) {
          o.quant.args.actorder = quant::ActOrder::static_order;
        }
      }
      o.block_size = block_size_;
      o.dampening_frac = dampening_frac_;
      o.static_groups = static_groups_;
      o.keep = s->mask;  // an earlier pruning's zeros stay zero (their error spread like the rest)
      auto r = gptq_quantize(s->weight, stats.of(*s).hessian(), o, s->name);
      spdlog::debug("gptq {}: loss {:.4g}, dampening_frac {}, {} dead columns", s->name, r.loss, r.dampening_frac,
                    r.dead_columns);
      s->set_weight(formats::dequantize(r.q));
      s->quantized = std::move(r.q);
      attach_input_quant(*s, *g, &stats);
    }
  }

 private:
  SchemeGroups groups_;
  int64_t block_size_;
  double dampening_frac_;
  quant::ActOrder actorder_;
  bool static_groups_;
  bool true_sequential_;
};

}  // namespace

PassInfo gptq_pass_info() {
  PassInfo info;
  info.name = "gptq";
  info.summary = "GPTQ weight quantization (error feedback through the inverse Hessian) with a compressed-tensors "
                 "scheme or config_groups";
  info.options = scheme_group_options();
  info.options.push_back(int_option("block_size", "columns per lazy-update block (aligned to the groups)", 128, 1));
  info.options.push_back(obs::dampening_frac_option());
  info.options.push_back(choice_option("actorder", "column order: static or weight (by decreasing Hessian diagonal, "
                                       "groups keep their columns), group (groups formed in that order: the weight "
                                       "stores weight_g_idx) or off; a scheme's own actorder wins",
                                       {"static", "weight", "group", "off"}, std::string("static")));
  info.options.push_back(bool_option("static_groups", "group scales from the original weight (llm-compressor) instead "
                                     "of from the columns as GPTQ reaches them (the paper); actorder and mse imply it",
                                     false));
  info.options.push_back(bool_option("true_sequential", "within a block, quantize q/k/v, o, gate/up, down in turn, "
                                     "each calibrated on inputs from the ones already quantized (GPTQ's "
                                     "--true-sequential, GPTQModel's default; one forward per block instead of two); "
                                     "false: every linear of a block calibrated on the dense block (llm-compressor)",
                                     true));
  info.create = [](const OptionValues& o) { return std::make_unique<GptqPass>(o); };
  return info;
}

}  // namespace compressor::passes
