// The embedded model's trainer through its real binary (build/train_lm): checkpoints change
// nothing but the files and are removed once the model is written; --resume without a checkpoint
// is refused (exit 2, naming the directory); a resumed run ends with the uninterrupted weights
// (the interruption itself is tested in tests/pipeline/trainer_test.cpp).
#include <catch2/catch.hpp>

#include <string>

#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

fs::path train_lm_binary() { return test_util::binary_dir() / "train_lm"; }

std::vector<std::string> args(const Workspace& w, const fs::path& out, std::vector<std::string> more) {
  std::vector<std::string> a = {"--config", (w.model / "config.json").string(), "--train", w.text.string(), "--val",
                                w.text.string(), "--out", out.string(), "--steps", "6", "--batch", "2", "--seq-len",
                                "16", "--warmup", "2", "--eval-every", "3", "--threads", "1", "--seed", "3"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

}  // namespace

TEST_CASE("train_lm: checkpoints change no weight and are removed at the end", "[cli][train_lm]") {
  auto w = make_workspace("train-lm");
  auto plain = run_binary(train_lm_binary(), args(w, w.dir / "plain", {}));
  REQUIRE(plain.code == 0);
  auto ckpt = run_binary(train_lm_binary(), args(w, w.dir / "ckpt", {"--checkpoint-every", "2"}));
  INFO(ckpt.all());
  REQUIRE(ckpt.code == 0);
  CHECK(read_bytes(w.dir / "plain" / "model.safetensors") == read_bytes(w.dir / "ckpt" / "model.safetensors"));
  CHECK_FALSE(fs::exists(w.dir / "ckpt.training"));
}

TEST_CASE("train_lm: --resume with no checkpoint is refused and names where it looked", "[cli][train_lm]") {
  auto w = make_workspace("train-lm-resume");
  auto r = run_binary(train_lm_binary(), args(w, w.dir / "out", {"--resume"}));
  INFO(r.all());
  CHECK(r.code == 2);
  CHECK(r.err.find("no training checkpoint in " + (w.dir / "out.training").string()) != std::string::npos);
  CHECK_FALSE(fs::exists(w.dir / "out" / "model.safetensors"));
}
