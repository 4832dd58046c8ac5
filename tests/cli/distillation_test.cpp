// The `distillation` pass through the real binary: a tiny trained GPT-2 pruned 2:4 by magnitude
// and distilled from its dense self wins back perplexity with its masks intact; a run whose gate
// failed left its checkpoint, which --resume continues into the same weights as a fresh run; and
// the bad-input cases, located.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "formats/artifact_manifest.h"
#include "formats/safetensors.h"
#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"
#include "tests/cli/distill_fixture.h"

using namespace cli_test;

namespace {

const std::string kPpl = std::string(kDataset) + "/perplexity";

double ppl(const CliResult& r) {
  const auto v = table_value(r.out, kPpl, 2);
  REQUIRE_FALSE(v.empty());
  return std::stod(v);
}

// Magnitude 2:4, then distillation with small settings, `changes` replacing or adding options.
std::string distill_pass(const std::map<std::string, std::string>& changes = {}) {
  return "magnitude: {sparsity: 0.5, mask_structure: '2:4'}\n      - " + distillation_pass(changes);
}

}  // namespace

// On the embedded kjv-gpt2: the tiny random models of the other tests are too weak for 2:4 to hurt.
TEST_CASE("distillation wins back perplexity that 2:4 pruning lost and keeps the masks", "[cli][distillation]") {
  auto w = make_workspace("distill");
  training_text(w.dir);
  auto spec = w.spec();
  spec.model = test_util::source_dir() / "models/kjv-gpt2";
  spec.pass = "magnitude: {sparsity: 0.5, mask_structure: '2:4'}";
  spec.output = w.dir / "pruned";
  auto pruned = run_cli({"run", w.write_recipe(spec, "pruned.yaml").string()});
  REQUIRE(pruned.code == 0);

  spec.pass = distill_pass({{"lr", "0.0003"}});
  spec.output = w.out;
  auto distilled = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(distilled.all());
  REQUIRE(distilled.code == 0);
  CHECK_THAT(distilled.out, Catch::Contains("of the gap recovered"));
  const double dense = std::stod(table_value(pruned.out, kPpl, 1));
  CHECK(ppl(distilled) < ppl(pruned));
  CHECK(ppl(distilled) > dense * 0.9);  // sanity: a real model, not a broken evaluation
  auto ins = run_cli({"inspect", w.out.string()});
  for (const char* t : {"transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_proj.weight"}) {
    CHECK(inspect_sparsity(ins.out, t) == "50.00");
  }
  // The checkpoints served their purpose once the artifact is written.
  CHECK_FALSE(fs::exists(w.dir / "out.training"));
}

TEST_CASE("distillation: --resume continues from the checkpoint a stopped run left", "[cli][distillation]") {
  auto w = make_workspace("distill-resume", {}, /*train_steps=*/40);
  training_text(w.dir);
  auto spec = w.spec();
  spec.pass = distill_pass({{"checkpoint_every", "8"}});

  // Reference: one uninterrupted run.
  spec.output = w.dir / "whole";
  auto whole = run_cli({"run", w.write_recipe(spec, "whole.yaml").string()});
  REQUIRE(whole.code == 0);

  // A run stopped after training (its gate cannot pass): no artifact, the checkpoint stays.
  spec.output = w.out;
  spec.validate = "{perplexity: 0%}";
  auto stopped = run_cli({"run", w.write_recipe(spec).string()});
  INFO(stopped.all());
  REQUIRE(stopped.code == 3);
  REQUIRE(fs::is_regular_file(w.dir / "out.training" / "0-prune" / "checkpoint" / "trainer.json"));

  // Another recipe (a different learning rate) may not continue it.
  spec.validate.clear();
  spec.pass = distill_pass({{"checkpoint_every", "8"}, {"lr", "0.001"}});
  auto other = run_cli({"run", "--resume", w.write_recipe(spec, "other.yaml").string()});
  require_bad_input(other, {"different recipe", "lr", "0.003 in the checkpoint", "other.yaml:"}, w.out);

  // The same recipe without the gate resumes it: nothing left to train, the same weights.
  spec.pass = distill_pass({{"checkpoint_every", "8"}});
  auto resumed = run_cli({"--log-level", "info", "run", "--resume", w.write_recipe(spec).string()});
  INFO(resumed.all());
  REQUIRE(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("resuming at step 24 of 24"));
  // Bit for bit the weights of the uninterrupted run (the files differ in their manifest's paths).
  const auto a = compressor::formats::SafetensorsFile::open(w.out / "model.safetensors");
  const auto b = compressor::formats::SafetensorsFile::open(w.dir / "whole" / "model.safetensors");
  for (const char* t : {"transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_fc.weight", "transformer.wte.weight"}) {
    INFO(t);
    CHECK(torch::equal(a->tensor(t), b->tensor(t)));
  }
  CHECK(table_value(resumed.out, kPpl, 2) == table_value(whole.out, kPpl, 2));
  CHECK_FALSE(fs::exists(w.dir / "out.training"));
}

