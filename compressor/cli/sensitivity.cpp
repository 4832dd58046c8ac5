#include "compressor/cli/sensitivity.h"

#include <cstdio>
#include <filesystem>
#include <cctype>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "calibration/dataset.h"
#include "calibration/tokenizer_for.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/base/progress.h"
#include "compressor/cli/output_file.h"
#include "compressor/pipeline/bit_allocation.h"
#include "compressor/pipeline/sensitivity.h"
#include "compressor/pipeline/session.h"
#include "compressor/recipe/resolve.h"

namespace compressor::cli {

namespace fs = std::filesystem;

namespace {

bool is_quantization_pass(const std::string& type) { return type == "quantization" || type == "gptq" || type == "awq"; }

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// A config_groups key from a candidate's name: letters, digits and '_' only.
std::string group_name(const std::string& candidate) {
  std::string g = "group_";
  for (char c : candidate) g += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return g;
}

// Paths of a resolved plan made absolute, so the recipe printed from it works from any directory.
void absolute_paths(recipe::Plan& plan) {
  auto abs = [](fs::path& p) {
    if (!p.empty()) p = fs::absolute(p).lexically_normal();
  };
  abs(plan.model.path);
  abs(plan.calibration.source);
  for (auto& d : plan.evaluate.datasets) abs(d.path), abs(d.train);
  abs(plan.output.path);
}

}  // namespace

int sensitivity_recipe(const SensitivityArgs& args, bool quiet) {
  const auto& registry = passes::builtin_registry();
  auto plan = recipe::resolve_recipe(args.recipe, args.overrides, registry);
  if (!args.emit_recipe.empty() && args.target_bpw <= 0) {
    throw BadInput("--emit-recipe", "needs --target-bpw: the emitted recipe carries the allocation for that budget");
  }
  if (args.target_bpw < 0) throw BadInput("--target-bpw", "must be positive");
  if (args.max_bytes < 0) throw BadInput("--max-bytes", "must be 0 (the whole text) or positive");
  if (!args.out.empty()) check_output_file(args.out, "--out");
  if (!args.emit_recipe.empty()) check_output_file(args.emit_recipe, "--emit-recipe");

  // The layers: those of the recipe's first quantization pass, which the allocation replaces.
  size_t stage_index = 0, pass_index = 0;
  bool found = false;
  for (size_t s = 0; s < plan.stages.size() && !found; ++s) {
    for (size_t p = 0; p < plan.stages[s].passes.size() && !found; ++p) {
      if (is_quantization_pass(plan.stages[s].passes[p].type)) stage_index = s, pass_index = p, found = true;
    }
  }
  if (!found) {
    throw BadInput(plan.source_file, "compressor sensitivity needs a quantization, gptq or awq pass in the recipe: its "
                                     "targets and ignore choose the layers, its scale_dtype the scales");
  }
  const auto& spec = plan.stages[stage_index].passes[pass_index];
  const auto scale_dtype = quant::parse_scale_dtype(spec.options.get_string("scale_dtype"), spec.where.str() + ".scale_dtype");
  std::vector<pipeline::SensitivityCandidate> candidates;
  for (const auto& name : split_list(args.schemes)) {
    candidates.push_back(pipeline::parse_candidate(name, scale_dtype, "--schemes"));
  }
  if (candidates.empty()) throw BadInput("--schemes", "name at least one candidate");

  fs::path text = args.text;
  if (text.empty()) {
    if (!plan.calibration.enabled) {
      throw BadInput("--text", "the recipe has no calibration block to measure on; give a text file");
    }
    text = plan.calibration.source;
  }

  pipeline::Session session(plan, registry);
  session.load();
  auto& model = session.model();
  const auto layers = session.pass_slots(stage_index, pass_index);
  if (layers.empty()) throw BadInput(spec.where.str(), "the pass selects no layers");
  int64_t seq_len = args.seq_len > 0 ? args.seq_len : (plan.calibration.enabled ? plan.calibration.seq_len : 512);
  seq_len = std::min<int64_t>(seq_len, model.max_positions());
  if (seq_len < 2) throw BadInput("--seq-len", "needs at least 2 tokens");

  auto tokenizer = calibration::tokenizer_for(model, plan.model.path);
  const auto tokens = calibration::load_text_tokens(text, *tokenizer, args.max_bytes, "--text");
  const int64_t windows = tokens.size(0) / seq_len;
  if (windows < 1) {
    throw BadInput("--text", text.string() + " gives " + std::to_string(tokens.size(0)) +
                                 " tokens, fewer than one window of " + std::to_string(seq_len) +
                                 "; give more text (--max-bytes) or a shorter --seq-len");
  }
  const auto ids = tokens.slice(0, 0, windows * seq_len).reshape({windows, seq_len});

  base::ProgressBar bar;
  const auto report = pipeline::measure_sensitivity(model, layers, candidates, ids,
                                                    [&](int64_t d, int64_t t) { bar.update("sensitivity", d, t); });

  std::vector<pipeline::AllocationLayer> alloc_layers;
  for (const auto& l : report.layers) {
    pipeline::AllocationLayer a{l.name, l.weights, l.bits_per_weight, {}};
    for (double p : l.perplexity) a.sensitivity.push_back(p - report.perplexity);
    alloc_layers.push_back(std::move(a));
  }
  std::optional<pipeline::Allocation> allocation;
  if (args.target_bpw > 0) allocation = pipeline::allocate_bits(alloc_layers, args.target_bpw, "--target-bpw");

  if (!quiet) {
    std::printf("sensitivity of %zu layers on %lld tokens of %s (windows of %lld): perplexity %.4f unquantized\n\n",
                report.layers.size(), static_cast<long long>(report.tokens), text.string().c_str(),
                static_cast<long long>(seq_len), report.perplexity);
    std::printf("%-44s %10s", "layer", "weights");
    for (const auto& c : report.candidates) std::printf(" %14s", ("Δppl " + c).c_str());
    if (allocation) std::printf("  chosen");
    std::printf("\n");
    for (size_t i = 0; i < report.layers.size(); ++i) {
      const auto& l = report.layers[i];
      std::printf("%-44s %10lld", l.name.c_str(), static_cast<long long>(l.weights));
      for (double s : alloc_layers[i].sensitivity) std::printf(" %+14.4f", s);
      if (allocation) std::printf("  %s", report.candidates[allocation->choice[i]].c_str());
      std::printf("\n");
    }
  }
  nlohmann::json j = {{"recipe", plan.source_file},
                      {"text", text.string()},
                      {"tokens", report.tokens},
                      {"seq_len", seq_len},
                      {"perplexity", report.perplexity},
                      {"candidates", report.candidates}};
  nlohmann::json jl = nlohmann::json::array();
  for (size_t i = 0; i < report.layers.size(); ++i) {
    const auto& l = report.layers[i];
    nlohmann::json e = {{"name", l.name}, {"weights", l.weights}};
    for (size_t c = 0; c < candidates.size(); ++c) {
      e["bits_per_weight"][report.candidates[c]] = l.bits_per_weight[c];
      e["perplexity"][report.candidates[c]] = l.perplexity[c];
      e["delta_perplexity"][report.candidates[c]] = alloc_layers[i].sensitivity[c];
    }
    if (allocation) e["chosen"] = report.candidates[allocation->choice[i]];
    jl.push_back(std::move(e));
  }
  j["layers"] = std::move(jl);

  if (allocation) {
    std::map<size_t, std::vector<std::string>> members;
    for (size_t i = 0; i < report.layers.size(); ++i) members[allocation->choice[i]].push_back(report.layers[i].name);
    nlohmann::json groups = nlohmann::json::object();
    std::string summary;
    for (const auto& [c, names] : members) {
      nlohmann::json g = {{"targets", names}, {"weights", quant::to_json(candidates[c].quant.args)}};
      if (candidates[c].quant.input_activations) g["input_activations"] = quant::to_json(*candidates[c].quant.input_activations);
      groups[group_name(candidates[c].name)] = std::move(g);
      summary += (summary.empty() ? "" : ", ") + candidates[c].name + " " + std::to_string(names.size());
    }
    j["allocation"] = {{"target_bits_per_weight", args.target_bpw},
                       {"bits_per_weight", allocation->bits_per_weight},
                       {"summed_delta_perplexity", allocation->sensitivity},
                       {"config_groups", groups}};
    std::printf("\nallocation within %.4f bits per weight: %.4f bits per weight, summed Δppl %+.4f (layers: %s)\n",
                args.target_bpw, allocation->bits_per_weight, allocation->sensitivity, summary.c_str());
    if (!args.emit_recipe.empty()) {
      auto emitted = plan;
      absolute_paths(emitted);
      auto& options = emitted.stages[stage_index].passes[pass_index].options;
      options.set("scheme", std::string());
      options.set("config_groups", passes::MappingValue{groups});
      write_output_file(args.emit_recipe, recipe::canonical_yaml(emitted, registry));
      std::printf("wrote %s (stages[%zu].passes[%zu].%s with the allocation as config_groups)\n", args.emit_recipe.c_str(),
                  stage_index, pass_index, spec.type.c_str());
    }
  }
  if (!args.out.empty()) {
    write_output_file(args.out, j.dump(2) + "\n");
    std::printf("wrote %s\n", args.out.c_str());
  }
  return 0;
}

}  // namespace compressor::cli
