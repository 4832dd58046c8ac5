#include "passes/pruning/structured_pass.h"

#include <cmath>
#include <set>

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"
#include "passes/obs/column_sweep.h"
#include "passes/pruning/structured.h"

namespace compressor::passes {

namespace {

std::string fmt_fraction(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", f);
  return buf;
}

// How many of `n` a fraction removes, refused where it removes none or all of them.
int64_t removed_count(double fraction, int64_t n, const std::string& what, const std::string& where) {
  const auto k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (k == 0) {
    throw BadInput(where, fmt_fraction(fraction) + " of " + std::to_string(n) + " " + what +
                              " per block rounds to none; the smallest step is " + fmt_fraction(1.0 / n));
  }
  if (k >= n) {
    throw BadInput(where, fmt_fraction(fraction) + " of " + std::to_string(n) + " " + what +
                              " per block would remove every one of them");
  }
  return k;
}

class StructuredPass final : public Pass {
 public:
  explicit StructuredPass(const OptionValues& o)
      : heads_(o.get_float("heads")),
        neurons_(o.get_float("neurons")),
        update_(o.get_bool("update")),
        dampening_frac_(o.get_float("dampening_frac")) {}
  std::string_view name() const override { return "structured"; }

  calibration::Requirements requirements() const override {
    calibration::Requirements r;
    r.hessian = true;
    return r;
  }
  bool changes_shapes() const override { return true; }

  void check(const model::Model& model, const std::vector<const model::LinearSlot*>& slots,
             const std::string& where) const override {
    where_ = where;
    if (heads_ == 0 && neurons_ == 0) {
      throw BadInput(where, "removes nothing: set heads, neurons or both to the fraction to remove from every block");
    }
    const std::set<const model::LinearSlot*> bound(slots.begin(), slots.end());
    // Every block must shrink alike, so every linear that shrinks must be a target.
    auto require_targets = [&](const std::vector<std::string>& groups, const std::string& what) {
      for (int b = 0; b < model.num_blocks(); ++b) {
        for (const auto& g : groups) {
          for (size_t s : model.group_named(b, g).slots) {
            const auto& slot = model.slots().at(s);
            if (bound.count(&slot) == 0) {
              throw BadInput(where + ".targets", "removing " + what + " resizes '" + slot.name +
                                                     "', which is not a target; every block loses the same number "
                                                     "(config.json holds one count), so target every block's linears");
            }
          }
        }
      }
    };
    if (heads_ > 0) {
      const auto why = model.head_removal_unsupported();
      if (!why.empty()) throw BadInput(where + ".heads", model.architecture() + ": " + why);
      require_targets({"attn_in", "attn_out"}, "heads");
      const auto a = model.attention_heads(0);
      const int64_t k = removed_count(heads_, a.heads, "attention heads", where + ".heads");
      const int64_t per_kv = a.heads / a.kv_heads;
      if (per_kv > 1 && k % a.kv_heads != 0) {
        const int64_t lo = k / a.kv_heads * a.kv_heads, hi = lo + a.kv_heads;
        std::string options;
        if (lo > 0) options += fmt_fraction(static_cast<double>(lo) / a.heads) + " (" + std::to_string(lo) + ")";
        if (hi < a.heads) {
          options += std::string(options.empty() ? "" : " or ") + fmt_fraction(static_cast<double>(hi) / a.heads) + " (" +
                     std::to_string(hi) + ")";
        }
        throw BadInput(where + ".heads",
                       "removing " + std::to_string(k) + " of " + std::to_string(a.heads) +
                           " query heads would break a grouped-query attention group: " + std::to_string(a.kv_heads) +
                           " key/value heads each serve " + std::to_string(per_kv) +
                           ", and every group must keep the same number" +
                           (options.empty() ? std::string() : "; use " + options));
      }
    }
    if (neurons_ > 0) {
      require_targets({"mlp_in", "mlp_out"}, "neurons");
      removed_count(neurons_, model.mlp_neurons(0), "MLP neurons", where + ".neurons");
    }
  }

