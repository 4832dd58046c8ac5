#include "passes/quantization/rtn.h"

#include "passes/quantization/scheme_groups.h"
#include "passes/quantization/weight_quantizer.h"

namespace compressor::passes {

namespace {

class QuantizationPass final : public Pass {
 public:
  explicit QuantizationPass(const OptionValues& o) : groups_(o, "quantization") {}
  std::string_view name() const override { return "quantization"; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    groups_.check(slots, where, /*allow_actorder=*/false);
  }

  // Data-free, unless a group quantizes its inputs with static scales: those come from the input
  // ranges of a calibration sweep, inside which the weights are quantized block by block.
  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.range = groups_.has_static_activations();
    return r;
  }

  void apply(model::Model&, const std::vector<model::LinearSlot*>& slots, Context&) override { quantize(slots, nullptr); }

  void compress_block(model::BlockView&, const std::vector<model::LinearSlot*>& slots, calibration::BlockStats& stats,
                      Context&) override {
    quantize(slots, &stats);
  }

 private:
  void quantize(const std::vector<model::LinearSlot*>& slots, const calibration::BlockStats* stats) {
    const auto groups = groups_.parse("quantization", /*allow_actorder=*/false);
    for (auto* s : slots) {
      const SchemeGroup* g = groups_.group_of(*s, groups, "quantization");
      if (!g) continue;
      auto q = quantize_weight(s->weight, groups_.options_for(*g), s->name);
      s->set_weight(formats::dequantize(q));
      s->quantized = std::move(q);
      attach_input_quant(*s, *g, stats);
    }
  }

  SchemeGroups groups_;
};

}  // namespace

PassInfo quantization_pass_info() {
  PassInfo info;
  info.name = "quantization";
  info.summary = "round-to-nearest weight quantization with a compressed-tensors scheme (W4A16, W8A16, ...) or config_groups";
  info.options = scheme_group_options();
  info.create = [](const OptionValues& o) { return std::make_unique<QuantizationPass>(o); };
  return info;
}

}  // namespace compressor::passes