TEST_CASE("distillation: bad options and data are located errors", "[cli][distillation][bad-input]") {
  auto w = make_workspace("distill-bad");
  training_text(w.dir);
  write_bytes(w.dir / "short.txt", "In the beginning God created the heaven and the earth.\n");
  require_bad_passes(w, w.spec(),
                     {
                         {distill_pass({{"temperature", "0"}}), {"temperature", "> 0"}},
                         {distill_pass({{"alpha", "1.5"}}), {"alpha", "[0, 1]"}},
                         {distill_pass({{"dataset", "missing.txt"}}), {"missing.txt"}},
                         {distill_pass({{"dataset", "short.txt"}}), {"short.txt", "too few"}},
                         {distill_pass({{"seq_len", "100"}}), {"seq_len", "64 positions"}},
                         {distill_pass({{"warmup_steps", "30"}}), {"warmup_steps", "exceed"}},
                     });
  // A model whose activations overflow: the loss is NaN at the first step, which stops the run.
  const auto overflow = w.dir / "overflow-model";
  copy_without_manifest(w.model, overflow, [](std::vector<compressor::formats::StoredTensor>& ts) {
    find_tensor(ts, "transformer.h.0.mlp.c_fc.weight").tensor.mul_(1e30);
  });
  auto spec = w.spec();
  spec.model = overflow;
  spec.pass = distill_pass();
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"recipe.yaml:", "training loss is NaN at step 0"},
                    w.out);
  // No dataset and no calibration block: nothing to train on.
  spec = w.spec();
  spec.pass = "distillation: {steps: 2, batch: 2, seq_len: 32}";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"dataset", "no calibration block"}, w.out);
  // An encoder has no next-token targets.
  const auto bert = make_tiny_bert(w.dir / "bert");
  write_bytes(w.dir / "bert.yaml", "version: 1\nname: b\nmodel:\n  path: " + bert.string() +
                                       "\nstages:\n  - name: s\n    passes:\n      - distillation: {dataset: train.txt}\n"
                                       "output:\n  path: " + w.out.string() + "\n");
  require_bad_input(run_cli({"run", (w.dir / "bert.yaml").string()}), {"bert.yaml:", "encoder"}, w.out);
}

namespace {
// Round-to-nearest int4 in groups of `group` (asymmetric), lm_head left alone.
std::string w4(int group) {
  return "quantization: {config_groups: {group_0: {targets: [Linear], weights: {num_bits: 4, type: int, symmetric: "
         "false, strategy: group, group_size: " + std::to_string(group) + "}}}, ignore: [lm_head]}";
}
}  // namespace

// QAT after round-to-nearest W4 on kjv-gpt2: the codes move, the artifact stays int4, and the runtime
// executing the stored codes measures what the LibTorch model measured after freezing.
// Activation checkpointing changes where the activations live, not what is learned: the same
// training gives the same model (to float rounding: the gradients' sums run in another order, so
// a rate at which training is stable; and fixed-scale QAT, since LSQ's scale gradient starts as
// rounding noise that AdamW's normalisation turns into whole steps).
TEST_CASE("distillation: gradient_checkpointing trains the same model", "[cli][distillation]") {
  auto w = make_workspace("distill-checkpointing");
  training_text(w.dir);
  auto spec = w.spec();
  spec.model = test_util::source_dir() / "models/kjv-gpt2";
  for (const std::string& before : {std::string("magnitude: {sparsity: 0.5, mask_structure: '2:4'}"),
                                    w4(64) + "\n      - qat: {ignore: [lm_head]}"}) {
    INFO(before);
    std::map<std::string, double> perplexity;
    for (const std::string on : {"false", "true"}) {
      spec.pass = before + "\n      - " +
                  distillation_pass({{"steps", "8"}, {"lr", "0.0003"}, {"gradient_checkpointing", on},
                                     {"hidden_weight", "0.5"}, {"ignore", "[lm_head]"}});
      spec.output = w.dir / ("out-" + on);
      auto r = run_cli({"run", w.write_recipe(spec, "recipe-" + on + ".yaml").string()});
      INFO(r.all());
      REQUIRE(r.code == 0);
      perplexity[on] = ppl(r);
    }
    CHECK(perplexity["true"] == Approx(perplexity["false"]).epsilon(1e-4));
  }
}

