#include "compressor/cli/run.h"

#include <cstdio>

#include "calibration/dataset.h"
#include "calibration/tokenizer_for.h"
#include "compressor/base/error.h"
#include "compressor/cli/device_flag.h"
#include "compressor/cli/window_flags.h"
#include "compressor/eval/gate.h"
#include "compressor/eval/perplexity.h"
#include "compressor/eval/report.h"
#include "compressor/model/architecture.h"
#include "compressor/pipeline/session.h"
#include "compressor/recipe/resolve.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/progress.h"
#include "compressor/runtime/decoder.h"
#include "compressor/runtime/perplexity.h"
#include "formats/artifact.h"
#include "formats/hf_config.h"
#if defined(COMPRESSOR_HAVE_CUDA)
#include "compressor/runtime/kernels/cuda/cuda_decoder.h"
#endif

namespace compressor::cli {

int run_recipe(const RunArgs& args, bool quiet) {
  const auto& registry = passes::builtin_registry();
  auto plan = recipe::resolve_recipe(args.recipe, args.overrides, registry);
  const std::string canonical = recipe::canonical_yaml(plan, registry);
  if (args.dry_run) {
    std::fputs(canonical.c_str(), stdout);
    return 0;
  }
  // Fail on an unwritable output before spending minutes on the model.
  if (plan.has_output) base::check_directory_creatable(plan.output.path, plan.output.where.str() + ".path");

  pipeline::Session session(plan, registry);
  session.set_resume(args.resume);
  session.load();
  base::ProgressBar bar;
  auto progress = [&](const std::string& label, int64_t done, int64_t total) { bar.update(label, done, total); };
  auto say = [&](const std::string& s) {
    if (!quiet) std::fputs(s.c_str(), stdout), std::fflush(stdout);
  };

  say("recipe '" + plan.name + "': " + std::to_string(plan.stages.size()) + " stage(s) on " +
      session.model().architecture() + " from " + plan.model.path.string() + "\n");
  const auto before = session.evaluate(progress);
  for (size_t i = 0; i < session.stage_count(); ++i) {
    auto t = session.run_stage(i);
    char line[256];
    std::snprintf(line, sizeof line, "stage '%s': %zu pass(es) in %.2fs\n", t.name.c_str(), t.passes.size(), t.seconds);
    say(line);
  }
  const auto after = session.evaluate(progress);
  std::fputs(("\n" + eval::metrics_table(before, after)).c_str(), stdout);

  auto gate = eval::check_gate(plan.validate.max_drop, before, after);
  if (!plan.validate.max_drop.empty()) std::fputs(("\ngate:\n" + gate.report()).c_str(), stdout);
  if (!gate.passed) {
    throw GateFailed(plan.source_file, "the compressed model lost more than the recipe's validate.max_drop allows;" +
                                           std::string(plan.has_output ? " no artifact was written" : ""));
  }
  if (plan.has_output) {
    session.write_artifact(before, after, canonical);
    nlohmann::json run = {{"recipe", plan.source_file}, {"metrics", {{"before", before}, {"after", after}}},
                          {"stages", session.timings_json()}};
    base::write_file_atomic(plan.output.path / "run.json", run.dump(2) + "\n");
    std::printf("\nwrote %s (%s)\n", plan.output.path.string().c_str(), plan.output.dtype.c_str());
    // Training checkpoints exist to survive an interruption; the artifact is written, so they go.
    std::error_code ec;
    std::filesystem::remove_all(session.training_checkpoints(), ec);
  }
  return 0;
}

namespace {

// Window and stride from the flags (defaults: the context up to 256, half of it).
std::pair<int64_t, int64_t> eval_windows(const EvalArgs& args, int64_t max_positions) {
  return window_flags(args.seq_len, args.stride, std::min<int64_t>(256, max_positions), 0, max_positions);
}

void print_perplexity(const EvalArgs& args, const eval::PerplexityResult& r, int64_t seq_len, int64_t stride) {
  std::printf("%s on %s: perplexity %.4f, bits/byte %.4f (%lld tokens scored, window %lld, stride %lld%s)\n",
              args.model.c_str(), args.text.c_str(), r.perplexity(), r.bits_per_byte(),
              static_cast<long long>(r.tokens), static_cast<long long>(seq_len), static_cast<long long>(stride),
              args.engine != "runtime" ? ", LibTorch" : args.device == "cuda" ? ", runtime on cuda" : ", runtime");
}

// The runtime's perplexity on the device the flags name (check_device passed).
runtime::RuntimePerplexity runtime_perplexity(const EvalArgs& args, const runtime::Decoder& model,
                                              const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride) {
  base::ProgressBar bar;
  const auto progress = [&](int64_t d, int64_t t) { bar.update("eval", d, t); };
  if (args.device == "cpu") return runtime::perplexity(model, tokens, seq_len, stride, progress);
#if defined(COMPRESSOR_HAVE_CUDA)
  const runtime::cuda::CudaDecoder gpu(model);
  return runtime::perplexity(gpu, tokens, seq_len, stride, progress);
#else
  throw InternalError("--device", "cuda without CUDA kernels passed check_device");
#endif
}

int eval_runtime(const EvalArgs& args) {
  check_device(args.device);
  const std::filesystem::path dir = args.model;
  auto model = runtime::Decoder::load(dir);
  auto tok = calibration::tokenizer_for(model->config().vocab_size, dir);
  const auto [seq_len, stride] = eval_windows(args, model->config().max_positions);
  int64_t bytes = 0;
  const auto ids = calibration::load_text_tokens(args.text, *tok, args.max_bytes, "--text", &bytes).to(torch::kInt32).contiguous();
  const std::vector<int32_t> tokens(ids.data_ptr<int32_t>(), ids.data_ptr<int32_t>() + ids.numel());
  const auto rr = runtime_perplexity(args, *model, tokens, seq_len, stride);
  eval::PerplexityResult r;
  r.nll_sum = rr.nll_sum;
  r.tokens = rr.tokens;
  r.bytes = bytes;
  print_perplexity(args, r, seq_len, stride);
  return 0;
}

// What `--engine auto` runs: an artifact is executed as stored where the runtime has its
// architecture; checkpoints, GGUF files and encoders go to LibTorch.
std::string auto_engine(const std::filesystem::path& dir) {
  if (!formats::has_manifest(dir)) return "torch";
  const auto type = formats::load_hf_config(dir).model_type;
  return type == "gpt2" || type == "llama" ? "runtime" : "torch";
}

}  // namespace

int eval_model(const EvalArgs& given) {
  EvalArgs args = given;
  const std::filesystem::path dir = args.model;
  if (args.engine == "auto") args.engine = auto_engine(dir);
  if (args.engine == "runtime") return eval_runtime(args);  // the runtime verifies the artifact itself
  if (args.device != "cpu") {
    throw BadInput("--device", args.device + " runs the runtime engine only (--engine runtime, on an artifact of GPT-2 or "
                                             "Llama); this is the " + args.engine + " engine");
  }
  if (formats::has_manifest(dir)) formats::verify_artifact(dir);
  auto model = model::load_model(dir);
  auto tok = calibration::tokenizer_for(*model, dir);
  const auto [seq_len, stride] = eval_windows(args, model->max_positions());
  int64_t bytes = 0;
  auto tokens = calibration::load_text_tokens(args.text, *tok, args.max_bytes, "--text", &bytes);
  base::ProgressBar bar;
  auto r = eval::perplexity(*model, tokens, seq_len, stride, 8,
                            [&](int64_t d, int64_t t) { bar.update("eval", d, t); });
  r.bytes = bytes;
  print_perplexity(args, r, seq_len, stride);
  return 0;
}

int print_passes() {
  for (const auto& [name, info] : passes::builtin_registry().all()) {
    std::printf("%s\n    %s\n", name.c_str(), info.summary.c_str());
    auto opts = info.options;
    for (const auto& c : passes::common_pass_options()) opts.push_back(c);
    for (const auto& o : opts) {
      std::string def = o.default_value ? "default " + recipe::to_string(*o.default_value) : "required";
      std::printf("    %-14s %s; %s. %s\n", o.key.c_str(), o.describe_domain().c_str(), def.c_str(), o.help.c_str());
    }
  }
  return 0;
}

}  // namespace compressor::cli
