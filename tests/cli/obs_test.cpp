// The `obs` pass (Optimal BERT Surgeon) through the real binary: a tiny trained GPT-2 pruned from
// its next-token loss's Fisher, unstructured (block by block and in one pass) and 2:4, below
// magnitude's perplexity; the tiny BERT
// pruned from a probe task's loss; and the bad-input cases with their recipe locations.
#include <catch2/catch.hpp>

#include <string>

#include "formats/artifact_manifest.h"
#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

const std::string kPpl = std::string(kDataset) + "/perplexity";
const char* const kLinears[] = {"transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_proj.weight",
                                "transformer.h.1.mlp.c_fc.weight", "transformer.h.1.mlp.c_proj.weight"};

double ppl(const CliResult& r) {
  const auto v = table_value(r.out, kPpl, 2);
  REQUIRE_FALSE(v.empty());
  return std::stod(v);
}

// A recipe for the tiny BERT: one obs pass and, when `probe`, a probe dataset of two classes.
fs::path bert_recipe(const fs::path& dir, const fs::path& model, const std::string& pass, bool probe,
                     const fs::path& out) {
  std::string train, test;
  const char* const a[] = {"in the beginning god created the heaven", "god created the heaven and the earth",
                           "in the beginning god said let there be light", "god said let there be light"};
  const char* const b[] = {"the earth was without form and void", "darkness was without form",
                           "and the earth was void and darkness", "and darkness was without form and void"};
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 4; ++i) {
      train += std::string("a\t") + a[i] + (r ? " ." : "") + "\n" + "b\t" + b[i] + (r == 2 ? " ," : "") + "\n";
    }
  }
  for (int i = 0; i < 4; ++i) test += std::string("a\t") + a[3 - i] + " ,\nb\t" + b[3 - i] + " .\n";
  write_bytes(dir / "train.tsv", train);
  write_bytes(dir / "test.tsv", test);
  std::string yaml = "version: 1\nname: bert-obs\nmodel:\n  path: " + model.string() +
                     "\nstages:\n  - name: prune\n    passes:\n      - " + pass + "\n";
  if (probe) {
    yaml += "evaluate:\n  datasets:\n    - name: books\n      task: probe\n      train: " + (dir / "train.tsv").string() +
            "\n      path: " + (dir / "test.tsv").string() + "\n      seq_len: 16\n  metrics: [accuracy]\n";
  }
  yaml += "output:\n  path: " + out.string() + "\n";
  write_bytes(dir / "bert.yaml", yaml);
  return dir / "bert.yaml";
}

}  // namespace

