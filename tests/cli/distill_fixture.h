// What the distillation CLI tests share: a training text disjoint from the evaluation text, and a
// distillation pass with small settings.
#pragma once

#include <map>
#include <string>

#include "tests/cli/cli_fixture.h"

namespace cli_test {

// The KJV validation chapters' first 16 KB as `dir`/train.txt (the evaluation text is test.txt's head).
inline fs::path training_text(const fs::path& dir) {
  const std::string all = read_bytes(test_util::source_dir() / "models/kjv-gpt2/data/validation.txt");
  write_bytes(dir / "train.txt", all.substr(0, 16384));
  return dir / "train.txt";
}

// A `distillation` pass (YAML flow) with small settings, `changes` replacing or adding options.
inline std::string distillation_pass(const std::map<std::string, std::string>& changes = {}) {
  std::map<std::string, std::string> o{{"steps", "24"},       {"batch", "4"},       {"seq_len", "32"},
                                       {"lr", "0.003"},       {"warmup_steps", "2"}, {"alpha", "0.0"},
                                       {"temperature", "1.0"}, {"validation_windows", "4"}, {"dataset", "train.txt"}};
  for (const auto& [k, v] : changes) o[k] = v;
  std::string flow;
  for (const auto& [k, v] : o) flow += (flow.empty() ? "" : ", ") + k + ": " + v;
  return "distillation: {" + flow + "}";
}

}  // namespace cli_test
