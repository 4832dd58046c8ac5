// Scripting compressor from C++: resolve a recipe, then drive the session one step at a time,
// looking at the model between stages. The CLI's `run` does the same with a progress bar.
//   build/examples/example_prune_step_by_step configs/quickstart.yaml [key.path=value ...]
#include <cstdio>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/eval/report.h"
#include "compressor/pipeline/session.h"
#include "compressor/recipe/resolve.h"

using namespace compressor;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s RECIPE [key.path=value ...]\n", argv[0]);
    return 1;
  }
  try {
    const auto& passes = passes::builtin_registry();
    std::vector<std::string> overrides(argv + 2, argv + argc);
    auto plan = recipe::resolve_recipe(argv[1], overrides, passes);

    pipeline::Session session(plan, passes);
    session.load();  // every pass is bound and checked here, before any weight changes
    const auto before = session.evaluate();
    for (size_t i = 0; i < session.stage_count(); ++i) {
      const auto timing = session.run_stage(i);
      std::printf("after stage '%s' (%.2fs):\n", timing.name.c_str(), timing.seconds);
      for (const auto& [slot, sparsity] : session.slot_sparsity()) {
        std::printf("  %-36s %6.2f%% zeros\n", slot.c_str(), 100 * sparsity);
      }
    }
    const auto after = session.evaluate();
    std::printf("\n%s", eval::metrics_table(before, after).c_str());
    // A gate of our own, in code: at most 30% perplexity increase on every dataset.
    for (const auto& [key, value] : after) {
      if (eval::metric_of(key) == "perplexity" && value > 1.3 * before.at(key)) {
        std::printf("%s rose more than 30%%\n", key.c_str());
        return 3;
      }
    }
    return 0;
  } catch (const BadInput& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
