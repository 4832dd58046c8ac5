// The quantization pass through the real binary: a preset and config_groups run end to end, and
// every bad scheme exits 2 naming the recipe location and the key or layer.
#include <catch2/catch.hpp>

#include <string>

#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

const std::string kGroup16 = "{num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 16}";

}  // namespace

TEST_CASE("quantization with config_groups runs end to end and costs a little perplexity", "[cli][quantization]") {
  auto w = make_workspace("quant-e2e", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.pass = "quantization: {config_groups: {attention: {targets: ['re:.*attn'], weights: " + kGroup16 +
              "}, mlp: {targets: ['re:.*mlp'], weights: {num_bits: 8, strategy: channel, symmetric: false}}}}";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  const double before = std::stod(table_value(r.out, "tiny/perplexity", 1));
  const double after = std::stod(table_value(r.out, "tiny/perplexity", 2));
  CHECK(after != before);
  CHECK(after < before * 1.5);
  CHECK(!files_under(w.out).empty());
}

TEST_CASE("quantization: a preset whose groups do not divide a width names the layer and the width", "[cli][quantization][bad-input]") {
  auto w = make_workspace("quant-width");  // n_embd 32: W4A16's groups of 128 do not fit
  auto spec = w.spec();
  spec.pass = "quantization: {scheme: W4A16}";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}),
                    {"recipe.yaml:", "stages[0].passes[0].quantization", "transformer.h.0.attn.c_attn", "group_size 128",
                     "width 32"},
                    w.out);
}

TEST_CASE("quantization: bad schemes are named with their key", "[cli][quantization][bad-input]") {
  auto w = make_workspace("quant-bad");
  auto spec = w.spec();
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"quantization: {scheme: W4A17}", {"quantization.scheme", "unknown quantization preset 'W4A17'", "W4A16_ASYM"}},
      {"quantization: {}", {"quantization", "needs a scheme"}},
      {"quantization: {scheme: W4A16, config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}}",
       {"either scheme or config_groups"}},
      {"quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 9, strategy: channel}}}}",
       {"quantization.config_groups.g.weights", "num_bits 9", "2-8"}},
      {"quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 8, type: float, symmetric: false}}}}",
       {"config_groups.g.weights", "FP8 has no zero point"}},
      {"quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, group_size: 16, bogus: 1}}}}",
       {"config_groups.g.weights.bogus", "unknown"}},
      {"quantization: {config_groups: {a: {targets: [Linear], weights: " + kGroup16 + "}, b: {targets: ['re:.*mlp'], weights: " +
           kGroup16 + "}}}",
       {"matched by both config_groups.a and config_groups.b"}},
      {"quantization: {scheme: FP8}", {"quantization", "needs calibration data"}},  // static activation scales
      {"quantization: {config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}, scale_dtype: float8}",
       {"quantization.scale_dtype", "float8"}},
  };
  require_bad_passes(w, spec, cases);
}

TEST_CASE("quantization: a config group that matches nothing is a warning naming it", "[cli][quantization]") {
  auto w = make_workspace("quant-unused");
  auto spec = w.spec();
  spec.pass = "quantization: {config_groups: {used: {targets: [Linear], weights: " + kGroup16 +
              "}, unused: {targets: ['re:nothing.*'], weights: " + kGroup16 + "}}}";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  INFO(r.all());
  CHECK(r.code == 0);
  CHECK_THAT(r.all(), Catch::Contains("config_groups.unused matches none"));
}

namespace {
}  // namespace