  void compress_block(model::BlockView& block, const std::vector<model::LinearSlot*>&, calibration::BlockStats& stats,
                      Context&) override {
    auto& model = *block.model;
    const int b = block.index;
    if (heads_ > 0) {
      const auto a = model.attention_heads(b);
      const int64_t k = static_cast<int64_t>(std::llround(heads_ * static_cast<double>(a.heads)));
      StructuredOptions o;
      o.width = a.head_dim;
      // Grouped-query attention: as many from every key/value group; plain multi-head: one group.
      o.groups = a.heads / a.kv_heads > 1 ? a.kv_heads : 1;
      o.remove_per_group = k / o.groups;
      const auto removed = remove(model, stats, b, "attn_out", o);
      model.remove_heads(b, removed);
    }
    if (neurons_ > 0) {
      const int64_t n = model.mlp_neurons(b);
      StructuredOptions o;
      o.width = 1;
      o.groups = 1;
      o.remove_per_group = static_cast<int64_t>(std::llround(neurons_ * static_cast<double>(n)));
      const auto removed = remove(model, stats, b, "mlp_out", o);
      model.remove_neurons(b, removed);
    }
  }

 private:
  // Scores the structures at the input of group `group`'s linear, refits it (update), and leaves
  // the group's statistics on the kept inputs only. Returns the structures to remove.
  std::vector<int64_t> remove(model::Model& model, calibration::BlockStats& stats, int b, const std::string& group,
                              StructuredOptions o) const {
    const auto& g = model.group_named(b, group);
    if (g.slots.size() != 1) throw InternalError(group, "structured pruning expects one linear reading it");
    auto& slot = model.slots().at(g.slots.front());
    if (slot.quantized) {
      throw BadInput(where_, "'" + slot.name + "' is already quantized; remove heads and neurons before quantizing");
    }
    o.update = update_;
    o.dampening_frac = dampening_frac_;
    auto& gs = stats.of(slot);
    auto r = select_structures(slot.weight, gs.hessian(), o, slot.name);
    spdlog::debug("structured {}: removed {} of {} {} (cost {:.4g})", slot.name, r.removed.size(),
                  slot.in_features() / o.width, o.width == 1 ? "neurons" : "heads", r.loss);
    slot.set_weight(r.weight);
    std::vector<char> gone(static_cast<size_t>(slot.in_features() / o.width), 0);
    for (int64_t s : r.removed) gone[static_cast<size_t>(s)] = 1;
    std::vector<int64_t> keep;
    for (int64_t c = 0; c < slot.in_features(); ++c) {
      if (!gone[static_cast<size_t>(c / o.width)]) keep.push_back(c);
    }
    gs.keep_inputs(torch::tensor(keep, torch::kInt64));
    return r.removed;
  }

  double heads_, neurons_;
  bool update_;
  double dampening_frac_;
  mutable std::string where_;
};

}  // namespace

PassInfo structured_pass_info() {
  PassInfo info;
  info.name = "structured";
  info.summary = "structured pruning: remove whole attention heads and MLP neurons from every block, physically "
                 "(smaller matrices, config.json updated), scored on calibration inputs (needs calibration)";
  info.options = {
      float_option("heads", "fraction of each block's attention (query) heads to remove; with grouped-query "
                   "attention, as many from every key/value group", 0.0, 0.0, 1.0, true, false),
      float_option("neurons", "fraction of each block's MLP neurons (intermediate channels) to remove", 0.0, 0.0, 1.0,
                   true, false),
      bool_option("update", "refit the output projection (o_proj, down_proj) to what the removed heads and neurons "
                  "did, by least squares on the calibration inputs, and score each by the error left after the refit "
                  "(structured OBS); false: score by output energy and leave the other weights as they are",
                  true),
      obs::dampening_frac_option(),
  };
  info.create = [](const OptionValues& o) { return std::make_unique<StructuredPass>(o); };
  return info;
}

}  // namespace compressor::passes