// The narrower student: structured pruning removes half of every MLP's neurons, then the
// narrower model distils from the dense one (hidden states meet: the width between blocks is
// unchanged), and the artifact is the narrower model, which both engines run alike.
TEST_CASE("distillation: a student narrowed by structured pruning trains and keeps its shape", "[cli][distillation]") {
  auto w = make_workspace("distill-narrow");
  training_text(w.dir);
  auto spec = w.spec();
  spec.model = test_util::source_dir() / "models/kjv-gpt2";
  spec.extra = calibration_block(w);
  spec.pass = "structured: {neurons: 0.5}\n      - " +
              distillation_pass({{"steps", "8"}, {"lr", "0.0003"}, {"hidden_weight", "0.5"}, {"gradient_checkpointing", "true"}});
  auto r = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("validation loss before training"));
  const auto config = nlohmann::json::parse(read_bytes(w.out / "config.json"));
  CHECK(config.at("n_inner") == 512);
  CHECK(eval_perplexity(w.out, w.text, "torch") == table_value(r.out, kPpl, 2));
  CHECK(eval_perplexity(w.out, w.text, "runtime") == table_value(r.out, kPpl, 2));
}

// An encoder has no logits: it distils the teacher's hidden states and last attention maps, and
// its validation metric is that loss on the held-out windows (the teacher's own is zero).
TEST_CASE("distillation: an encoder learns its dense self's hidden states and attention back", "[cli][distillation]") {
  auto w = make_workspace("distill-bert");
  training_text(w.dir);
  const auto bert = make_tiny_bert(w.dir / "bert");
  const std::string pass = distillation_pass({{"steps", "30"}, {"seq_len", "24"}, {"lr", "0.003"}, {"hidden_weight", "1"},
                                              {"attention_weight", "1"}, {"gradient_checkpointing", "true"}});
  write_bytes(w.dir / "bert.yaml", "version: 1\nname: b\nmodel:\n  path: " + bert.string() +
                                       "\nstages:\n  - name: s\n    passes:\n      - magnitude: {sparsity: 0.5}\n      - " +
                                       pass + "\noutput:\n  path: " + w.out.string() + "\n");
  auto r = run_cli({"--log-level", "info", "run", (w.dir / "bert.yaml").string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  double before = 0, after = 0;
  REQUIRE(std::sscanf(r.out.substr(r.out.find("validation loss ", r.out.find("tokens in"))).c_str(),
                      "validation loss %lf -> %lf", &before, &after) == 2);
  CHECK_THAT(r.out, Catch::Contains("validation distillation loss before training"));
  CHECK(before > 0);
  CHECK(after < 0.5 * before);
  auto ins = run_cli({"inspect", w.out.string()});
  CHECK(inspect_sparsity(ins.out, "bert.encoder.layer.1.output.dense.weight") == "50.00");

  // A shallower encoder student (DistilBERT's start): one block of two, learning both.
  write_bytes(w.dir / "shallow.yaml", "version: 1\nname: b\nmodel:\n  path: " + bert.string() +
                                          "\nstages:\n  - name: s\n    passes:\n      - " +
                                          distillation_pass({{"steps", "4"}, {"seq_len", "24"}, {"hidden_weight", "1"},
                                                             {"student_every", "2"}}) +
                                          "\noutput:\n  path: " + (w.dir / "shallow").string() + "\n");
  auto shallow = run_cli({"run", (w.dir / "shallow.yaml").string()});
  INFO(shallow.all());
  REQUIRE(shallow.code == 0);
  CHECK(nlohmann::json::parse(read_bytes(w.dir / "shallow" / "config.json")).at("num_hidden_layers") == 1);

  // Bad input: no hidden or attention term to learn from; logits to chunk that it has none of; a
  // causal teacher for an encoder student.
  make_tiny_gpt2(w.dir / "gpt2");
  for (const auto& [bad, expected] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {distillation_pass({{"seq_len", "24"}}), {"distillation", "encoder", "hidden_weight"}},
           {distillation_pass({{"seq_len", "24"}, {"hidden_weight", "1"}, {"logit_chunk", "8"}}), {"logit_chunk", "encoder"}},
           {distillation_pass({{"seq_len", "24"}, {"hidden_weight", "1"}, {"teacher", "gpt2"}}),
            {"teacher", "causal language model", "the student bert is an encoder"}},
       }) {
    write_bytes(w.dir / "bad.yaml", "version: 1\nname: b\nmodel:\n  path: " + bert.string() +
                                        "\nstages:\n  - name: s\n    passes:\n      - " + bad + "\noutput:\n  path: " +
                                        (w.dir / "bad-out").string() + "\n");
    require_bad_input(run_cli({"run", (w.dir / "bad.yaml").string()}), expected, w.dir / "bad-out");
  }
}

TEST_CASE("qat: W4 linears train inside distillation and freeze into the codes the runtime executes", "[cli][qat]") {
  auto w = make_workspace("qat");
  training_text(w.dir);
  auto spec = w.spec();
  spec.model = test_util::source_dir() / "models/kjv-gpt2";
  spec.pass = w4(64) +
              "\n      - qat: {ignore: [lm_head], learn_scales: true}\n      - distillation: {steps: 16, batch: 4, seq_len: 32, "
              "lr: 0.002, warmup_steps: 2, alpha: 0.0, temperature: 1.0, validation_windows: 4, dataset: train.txt, "
              "ignore: [lm_head]}";
  auto r = run_cli({"--log-level", "info", "run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("QAT froze 16 linears back into codes"));
  CHECK_THAT(r.out, !Catch::Contains("0.00% of the codes differ"));
  auto ins = run_cli({"inspect", w.out.string()});
  CHECK_THAT(ins.out, Catch::Contains("int4_g64_asym"));
  CHECK(eval_perplexity(w.out, w.text, "runtime") == table_value(r.out, kPpl, 2));
  CHECK(eval_perplexity(w.out, w.text, "torch") == table_value(r.out, kPpl, 2));
}

TEST_CASE("qat: bad stage layouts are located errors", "[cli][qat][bad-input]") {
  auto w = make_workspace("qat-bad");
  training_text(w.dir);
  const std::string distill =
      "distillation: {steps: 2, batch: 2, seq_len: 32, validation_windows: 2, dataset: train.txt, ignore: [lm_head]}";
  require_bad_passes(w, w.spec(),
                     {
                         // qat trains inside a distillation pass of its own stage.
                         {w4(16) + "\n      - qat: {ignore: [lm_head]}", {"qat", "has none"}},
                         // Nothing quantized these linears.
                         {"qat: {ignore: [lm_head]}\n      - " + distill, {"is not quantized"}},
                         // Distilling quantized linears without qat would lose their codes.
                         {w4(16) + "\n      - " + distill, {"add a qat pass"}},
                     });
}

TEST_CASE("gmp: gradual magnitude pruning inside distillation reaches its final sparsity", "[cli][gmp]") {
  auto w = make_workspace("gmp");
  training_text(w.dir);
  auto spec = w.spec();
  spec.pass = "gmp: {final_sparsity: 0.5, update_every: 4}\n      - distillation: {steps: 12, batch: 4, seq_len: 32, "
              "lr: 0.001, warmup_steps: 1, validation_windows: 2, dataset: train.txt}";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  auto ins = run_cli({"inspect", w.out.string()});
  for (const char* t : {"transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_fc.weight"}) {
    CHECK(inspect_sparsity(ins.out, t) == "50.00");
  }
  const auto layers = compressor::formats::read_manifest(w.out).at("layers");
  const auto& records = layers.at("transformer.h.1.mlp.c_fc");
  CHECK(records.back().at("pass") == "gmp");
  CHECK(records.back().at("sparsity").get<double>() == 0.5);
}

TEST_CASE("gmp: bad schedules are located errors", "[cli][gmp][bad-input]") {
  auto w = make_workspace("gmp-bad");
  training_text(w.dir);
  const std::string distill =
      "\n      - distillation: {steps: 10, batch: 2, seq_len: 32, validation_windows: 2, dataset: train.txt}";
  require_bad_passes(w, w.spec(),
                     {
                         {"gmp: {init_sparsity: 0.6, final_sparsity: 0.5}" + distill, {"final_sparsity", "below"}},
                         {"gmp: {final_sparsity: 1.0}" + distill, {"final_sparsity"}},
                         {"gmp: {end_step: 20}" + distill, {"end_step", "past the 10 training steps"}},
                         {"gmp: {start_step: 10}" + distill, {"start_step", "leaves no step"}},
                         {"gmp: {final_sparsity: 0.5}", {"gmp", "has none"}},
                     });
}
