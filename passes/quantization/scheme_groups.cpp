#include "passes/quantization/scheme_groups.h"

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"
#include "compressor/model/fake_quant.h"
#include "compressor/model/selection.h"
#include "compressor/quant/encoding.h"

namespace compressor::passes {

SchemeGroups::SchemeGroups(const OptionValues& o, std::string pass)
    : pass_(std::move(pass)),
      preset_(o.get_string("scheme")),
      config_groups_(o.get_mapping("config_groups")),
      observer_(o.get_string("observer")),
      scale_dtype_(quant::parse_scale_dtype(o.get_string("scale_dtype"), pass_ + ".scale_dtype")) {}

std::vector<SchemeGroup> SchemeGroups::parse(const std::string& where, bool allow_actorder) const {
  if (!preset_.empty() && !config_groups_.empty()) {
    throw BadInput(where, "give either scheme or config_groups, not both");
  }
  if (preset_.empty() && config_groups_.empty()) {
    throw BadInput(where, "needs a scheme (a preset such as W4A16) or config_groups");
  }
  std::vector<SchemeGroup> groups;
  if (!preset_.empty()) {
    groups.push_back({"scheme", quant::preset_scheme(preset_, {}, where + ".scheme")});
  } else {
    for (const auto& [name, j] : config_groups_.items()) {
      groups.push_back({name, quant::scheme_from_json(j, where + ".config_groups." + name)});
      if (groups.back().scheme.targets.empty()) {
        throw BadInput(where + ".config_groups." + name, "a config group needs targets");
      }
    }
  }
  for (const auto& g : groups) {
    const std::string at = where + (preset_.empty() ? ".config_groups." + g.name : ".scheme");
    if (!g.scheme.weights) throw BadInput(at, "only weight quantization is implemented (the scheme has no weights)");
    if (g.scheme.output_activations) throw BadInput(at + ".output_activations", "output activation quantization is not implemented");
    if (const auto& in = g.scheme.input_activations; in && !in->dynamic && in->strategy != quant::Strategy::tensor) {
      throw BadInput(at + ".input_activations", "static activation scales are per tensor (strategy: tensor); per " +
                                                    quant::to_string(in->strategy) + " needs dynamic: true");
    }
    if (!allow_actorder && g.scheme.weights->actorder != quant::ActOrder::none) {
      throw BadInput(at, "actorder orders GPTQ's columns; round-to-nearest has no order to choose");
    }
  }
  return groups;
}

bool SchemeGroups::matches(const model::LinearSlot& s, const SchemeGroup& g) const {
  if (g.scheme.targets.empty()) return true;  // a preset: the pass's own targets chose the slots
  for (const auto& t : g.scheme.targets) {
    if (model::slot_matches(s, t)) return true;
  }
  return false;
}

const SchemeGroup* SchemeGroups::group_of(const model::LinearSlot& s, const std::vector<SchemeGroup>& groups,
                                          const std::string& where) const {
  const SchemeGroup* found = nullptr;
  for (const auto& g : groups) {
    if (!matches(s, g)) continue;
    if (found) {
      throw BadInput(where, s.name + " is matched by both config_groups." + found->name + " and config_groups." + g.name);
    }
    found = &g;
  }
  return found;
}

WeightQuantOptions SchemeGroups::options_for(const SchemeGroup& g) const {
  WeightQuantOptions o;
  o.args = *g.scheme.weights;
  if (observer_ != "default") o.args.observer = observer_;
  o.scale_dtype = scale_dtype_;
  o.format = quant::format_of(g.scheme);
  o.input_activations = g.scheme.input_activations;
  return o;
}

void SchemeGroups::check(const std::vector<const model::LinearSlot*>& slots, const std::string& where,
                         bool allow_actorder) const {
  const auto groups = parse(where, allow_actorder);
  for (const auto* s : slots) {
    if (const SchemeGroup* g = group_of(*s, groups, where)) {
      const auto o = options_for(*g);
      quant::weight_layout(o.args, o.format, s->out_features(), s->in_features(), where + ": " + s->name);
    }
  }
  for (const auto& g : groups) {
    if (config_groups_.empty()) break;
    bool used = false;
    for (const auto* s : slots) used = used || matches(*s, g);
    if (!used) spdlog::warn("{}: config_groups.{} matches none of the pass's layers", where, g.name);
  }
}

bool SchemeGroups::has_static_activations() const {
  try {
    for (const auto& g : parse(pass_, /*allow_actorder=*/true)) {
      if (g.scheme.input_activations && !g.scheme.input_activations->dynamic) return true;
    }
  } catch (const BadInput&) {
    return false;  // check() reports it, at the recipe location
  }
  return false;
}

void attach_input_quant(model::LinearSlot& s, const SchemeGroup& g, const calibration::BlockStats* stats) {
  s.input_quant = g.scheme.input_activations;
  s.input_qparams.reset();
  if (!s.input_quant || s.input_quant->dynamic) return;
  if (!stats) throw InternalError(s.name, "a static input scheme outside the calibration sweep");
  const auto& gs = stats->of(s);
  if (!gs.min_value.defined() || !gs.max_value.defined()) throw InternalError(s.name, "input ranges were not collected");
  const float lo = gs.min_value.min().item<float>(), hi = gs.max_value.max().item<float>();
  s.input_qparams = model::static_input_qparams(*s.input_quant, lo, hi);
  if (s.quantized) s.quantized->input_qparams = s.input_qparams;
}

std::vector<OptionSpec> scheme_group_options() {
  return {
      string_option("scheme", "a preset: W4A16, W4A16_ASYM, W8A16, W3A16, W8A8, FP8_DYNAMIC, W4AFP8, ...", std::string("")),
      mapping_option("config_groups", "compressed-tensors config groups: name -> {targets, weights: {num_bits, "
                                      "type, symmetric, strategy, group_size, observer}}"),
      choice_option("observer", "how weight ranges are chosen: the args' own (default), minmax, or mse (clipping search)",
                    {"default", "minmax", "mse"}, std::string("default")),
      choice_option("scale_dtype", "dtype of the stored scales", {"float16", "bfloat16", "float32"},
                    std::string("float16")),
  };
}

}  // namespace compressor::passes
