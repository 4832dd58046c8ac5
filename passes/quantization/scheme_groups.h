// The weight schemes a quantization pass (round to nearest, GPTQ) applies, from its options: a
// `scheme` preset for the pass's own targets, or `config_groups` (name -> compressed-tensors
// scheme with its own targets: mixed precision). Shared so every quantization pass reads the same
// keys with the same errors.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibration/statistics.h"
#include "compressor/model/model.h"
#include "compressor/quant/scheme.h"
#include "passes/options.h"
#include "passes/quantization/weight_quantizer.h"

namespace compressor::passes {

struct SchemeGroup {
  std::string name;  // the config_groups key, or "scheme" for a preset
  quant::QuantScheme scheme;
};

class SchemeGroups {
 public:
  // Reads `scheme`, `config_groups`, `observer` and `scale_dtype` from the pass's options.
  // `pass` names the pass in messages ("quantization", "gptq").
  SchemeGroups(const OptionValues& o, std::string pass);

  // The groups, validated; BadInput at `where` for a missing, doubled or unsupported scheme.
  // `allow_actorder`: whether the weights' actorder means anything to this pass.
  std::vector<SchemeGroup> parse(const std::string& where, bool allow_actorder) const;
  // The group that quantizes `s` (nullptr: none); BadInput when two groups match it.
  const SchemeGroup* group_of(const model::LinearSlot& s, const std::vector<SchemeGroup>& groups,
                              const std::string& where) const;
  WeightQuantOptions options_for(const SchemeGroup& g) const;
  // Whether neither `scheme` nor `config_groups` was given (a pass where quantizing is optional).
  bool empty() const { return preset_.empty() && config_groups_.empty(); }
  // Whether a group quantizes its inputs with static (calibrated) scales: the pass then needs the
  // input ranges of the calibration sweep (Requirements::range).
  bool has_static_activations() const;
  // Checks every slot's width against its group and warns about a group that matches none.
  void check(const std::vector<const model::LinearSlot*>& slots, const std::string& where, bool allow_actorder) const;

 private:
  bool matches(const model::LinearSlot& s, const SchemeGroup& g) const;

  std::string pass_;
  std::string preset_;
  nlohmann::json config_groups_;
  std::string observer_;
  quant::ScaleDtype scale_dtype_;
};

// Gives `s` the input scheme of `g`: dynamic as it is; static with the per-tensor scale (and zero
// point) of the input range over the calibration rows in `stats` (the exact min and max:
// compressed-tensors' static_minmax), also recorded on s.quantized for the artifact. Call after
// s.quantized is set.
void attach_input_quant(model::LinearSlot& s, const SchemeGroup& g, const calibration::BlockStats* stats);

// The option declarations SchemeGroups reads, for a pass's PassInfo.
std::vector<OptionSpec> scheme_group_options();

}  // namespace compressor::passes
