#include "compressor/cli/validate.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "calibration/dataset.h"
#include "calibration/tokenizer_for.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/base/progress.h"
#include "compressor/cli/output_file.h"
#include "compressor/cli/window_flags.h"
#include "compressor/eval/gate.h"
#include "compressor/eval/perplexity.h"
#include "compressor/eval/runtime_agreement.h"
#include "compressor/model/architecture.h"
#include "compressor/recipe/gate_reader.h"
#include "compressor/runtime/decoder.h"
#include "formats/artifact.h"

namespace compressor::cli {

namespace fs = std::filesystem;

namespace {

// The recipe dataset --text is (same file, or same file name: the recipe's paths are those of the
// machine that compressed), so its name, windows and byte limit are the ones the gate was set on.
const recipe::DatasetSpec* matching_dataset(const recipe::StoredGate& gate, const fs::path& text) {
  std::error_code ec;
  const auto canonical = fs::weakly_canonical(text, ec);
  for (const auto& d : gate.datasets) {
    if (d.task == "perplexity" && !ec && fs::weakly_canonical(d.path, ec) == canonical) return &d;
  }
  for (const auto& d : gate.datasets) {
    if (d.task == "perplexity" && d.path.filename() == text.filename()) return &d;
  }
  return nullptr;
}

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

nlohmann::json perplexity_json(const eval::PerplexityResult& r) {
  return {{"perplexity", r.perplexity()}, {"bits_per_byte", r.bits_per_byte()}, {"nll_sum", r.nll_sum}, {"tokens", r.tokens}};
}

}  // namespace

int validate_artifact(const ValidateArgs& args) {
  fs::path dir = args.artifact;
  if (dir.filename().empty()) dir = dir.parent_path();
  if (!args.json.empty()) check_output_file(args.json, "--json");

  // The gate and datasets of the recipe the artifact was made with (none for a plain checkpoint).
  recipe::StoredGate stored;
  if (formats::has_manifest(dir)) {
    const auto manifest = formats::read_manifest(dir);
    if (manifest.contains("recipe") && manifest["recipe"].is_string()) {
      stored = recipe::read_stored_gate(manifest["recipe"].get<std::string>(),
                                        formats::artifact_weights_file(dir).string() + " (manifest recipe)");
    }
  }
  const auto flag_rules = recipe::read_gate_flags(args.max_drop);
  const std::vector<eval::GateRule>& rules = args.max_drop.empty() ? stored.rules : flag_rules;
  const fs::path text = args.text;
  const auto* dataset = matching_dataset(stored, text);
  const std::string name = dataset ? dataset->name : text.stem().string();

  auto runtime_model = runtime::Decoder::load(dir);  // verifies the manifest and every checksum
  const auto& cfg = runtime_model->config();
  const auto [seq_len, stride] = window_flags(args.seq_len, args.stride,
                                              dataset ? dataset->seq_len : std::min<int64_t>(256, cfg.max_positions),
                                              dataset ? dataset->stride : 0, cfg.max_positions);
  const int64_t max_bytes = args.max_bytes >= 0 ? args.max_bytes : dataset ? dataset->max_bytes : 0;

  auto tok = calibration::tokenizer_for(cfg.vocab_size, dir);
  int64_t bytes = 0;
  const auto ids = calibration::load_text_tokens(text, *tok, max_bytes, "--text", &bytes);
  const auto ids32 = ids.to(torch::kInt32).contiguous();
  const std::vector<int32_t> tokens(ids32.data_ptr<int32_t>(), ids32.data_ptr<int32_t>() + ids32.numel());

  // The baseline first and freed before the artifact's two engines load.
  eval::PerplexityResult baseline;
  eval::EngineComparison cmp;
  std::unique_ptr<model::Model> torch_model;
  {
    base::ProgressBar bar;
    const fs::path base_dir = args.baseline;
    if (formats::has_manifest(base_dir)) formats::verify_artifact(base_dir);
    auto base_model = model::load_model(base_dir);
    if (base_model->vocab_size() != cfg.vocab_size) {
      throw BadInput("--baseline " + args.baseline, "has " + std::to_string(base_model->vocab_size()) +
                                                         " tokens; the artifact has " + std::to_string(cfg.vocab_size));
    }
    baseline = eval::perplexity(*base_model, ids, seq_len, stride, 8, [&](int64_t d, int64_t t) { bar.update("baseline", d, t); });
    base_model.reset();
    torch_model = model::load_model(dir);
    cmp = eval::compare_with_runtime(*torch_model, *runtime_model, tokens, seq_len, stride,
                                     [&](int64_t d, int64_t t) { bar.update("artifact", d, t); });
  }
  baseline.bytes = cmp.torch.bytes = cmp.runtime.bytes = bytes;

  const auto tol = eval::agreement_tolerance(*runtime_model);
  const bool agree = eval::within_tolerance(cmp, tol);
  std::printf("validate %s on %s (dataset '%s'): %lld tokens scored, window %lld, stride %lld\n", dir.string().c_str(),
              text.string().c_str(), name.c_str(), static_cast<long long>(baseline.tokens), static_cast<long long>(seq_len),
              static_cast<long long>(stride));
  std::printf("  %-30s %12s %10s\n", "", "perplexity", "bits/byte");
  auto row = [](const std::string& what, const eval::PerplexityResult& r) {
    std::printf("  %-30s %12.4f %10.4f\n", what.c_str(), r.perplexity(), r.bits_per_byte());
  };
  row("baseline (LibTorch)", baseline);
  row("fake-quant (LibTorch)", cmp.torch);
  row("artifact (runtime)", cmp.runtime);
  const double scale = std::max(cmp.logits.max_abs_logit, 1.0);
  std::printf("runtime vs fake-quant logits: max |diff| %.3g (%.2e of max |logit| %.3g), mean |diff| %.3g, "
              "same top-1 token %.2f%% of %lld rows\n",
              cmp.logits.max_abs_diff, cmp.logits.max_abs_diff / scale, cmp.logits.max_abs_logit, cmp.logits.mean_abs_diff(),
              100 * cmp.logits.top1_agreement(), static_cast<long long>(cmp.logits.rows));
  std::string limits = tol.max_abs_diff > 0 ? "max |diff| <= " + fmt("%.0e", tol.max_abs_diff) + " of max |logit|, " : "";
  limits += "perplexity within " + fmt("%.1f", 100 * tol.max_ppl_gap) + "% (is " + fmt("%+.3f", 100 * eval::perplexity_gap(cmp)) +
            "%), same top-1 >= " + fmt("%.1f", 100 * tol.min_top1) + "%";
  std::printf("  %s: %s (%s)\n", agree ? "ok" : "FAIL", limits.c_str(), tol.basis.c_str());

  // With activation rounding no logit bound holds, so the weights are checked alone as well: both
  // engines once more with activation rounding off, on the first windows, against the weight-only bound.
  std::optional<eval::EngineComparison> weights_only;
  std::optional<eval::AgreementTolerance> weights_tol;
  if (tol.max_abs_diff == 0) {
    runtime_model->drop_activation_quantization();
    torch_model->drop_activation_quantization();
    constexpr int64_t kWindows = 8;
    std::vector<int32_t> head(tokens.begin(), tokens.begin() + std::min<int64_t>(static_cast<int64_t>(tokens.size()),
                                                                                  seq_len + (kWindows - 1) * stride + 1));
    base::ProgressBar bar;
    weights_only = eval::compare_with_runtime(*torch_model, *runtime_model, head, seq_len, stride,
                                              [&](int64_t d, int64_t t) { bar.update("weights only", d, t); });
    weights_tol = eval::agreement_tolerance(*runtime_model);
  }
  torch_model.reset();
  const bool weights_agree = !weights_only || eval::within_tolerance(*weights_only, *weights_tol);
  if (weights_only) {
    const double s = std::max(weights_only->logits.max_abs_logit, 1.0);
    std::printf("with activation rounding off in both (weights alone, %lld rows): max |diff| %.3g (%.2e of max |logit|), "
                "same top-1 token %.2f%%\n  %s: max |diff| <= %.0e of max |logit|, same top-1 >= %.1f%%\n",
                static_cast<long long>(weights_only->logits.rows), weights_only->logits.max_abs_diff,
                weights_only->logits.max_abs_diff / s, 100 * weights_only->logits.top1_agreement(),
                weights_agree ? "ok" : "FAIL", weights_tol->max_abs_diff, 100 * weights_tol->min_top1);
  }

  // The gate, on what ships: the runtime's numbers against the baseline's.
  const eval::Metrics before = {{name + "/perplexity", baseline.perplexity()}, {name + "/bits_per_byte", baseline.bits_per_byte()}};
  const eval::Metrics after = {{name + "/perplexity", cmp.runtime.perplexity()}, {name + "/bits_per_byte", cmp.runtime.bits_per_byte()}};
  std::vector<eval::GateRule> applicable;
  for (const auto& r : rules) {
    const auto slash = r.metric.find('/');
    if (slash != std::string::npos && r.metric.substr(0, slash) != name) {
      std::printf("gate rule %s (%s) not checked: it is about dataset '%s', not '%s'\n", r.metric.c_str(), r.where.c_str(),
                  r.metric.substr(0, slash).c_str(), name.c_str());
      continue;
    }
    if (eval::metric_of(r.metric) != "perplexity" && eval::metric_of(r.metric) != "bits_per_byte") {
      std::printf("gate rule %s (%s) not checked: validate measures perplexity and bits_per_byte\n", r.metric.c_str(), r.where.c_str());
      continue;
    }
    applicable.push_back(r);
  }
  const auto gate = eval::check_gate(applicable, before, after);
  if (!applicable.empty()) std::printf("gate:\n%s", gate.report().c_str());
  else std::printf("gate: no rule (the recipe has no validate.max_drop for this text; --max-drop sets one)\n");

  if (!args.json.empty()) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : gate.checks) {
      checks.push_back({{"metric", c.metric}, {"before", c.before}, {"after", c.after}, {"drop", c.drop}, {"limit", c.limit},
                        {"relative", c.relative}, {"passed", c.passed}, {"rule", c.rule_where}});
    }
    const nlohmann::json report = {
        {"artifact", dir.string()}, {"baseline", args.baseline}, {"text", text.string()}, {"dataset", name},
        {"seq_len", seq_len}, {"stride", stride}, {"max_bytes", max_bytes},
        {"baseline_metrics", perplexity_json(baseline)}, {"fake_quant", perplexity_json(cmp.torch)},
        {"runtime", perplexity_json(cmp.runtime)},
        {"agreement", {{"max_abs_diff", cmp.logits.max_abs_diff}, {"mean_abs_diff", cmp.logits.mean_abs_diff()},
                       {"max_abs_logit", cmp.logits.max_abs_logit}, {"top1_agreement", cmp.logits.top1_agreement()},
                       {"rows", cmp.logits.rows}, {"perplexity_gap", eval::perplexity_gap(cmp)},
                       {"tolerance_max_abs_diff", tol.max_abs_diff}, {"tolerance_max_perplexity_gap", tol.max_ppl_gap},
                       {"tolerance_min_top1", tol.min_top1}, {"basis", tol.basis}, {"passed", agree}}},
        {"weights_only_agreement", weights_only ? nlohmann::json{{"max_abs_diff", weights_only->logits.max_abs_diff},
                                                                 {"max_abs_logit", weights_only->logits.max_abs_logit},
                                                                 {"top1_agreement", weights_only->logits.top1_agreement()},
                                                                 {"rows", weights_only->logits.rows},
                                                                 {"tolerance_max_abs_diff", weights_tol->max_abs_diff},
                                                                 {"passed", weights_agree}}
                                                : nlohmann::json()},
        {"gate", {{"passed", gate.passed}, {"checks", checks}}}};
    write_output_file(args.json, report.dump(2) + "\n");
  }
  if (!agree) {
    throw GateFailed(dir.string(), "the runtime differs from the fake-quant model beyond the tolerance (" + limits + "; " + tol.basis + ")");
  }
  if (!weights_agree) {
    throw GateFailed(dir.string(), "with activation rounding off, the runtime's logits differ from the fake-quant model's "
                                   "beyond the weight-only bound: the weights are not executed as stored");
  }
  if (!gate.passed) throw GateFailed(dir.string(), "the artifact lost more than validate.max_drop allows");
  return 0;
}

}  // namespace compressor::cli