TEST_CASE("gptq runs in the sequential driver, writes a packed artifact and costs less than round to nearest",
          "[cli][quantization][gptq]") {
  auto w = make_workspace("gptq-e2e", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  const std::string weights = "{num_bits: 3, type: int, symmetric: false, strategy: group, group_size: 16}";
  spec.pass = "gptq: {config_groups: {g: {targets: [Linear], weights: " + weights + "}}}";
  auto gptq = run_cli({"run", w.write_recipe(spec).string()});
  INFO(gptq.all());
  REQUIRE(gptq.code == 0);
  const double before = std::stod(table_value(gptq.out, "tiny/perplexity", 1));
  const double after_gptq = std::stod(table_value(gptq.out, "tiny/perplexity", 2));
  const auto config = read_bytes(w.out / "config.json");
  CHECK_THAT(config, Catch::Contains("\"quant_method\": \"compressed-tensors\"") && Catch::Contains("\"num_bits\": 3"));

  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: " + weights + "}}}";
  spec.output = w.dir / "rtn";
  auto rtn = run_cli({"run", w.write_recipe(spec, "rtn.yaml").string()});
  INFO(rtn.all());
  REQUIRE(rtn.code == 0);
  const double after_rtn = std::stod(table_value(rtn.out, "tiny/perplexity", 2));
  CHECK(after_gptq - before < after_rtn - before);

  // true_sequential (the default) calibrates each linear on its already-quantized predecessors'
  // outputs; false calibrates the whole block on the dense block, as llm-compressor does. Both beat
  // round to nearest, and they are different runs.
  spec.pass = "gptq: {true_sequential: false, config_groups: {g: {targets: [Linear], weights: " + weights + "}}}";
  spec.output = w.dir / "dense-capture";
  auto dense_capture = run_cli({"run", w.write_recipe(spec, "dense-capture.yaml").string()});
  INFO(dense_capture.all());
  REQUIRE(dense_capture.code == 0);
  const double after_dense_capture = std::stod(table_value(dense_capture.out, "tiny/perplexity", 2));
  CHECK(after_dense_capture - before < after_rtn - before);
  CHECK(read_bytes(w.out / "model.safetensors") != read_bytes(w.dir / "dense-capture" / "model.safetensors"));

  auto ev = run_cli({"eval", w.out.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                     "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes),
                     "--engine", "torch"});  // the LibTorch load round trip: the run measured with LibTorch
  INFO(ev.all());
  REQUIRE(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("perplexity " + table_value(gptq.out, "tiny/perplexity", 2) + ","));
}

TEST_CASE("gptq: bad options are named with their key", "[cli][quantization][gptq][bad-input]") {
  auto w = make_workspace("gptq-bad");
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  const std::string g = "config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"gptq: {" + g + ", dampening_frac: 0}", {"gptq.dampening_frac", "0"}},
      {"gptq: {" + g + ", dampening_frac: 1.5}", {"gptq.dampening_frac", "1.5"}},
      {"gptq: {" + g + ", block_size: 0}", {"gptq.block_size"}},
      {"gptq: {" + g + ", true_sequential: sometimes}", {"gptq.true_sequential", "sometimes"}},
      {"gptq: {" + g + ", actorder: columns}", {"gptq.actorder", "columns"}},
      {"gptq: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, strategy: channel, actorder: group}}}}",
       {"config_groups.g.weights", "actorder 'group'", "needs strategy 'group'"}},
      {"gptq: {config_groups: {g: {targets: [Linear], weights: " + kGroup16 +
           ", input_activations: {num_bits: 8, strategy: token, dynamic: false}}}}",
       {"gptq.config_groups.g.input_activations", "dynamic only"}},
      {"gptq: {scheme: W4A16}", {"transformer.h.0.attn.c_attn", "group_size 128", "width 32"}},
  };
  require_bad_passes(w, spec, cases);
  // Without calibration data GPTQ has no Hessian.
  spec.extra.clear();
  spec.pass = "gptq: {" + g + "}";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"gptq", "needs calibration data"}, w.out);
}

TEST_CASE("smoothquant folds without changing the float model, then W8A8 reads back to the run's perplexity",
          "[cli][quantization][smoothquant]") {
  auto w = make_workspace("smoothquant", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  spec.pass = "smoothquant: {smoothing_strength: 0.5}";
  auto alone = run_cli({"run", w.write_recipe(spec).string()});
  INFO(alone.all());
  REQUIRE(alone.code == 0);
  CHECK(table_value(alone.out, "tiny/perplexity", 1) == table_value(alone.out, "tiny/perplexity", 2));

  spec.pass = "smoothquant: {smoothing_strength: 0.5}\n  - name: quantize\n    passes:\n      - quantization: {scheme: W8A8}";
  spec.output = w.dir / "sq-w8a8";
  auto r = run_cli({"run", w.write_recipe(spec, "sq.yaml").string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  auto ev = run_cli({"eval", spec.output.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                     "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes),
                     "--engine", "torch"});  // the LibTorch load round trip: the run measured with LibTorch
  INFO(ev.all());
  REQUIRE(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("perplexity " + table_value(r.out, "tiny/perplexity", 2) + ","));

  spec.pass = "smoothquant: {smoothing_strength: 1.5}";
  spec.output = w.dir / "never";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"smoothquant.smoothing_strength", "1.5"}, spec.output);
  spec.extra.clear();
  spec.pass = "smoothquant: {}";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"smoothquant", "needs calibration data"}, spec.output);
}

