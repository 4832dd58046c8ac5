#include "passes/quantization/awq_pass.h"

#include <algorithm>
#include <functional>

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"
#include "passes/quantization/awq.h"
#include "passes/quantization/module_objective.h"
#include "passes/quantization/scale_fold.h"
#include "passes/quantization/scheme_groups.h"

namespace compressor::passes {

namespace {

DuoScaling parse_duo(const std::string& s) {
  if (s == "false") return DuoScaling::off;
  if (s == "both") return DuoScaling::both;
  return DuoScaling::on;
}

bool is_query_or_key(const model::LinearSlot& s) {
  return s.role == model::TensorRole::AttnQ || s.role == model::TensorRole::AttnK ||
         s.role == model::TensorRole::AttnQKV;
}

class AwqPass final : public Pass {
 public:
  explicit AwqPass(const OptionValues& o)
      : groups_(o, "awq"),
        n_grid_(o.get_int("n_grid")),
        duo_(parse_duo(o.get_string("duo_scaling"))),
        clip_search_(o.get_bool("clip_search")),
        max_shrink_(o.get_float("max_shrink")),
        quantize_(o.get_bool("quantize")),
        module_objective_(o.get_string("objective") == "module"),
        objective_samples_(o.get_int("objective_samples")) {}
  std::string_view name() const override { return "awq"; }

  bool preserves_function() const override { return !quantize_; }  // scales alone are a fold
  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.abs_mean = true;
    r.hessian = true;
    r.range = quantize_ && groups_.has_static_activations();
    if (module_objective_) r.probe_samples = objective_samples_;
    return r;
  }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    groups_.check(slots, where, /*allow_actorder=*/false);
    if (duo_ == DuoScaling::both && n_grid_ < 4) {
      throw BadInput(where + ".n_grid", "duo_scaling both splits the grid in two halves of at least 2 points; n_grid " +
                                            std::to_string(n_grid_) + " is below 4");
    }
  }

  void compress_block(model::BlockView& block, const std::vector<model::LinearSlot*>& slots,
                      calibration::BlockStats& stats, Context&) override {
    const auto groups = groups_.parse("awq", /*allow_actorder=*/false);
    auto scheme_of = [&](const model::LinearSlot* s) -> std::optional<WeightQuantOptions> {
      if (std::find(slots.begin(), slots.end(), s) == slots.end()) return std::nullopt;
      const SchemeGroup* g = groups_.group_of(*s, groups, "awq");
      if (!g) return std::nullopt;
      return groups_.options_for(*g);
    };
    for (size_t gi = 0; gi < block.groups.size(); ++gi) {
      const auto& members = block.group_slots[gi];
      std::vector<AwqLinear> linears;
      bool any = false;
      for (auto* m : members) {
        linears.push_back({m->name, m->weight, scheme_of(m)});
        any = any || linears.back().quant.has_value();
      }
      if (!any) continue;
      const std::string target = fold_target(block, gi);
      if (target.empty()) {
        spdlog::debug("awq: {} has no scale fold that keeps the model's function; round to nearest only",
                      members.front()->name);
        continue;
      }
      if (const std::string stale = already_quantized(block, gi); !stale.empty()) {
        spdlog::warn("awq: {} is quantized already (an earlier stage); scaling it would move it off its grid, so "
                     "{} is not scaled",
                     stale, members.front()->name);
        continue;
      }
      auto& group_stats = stats.of(*members.front());
      const bool by_module = module_objective_ && stats.probe && ModuleOutputObjective::applies(block, gi);
      AwqSearchResult r;
      if (by_module) {
        ModuleOutputObjective objective(block, gi, *stats.probe);
        r = awq_search_scale(linears, group_stats.channel_abs_mean(), n_grid_, duo_, std::ref(objective),
                             objective.energy());
      } else {
        r = awq_search_scale(linears, group_stats.channel_abs_mean(), group_stats.hessian(), n_grid_, duo_);
      }
      fold_input_scale(block, gi, r.scale);
      group_stats.scale_inputs(r.scale);
      spdlog::debug("awq {} (fold into {}): ratio {:.3f}{}, relative {} error {:.4g} (round to nearest {:.4g})",
                    members.front()->name, target, r.best.ratio, r.best.duo ? " duo" : "",
                    by_module ? "module output" : "output", r.error, r.identity_error);
    }
    for (auto* s : slots) {
      const auto o = scheme_of(s);
      if (!o) continue;
      // Clipping picks the quantization range, so only a pass that quantizes clips: with
      // quantize false the weights stay float for the pass after it and this pass stays a fold.
      if (quantize_ && clip_search_ && !is_query_or_key(*s)) {
        s->set_weight(awq_clip(s->weight, *o, stats.of(*s).hessian(), s->name, n_grid_, max_shrink_));
      }
      if (!quantize_) continue;
      const SchemeGroup* g = groups_.group_of(*s, groups, "awq");
      auto q = quantize_weight(s->weight, *o, s->name);
      s->set_weight(formats::dequantize(q));
      s->quantized = std::move(q);
      attach_input_quant(*s, *g, &stats);
    }
  }

