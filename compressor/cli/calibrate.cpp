#include "compressor/cli/calibrate.h"

#include <cstdio>

#include "calibration/activation_report.h"
#include "calibration/sequential.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/base/progress.h"
#include "compressor/cli/output_file.h"
#include "compressor/pipeline/session.h"
#include "compressor/recipe/resolve.h"

namespace compressor::cli {

int calibrate_recipe(const CalibrateArgs& args, bool quiet) {
  const auto& registry = passes::builtin_registry();
  auto plan = recipe::resolve_recipe(args.recipe, args.overrides, registry);
  if (!plan.calibration.enabled) {
    throw BadInput(plan.source_file, "compressor calibrate needs a 'calibration' block in the recipe");
  }
  const std::filesystem::path stats_path = args.stats;
  check_output_file(stats_path, "--stats");

  pipeline::Session session(plan, registry);
  session.load();
  const auto& samples = session.calibration_samples("compressor calibrate");
  const auto& c = plan.calibration;

  // The statistics of the model as the checkpoint has it: every block from the dense model, so
  // the numbers do not depend on what the recipe's passes would do.
  base::ProgressBar bar;
  calibration::SequentialOptions options;
  options.sequential = false;
  options.batch_size = c.batch_size;
  options.label = "calibrate";
  options.progress = [&](const std::string& label, int64_t done, int64_t total) { bar.update(label, done, total); };
  std::vector<calibration::BlockStats> blocks;
  calibration::run_sequential(session.model(), samples.ids, samples.mask, calibration::report_requirements(c.percentiles),
                              options, [&](model::BlockView&, const calibration::BlockStats& s) { blocks.push_back(s); });

  auto layers = calibration::activation_report(session.model(), blocks, c.percentiles);
  nlohmann::json report = {
      {"recipe", plan.source_file},
      {"model", {{"path", plan.model.path.string()}, {"architecture", session.model().architecture()}}},
      {"calibration",
       {{"source", c.source.string()},
        {"samples", samples.ids.size(0)},
        {"seq_len", samples.ids.size(1)},
        {"real_tokens", samples.real_tokens()},
        {"sampler", calibration::to_string(c.sampler)},
        {"short_documents", calibration::to_string(c.short_documents)},
        {"seed", c.seed}}},
      {"percentiles", c.percentiles},
      {"dead_channel_fraction", calibration::kDeadChannelFraction},
      {"layers", layers}};
  if (stats_path.has_parent_path()) base::ensure_writable_directory(stats_path.parent_path(), "--stats");
  write_output_file(stats_path, report.dump(2) + "\n");

  int64_t dead = 0;
  size_t worst = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    dead += layers[i]["dead_channels"].get<int64_t>();
    if (layers[i]["outlier_ratio"].get<double>() > layers[worst]["outlier_ratio"].get<double>()) worst = i;
  }
  if (!quiet && !layers.empty()) {
    const auto& w = layers[worst];
    std::printf("calibrated %lld samples x %lld tokens: %zu input groups in %d blocks, %lld dead input channels\n",
                static_cast<long long>(samples.ids.size(0)), static_cast<long long>(samples.ids.size(1)), layers.size(),
                session.model().num_blocks(), static_cast<long long>(dead));
    std::printf("largest outlier ratio (abs-max / median channel abs-max): %.1f at block %d %s (%s)\n",
                w["outlier_ratio"].get<double>(), w["block"].get<int>(), w["group"].get<std::string>().c_str(),
                w["linears"][0].get<std::string>().c_str());
  }
  std::printf("wrote %s\n", stats_path.string().c_str());
  return 0;
}

}  // namespace compressor::cli