TEST_CASE("awq scales and rounds to nearest end to end, below round to nearest, and reads back to the run's perplexity",
          "[cli][quantization][awq]") {
  auto w = make_workspace("awq-e2e", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  const std::string weights = "{num_bits: 3, type: int, symmetric: false, strategy: group, group_size: 16}";
  spec.pass = "awq: {config_groups: {g: {targets: [Linear], weights: " + weights + "}}}";
  auto awq = run_cli({"run", w.write_recipe(spec).string()});
  INFO(awq.all());
  REQUIRE(awq.code == 0);
  const double before = std::stod(table_value(awq.out, "tiny/perplexity", 1));
  const double after_awq = std::stod(table_value(awq.out, "tiny/perplexity", 2));
  CHECK_THAT(read_bytes(w.out / "config.json"), Catch::Contains("\"quant_method\": \"compressed-tensors\""));
  auto ev = run_cli({"eval", w.out.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                     "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes),
                     "--engine", "torch"});  // the LibTorch load round trip: the run measured with LibTorch
  INFO(ev.all());
  REQUIRE(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("perplexity " + table_value(awq.out, "tiny/perplexity", 2) + ","));

  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: " + weights + "}}}";
  spec.output = w.dir / "rtn";
  auto rtn = run_cli({"run", w.write_recipe(spec, "rtn.yaml").string()});
  INFO(rtn.all());
  REQUIRE(rtn.code == 0);
  CHECK(after_awq - before < std::stod(table_value(rtn.out, "tiny/perplexity", 2)) - before);

  // AWQ's scales, then GPTQ in the same sweep (it sees the scaled inputs' Hessians).
  spec.pass = "awq: {config_groups: {g: {targets: [Linear], weights: " + weights + "}}, quantize: false}\n      - gptq: "
              "{config_groups: {g: {targets: [Linear], weights: " + weights + "}}}";
  spec.output = w.dir / "awq-gptq";
  auto both = run_cli({"run", w.write_recipe(spec, "awq-gptq.yaml").string()});
  INFO(both.all());
  REQUIRE(both.code == 0);
  CHECK_THAT(read_bytes(spec.output / "config.json"), Catch::Contains("\"quant_method\": \"compressed-tensors\""));
  CHECK(std::stod(table_value(both.out, "tiny/perplexity", 2)) < std::stod(table_value(rtn.out, "tiny/perplexity", 2)));
}

TEST_CASE("awq: bad options are named with their key", "[cli][quantization][awq][bad-input]") {
  auto w = make_workspace("awq-bad");
  auto spec = w.spec();
  spec.extra = calibration_block(w);
  const std::string g = "config_groups: {g: {targets: [Linear], weights: " + kGroup16 + "}}";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"awq: {" + g + ", n_grid: 1}", {"awq.n_grid", "1"}},
      {"awq: {" + g + ", duo_scaling: maybe}", {"awq.duo_scaling", "maybe", "both"}},
      {"awq: {" + g + ", duo_scaling: both, n_grid: 3}", {"awq", "n_grid", "below 4"}},
      {"awq: {" + g + ", max_shrink: 1}", {"awq.max_shrink", "1"}},
      {"awq: {scheme: W4A16}", {"transformer.h.0.attn.c_attn", "group_size 128", "width 32"}},
      {"awq: {scheme: W4A17}", {"awq.scheme", "W4A17"}},
  };
  require_bad_passes(w, spec, cases);
  spec.extra.clear();
  spec.pass = "awq: {" + g + "}";
  require_bad_input(run_cli({"run", w.write_recipe(spec).string()}), {"awq", "needs calibration data"}, w.out);
}