 private:
  // The name of a linear whose codes a fold into group `g` would invalidate, or empty.
  static std::string already_quantized(const model::BlockView& block, size_t g) {
    for (auto* m : block.group_slots[g]) {
      if (m->quantized) return m->name;
    }
    if (block.groups[g].fold_producer && !block.groups[g].fold_norm && block.group_producer[g] &&
        block.group_producer[g]->quantized) {
      return block.group_producer[g]->name;
    }
    return {};
  }

  SchemeGroups groups_;
  int64_t n_grid_;
  DuoScaling duo_;
  bool clip_search_;
  double max_shrink_;
  bool quantize_;
  bool module_objective_;
  int64_t objective_samples_;
};

}  // namespace

PassInfo awq_pass_info() {
  PassInfo info;
  info.name = "awq";
  info.summary = "AWQ: per-input-channel scales searched against the scheme's rounding error, folded into the norm or "
                 "linear before each group, then round to nearest (or a gptq after it)";
  info.options = scheme_group_options();
  info.options.push_back(int_option("n_grid", "grid points of the scale exponent search", 20, 2, 1000));
  info.options.push_back(choice_option("duo_scaling", "scales from activations and weights (true), activations only "
                                       "(false), or half the grid each (both)",
                                       {"true", "false", "both"}, std::string("true")));
  // On by default, as in the authors' AWQ: on SmolLM2 W4 g64 it gives 12.90 / 13.02 / 13.18 for
  // calibration seeds 0 / 1 / 2, without it (llm-compressor's method) 13.82 / 13.65 / 13.42, and
  // llm-compressor's AWQ 13.20 (seed 0) (docs/benchmarks.md, bench/awq_seeds.sh).
  info.options.push_back(bool_option("clip_search", "also search a clipping range per output row and group before "
                                     "rounding (the authors' auto_clip; llm-compressor's AWQ has none); only when "
                                     "quantize is true",
                                     true));
  info.options.push_back(float_option("max_shrink", "clip_search: the largest fraction of max |w| cut off", 0.5, 0.0,
                                      1.0, /*min_inclusive=*/false, /*max_inclusive=*/false));
  info.options.push_back(bool_option("quantize", "round the scaled weights to nearest with the scheme (false: leave "
                                     "them float for a gptq pass after this one in the stage)",
                                     true));
  // linears by default: on SmolLM2 W4 g64 the module objective measured 13.54 / 13.31 / 13.37 with
  // 16 / 64 / 128 sequences against 13.39 (docs/benchmarks.md), i.e. the same within the noise of
  // the grid choice, at 1x / 2.4x / 4.6x the wall time.
  info.options.push_back(choice_option("objective", "what a scale candidate is scored by: the group's own outputs "
                                       "over every calibration row, from its Hessian (linears), or the output of "
                                       "the attention or MLP module the group feeds, on objective_samples "
                                       "calibration sequences (module, as llm-compressor and the authors)",
                                       {"linears", "module"}, std::string("linears")));
  info.options.push_back(int_option("objective_samples", "objective module: calibration sequences the modules are "
                                    "run on per candidate",
                                    16, 1, 1 << 20));
  info.create = [](const OptionValues& o) { return std::make_unique<AwqPass>(o); };
  return info;
}

}  // namespace compressor::passes