TEST_CASE("obs prunes a causal LM from its next-token loss, below magnitude's perplexity", "[cli][obs]") {
  auto w = make_workspace("obs", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  for (const char* structure : {"0:0", "2:4"}) {
    INFO("mask_structure " << structure);
    spec.pass = std::string("obs: {sparsity: 0.5, num_grads: 8, fisher_block_size: 16, mask_structure: '") + structure +
                "'}";
    spec.output = w.dir / (std::string("obs-") + (structure[0] == '0' ? "unstructured" : "2of4"));
    auto obs = run_cli({"run", w.write_recipe(spec, "obs.yaml").string()});
    INFO(obs.all());
    REQUIRE(obs.code == 0);
    auto ins = run_cli({"inspect", spec.output.string()});
    for (const char* t : kLinears) CHECK(inspect_sparsity(ins.out, t) == "50.00");
    const auto layers = compressor::formats::read_manifest(spec.output).at("layers");
    const auto& e = layers.at("transformer.h.1.mlp.c_fc").at(0);
    CHECK(e.at("pass") == "obs");
    CHECK(e.at("sparsity").get<double>() == 0.5);

    spec.pass = std::string("magnitude: {sparsity: 0.5, mask_structure: '") + structure + "'}";
    spec.output = w.dir / "magnitude";
    auto mag = run_cli({"run", w.write_recipe(spec, "magnitude.yaml").string()});
    REQUIRE(mag.code == 0);
    CHECK(ppl(obs) < ppl(mag));
    if (structure[0] != '0') continue;
    // One pass of gradients for every layer (SparseML's one-shot) prunes as exactly.
    spec.pass = "obs: {sparsity: 0.5, num_grads: 8, fisher_block_size: 16, sequential: false}";
    spec.output = w.dir / "obs-one-pass";
    auto one = run_cli({"run", w.write_recipe(spec, "obs-one-pass.yaml").string()});
    INFO(one.all());
    REQUIRE(one.code == 0);
    auto one_ins = run_cli({"inspect", spec.output.string()});
    for (const char* t : kLinears) CHECK(inspect_sparsity(one_ins.out, t) == "50.00");
    CHECK(ppl(one) < ppl(mag));
  }
}

TEST_CASE("obs prunes an encoder from its probe task's loss", "[cli][obs]") {
  auto w = make_workspace("obs-bert");
  const auto model = make_tiny_bert(w.dir / "bert");
  const auto out = w.dir / "bert-obs";
  auto r = run_cli({"run", bert_recipe(w.dir, model, "obs: {sparsity: 0.5, num_grads: 16, fisher_block_size: 32}",
                                       true, out)
                               .string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_FALSE(table_value(r.out, "books/accuracy", 2).empty());
  auto ins = run_cli({"inspect", out.string()});
  for (const char* t : {"bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.1.output.dense.weight"}) {
    INFO(t << "\n" << ins.out);
    CHECK(inspect_sparsity(ins.out, t) == "50.00");
  }
}

TEST_CASE("obs: bad input is located in the recipe", "[cli][obs][bad-input]") {
  auto w = make_workspace("obs-bad");
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  require_bad_passes(w, spec,
                     {{"obs: {sparsity: 1.0}", {"sparsity"}},
                      {"obs: {sparsity: -0.1}", {"sparsity"}},
                      {"obs: {dampening_frac: 0}", {"dampening_frac"}},
                      {"obs: {mask_structure: '4:2'}", {"mask_structure", "4:2"}},
                      {"obs: {mask_structure: '2:5'}", {"mask_structure", "5"}},
                      {"obs: {fisher_block_size: 0}", {"fisher_block_size"}},
                      {"obs: {loss: probe}", {"obs.loss", "causal language model"}}});
  // A causal LM's loss runs on the calibration samples: none, no loss.
  spec.extra.clear();
  spec.pass = "obs: {sparsity: 0.5}";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"obs", "calibration"}, w.out);

  // An encoder's loss is a probe task's: none in the recipe, or not the one named.
  const auto model = make_tiny_bert(w.dir / "bert");
  require_bad_input(run_cli({"run", bert_recipe(w.dir, model, "obs: {sparsity: 0.5}", false, w.out).string()}),
                    {"obs.loss", "task: probe"}, w.out);
  require_bad_input(
      run_cli({"run", bert_recipe(w.dir, model, "obs: {sparsity: 0.5, dataset: nope}", true, w.out).string()}),
      {"obs.dataset", "nope"}, w.out);
  require_bad_input(
      run_cli({"run", bert_recipe(w.dir, model, "obs: {loss: causal_lm}", true, w.out).string()}),
      {"obs.loss", "encoder"}, w.out);
}

// The loss itself overflows here (a Fisher with Inf from finite losses is tests/pipeline/fisher_obs_test.cpp's).
TEST_CASE("obs: a model whose loss overflows stops naming the block and the sample", "[cli][obs][bad-input]") {
  auto w = make_workspace("obs-overflow");
  const auto model = w.dir / "overflow-model";
  copy_without_manifest(w.model, model, [](std::vector<compressor::formats::StoredTensor>& ts) {
    find_tensor(ts, "transformer.h.0.mlp.c_fc.weight").tensor.mul_(1e30);
  });
  auto spec = w.spec();
  spec.model = model;
  spec.extra = calibration_block(w);
  spec.pass = "obs: {sparsity: 0.5, num_grads: 4}";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  require_bad_input(r, {"block 0 (transformer.h.0.attn.c_attn", "next-token loss", "NaN on sample"}, w.out);
}
