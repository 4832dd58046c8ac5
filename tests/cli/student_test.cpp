// Smaller students and other teachers through the real binary: kjv-gpt2's every other block
// distilled from all four (the artifact has two blocks, and the runtime runs it); a teacher of
// another architecture and width (hidden states compared through a learned projection); the
// teacher's top-k logits cached on disk and read back by --resume; and the bad-input cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/hf_config.h"
#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"
#include "tests/cli/distill_fixture.h"

using namespace cli_test;

namespace {

const std::string kPpl = std::string(kDataset) + "/perplexity";

// The run's "validation loss A -> B" (before and after training).
std::pair<double, double> validation_losses(const std::string& out) {
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("validation loss ([0-9.]+) -> ([0-9.]+)")));
  return {std::stod(m[1]), std::stod(m[2])};
}

}  // namespace

TEST_CASE("distillation: a student of every other kjv-gpt2 block learns from all four", "[cli][distillation][student]") {
  auto w = make_workspace("student-every");
  training_text(w.dir);
  auto spec = w.spec();
  spec.model = test_util::source_dir() / "models/kjv-gpt2";
  spec.pass = distillation_pass({{"student_every", "2"}, {"lr", "0.001"}});
  auto r = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("the student has 2 of the 4 blocks (initialised from blocks 0, 2)"));
  const auto [before, after] = validation_losses(r.out);
  CHECK(after < before);
  const auto config = compressor::formats::load_hf_config(w.out);
  CHECK(config.get_int("n_layer") == 2);
  auto ins = run_cli({"inspect", w.out.string()});
  CHECK_THAT(ins.out, Catch::Contains("transformer.h.1.mlp.c_fc.weight"));
  CHECK_THAT(ins.out, !Catch::Contains("transformer.h.2."));
  // What was measured after the stages is what the artifact computes, in both engines.
  CHECK(eval_perplexity(w.out, w.text, "runtime") == table_value(r.out, kPpl, 2));
  CHECK(eval_perplexity(w.out, w.text, "torch") == table_value(r.out, kPpl, 2));
}

TEST_CASE("distillation: student_layers keeps the blocks it lists", "[cli][distillation][student]") {
  auto w = make_workspace("student-layers");
  training_text(w.dir);
  auto spec = w.spec();
  spec.pass = distillation_pass({{"student_layers", "[1]"}, {"steps", "4"}});
  auto r = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("the student has 1 of the 2 blocks (initialised from blocks 1)"));
  CHECK(compressor::formats::load_hf_config(w.out).get_int("n_layer") == 1);
}

TEST_CASE("distillation: a teacher of another architecture and width, hidden states projected", "[cli][distillation][student]") {
  auto w = make_workspace("student-teacher", {}, /*train_steps=*/20);
  training_text(w.dir);
  // Llama, 64 wide, on the same bytes: the same vocabulary, another architecture and width.
  make_tiny_llama(w.dir / "llama", 1, 40, w.text);
  auto spec = w.spec();
  spec.pass = distillation_pass({{"teacher", "llama"}, {"hidden_weight", "0.1"}, {"steps", "8"}});
  auto r = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("hidden states (32 wide) meet the teacher's (64 wide) through a learned projection"));
  validation_losses(r.out);
  // The embedded kjv-gpt2 (4 blocks, 256 wide, byte-level too) teaches the 2-block, 32-wide model.
  spec.pass = distillation_pass({{"teacher", (test_util::source_dir() / "models/kjv-gpt2").string()}, {"lr", "0.003"}});
  auto big = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(big.all());
  REQUIRE(big.code == 0);
  const auto [before, after] = validation_losses(big.out);
  CHECK(after < before);
}

TEST_CASE("distillation: MiniLM's attention loss on the last block joins the logit loss", "[cli][distillation]") {
  auto w = make_workspace("attention-loss", {}, /*train_steps=*/20);
  training_text(w.dir);
  auto spec = w.spec();
  spec.pass = "magnitude: {sparsity: 0.5}\n      - " +
              distillation_pass({{"attention_weight", "1.0"}, {"eval_every", "4"}, {"steps", "8"}});
  auto r = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  // Logged with the other terms at every evaluation; nonzero once the maps differ.
  const std::regex term("\\(ce [0-9.]+, kd [0-9.]+, attention ([0-9.]+)\\)");
  double largest = -1;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), term); it != std::sregex_iterator(); ++it) {
    largest = std::max(largest, std::stod((*it)[1]));
  }
  CHECK(largest > 0);
}

