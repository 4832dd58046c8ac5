// What every bad-input case of the CLI tests checks: exit code 2, a located message, no crash
// wording, and nothing written on the output path.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/cli/cli_fixture.h"

namespace cli_test {

// Exit code 2, a message on stderr containing every piece of `needles`, nothing under `out` (when
// given).
inline void require_bad_input(const CliResult& r, const std::vector<std::string>& needles, const fs::path& out = {}) {
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("compressor: error: "));
  for (const auto& n : needles) CHECK_THAT(r.err, Catch::Contains(n));
  // A bad-input error is not a crash: no "internal error" wording.
  CHECK_THAT(r.all(), !Catch::Contains("internal error"));
  if (!out.empty()) CHECK(files_under(out).empty());
}

// Each case's pass (YAML flow) as the recipe's one pass: require_bad_input with its needles and
// the recipe's location.
inline void require_bad_passes(const Workspace& w, RecipeSpec spec,
                               const std::vector<std::pair<std::string, std::vector<std::string>>>& cases) {
  for (const auto& [pass, needles] : cases) {
    INFO(pass);
    spec.pass = pass;
    auto located = needles;
    located.push_back("recipe.yaml:");
    require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), located, w.out);
  }
}

}  // namespace cli_test