TEST_CASE("distillation: the teacher's top-k logits are cached on disk and read back on --resume", "[cli][distillation][teacher-cache]") {
  auto w = make_workspace("teacher-cache", {}, /*train_steps=*/20);
  training_text(w.dir);
  auto spec = w.spec();
  spec.pass = distillation_pass({{"teacher_top_k", "16"}, {"checkpoint_every", "8"}});
  spec.validate = "{perplexity: 0%}";  // fails: the run stops with its checkpoint and cache kept
  auto stopped = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(stopped.all());
  REQUIRE(stopped.code == 3);
  CHECK_THAT(stopped.out, Catch::Contains("teacher top-16 logits of"));
  CHECK_THAT(stopped.out, Catch::Contains("written to"));
  REQUIRE(fs::is_regular_file(w.dir / "out.training" / "0-prune" / "teacher-top16.bin"));

  spec.validate.clear();
  auto resumed = run_cli({"--log-level", "info", "run", "--resume", w.write_recipe(spec).string()});
  INFO(resumed.all());
  REQUIRE(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("read from"));
  CHECK_FALSE(fs::exists(w.dir / "out.training"));
  // Without an output path the cache is a temporary file, gone after the run.
  spec.output.clear();
  auto bare = run_cli({"--log-level", "info", "run", w.write_recipe(spec, "bare.yaml").string()});
  INFO(bare.all());
  REQUIRE(bare.code == 0);
  CHECK_THAT(bare.out, Catch::Contains("written to"));
}

TEST_CASE("distillation: bad students and teachers are located errors", "[cli][distillation][student][bad-input]") {
  auto w = make_workspace("student-bad");
  training_text(w.dir);
  make_tiny_bert(w.dir / "bert");
  make_tiny_llama(w.dir / "llama");
  TinyShape wider_vocab;
  wider_vocab.vocab_size = 300;
  make_tiny_gpt2(w.dir / "vocab300", wider_vocab);
  require_bad_passes(w, w.spec(),
                     {
                         {distillation_pass({{"student_layers", "[0, 5]"}}), {"student_layers[1]", "'5' is not a block"}},
                         {distillation_pass({{"student_layers", "[1, 0]"}}), {"student_layers[1]", "ascending"}},
                         {distillation_pass({{"student_layers", "[x]"}}), {"student_layers[0]", "'x'"}},
                         {distillation_pass({{"student_layers", "[0]"}, {"student_every", "2"}}), {"student_every", "keep one"}},
                         {distillation_pass({{"teacher", "missing"}}), {"teacher", "not found", "missing"}},
                         {distillation_pass({{"teacher", "vocab300"}}), {"teacher", "vocabulary of 300 tokens and the student 256"}},
                         {distillation_pass({{"teacher", "bert"}}), {"teacher", "encoder"}},
                         {distillation_pass({{"teacher_top_k", "1000"}}), {"teacher_top_k", "exceeds the vocabulary of 256"}},
                         {distillation_pass({{"teacher_top_k", "8"}, {"hidden_weight", "1"}}), {"teacher_top_k", "hidden_weight"}},
                         {distillation_pass({{"teacher_top_k", "8"}, {"attention_weight", "1"}}),
                          {"teacher_top_k", "attention_weight"}},
                         {distillation_pass({{"teacher", "llama"}, {"attention_weight", "1"}}),
                          {"attention_weight", "2 heads", "teacher's 4"}},
                     });
  // The same vocabulary size, another tokenizer (two of its ids swapped): the teacher would read
  // the same text as other ids.
  TinyShape bpe;
  bpe.vocab_size = 1000;
  auto tokenizer = nlohmann::json::parse(read_bytes(test_util::source_dir() / "tests/golden/tokenizer/bpe.tokenizer.json"));
  write_bytes(make_tiny_gpt2(w.dir / "bpe-student", bpe) / "tokenizer.json", tokenizer.dump());
  auto& vocab = tokenizer["model"]["vocab"];
  std::swap(vocab["\u0120the"], vocab["\u0120and"]);
  write_bytes(make_tiny_gpt2(w.dir / "bpe-teacher", bpe) / "tokenizer.json", tokenizer.dump());
  auto spec = w.spec();
  spec.model = w.dir / "bpe-student";
  spec.pass = distillation_pass({{"teacher", "bpe-teacher"}});
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}),
                    {"recipe.yaml:", "teacher", "tokenizer reads the training text differently"}, w.out);
}
