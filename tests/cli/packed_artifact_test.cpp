// The packed artifact (format 1) through the real binary: quantized weights are written in
// compressed-tensors' layout byte for byte as llm-compressor writes them, read back to the
// perplexity the run printed, summarised in bits per weight, and a compressed checkpoint whose
// tensors disagree with their encoding is refused naming the tensor.
#include <catch2/catch.hpp>

#include <cstring>

#include <nlohmann/json.hpp>

#include "compressor/base/sha256.h"
#include "formats/artifact.h"
#include "formats/compressed_tensors.h"
#include "formats/safetensors.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;
using json = nlohmann::json;

namespace {

const fs::path kTinyLlama = test_util::source_dir() / "tests/golden/tiny-llama";

json golden_cases() {
  return json::parse(read_bytes(test_util::source_dir() / "tests/golden/artifact/compressed_tensors.json"))["cases"];
}

// A recipe that quantizes tiny-llama as the golden case did (float32 scales, as llm-compressor
// stores scales in the model's dtype).
std::string golden_recipe(const json& c, const fs::path& out) {
  return "version: 1\nname: golden\nseed: 0\nmodel:\n  path: " + kTinyLlama.string() +
         "\nstages:\n  - name: q\n    passes:\n      - quantization:\n          targets: [Linear]\n          ignore: " +
         c["ignore"].dump() + "\n          scale_dtype: float32\n          config_groups: " + c["config_groups"].dump() +
         "\noutput:\n  path: " + out.string() + "\n  dtype: f32\n";
}

void check_same_args(const compressor::quant::QuantArgs& a, const compressor::quant::QuantArgs& b) {
  CHECK(a.num_bits == b.num_bits);
  CHECK(a.type == b.type);
  CHECK(a.symmetric == b.symmetric);
  CHECK(a.strategy == b.strategy);
  CHECK(a.group_size == b.group_size);
}


}  // namespace

TEST_CASE("packed artifacts hold exactly the tensors llm-compressor writes for the same scheme", "[cli][artifact][golden]") {
  const auto cases = golden_cases();
  REQUIRE(cases.size() >= 10);
  const fs::path dir = test_util::temp_dir("packed-golden");
  for (const auto& c : cases) {
    const std::string name = c["name"];
    INFO("case " << name);
    const fs::path out = dir / name;
    const fs::path recipe = dir / (name + ".yaml");
    write_bytes(recipe, golden_recipe(c, out));
    auto r = run_cli({"run", recipe.string()});
    INFO(r.all());
    REQUIRE(r.code == 0);

    auto st = compressor::formats::SafetensorsFile::open(out / "model.safetensors");
    CHECK(st->tensors().size() == c["tensors"].size());
    for (const auto& [tensor, g] : c["tensors"].items()) {
      INFO("tensor " << tensor);
      REQUIRE(st->contains(tensor));
      const auto& info = st->info(tensor);
      CHECK(compressor::formats::dtype_name(info.dtype) == g["dtype"].get<std::string>());
      CHECK(info.shape == g["shape"].get<std::vector<int64_t>>());
      CHECK(compressor::base::sha256_hex(st->data(info), info.end - info.begin) == g["sha256"].get<std::string>());
    }

    // Both quantization_configs give every module the same encoding.
    const auto ours_json = json::parse(read_bytes(out / "config.json"))["quantization_config"];
    const auto ours = compressor::formats::parse_quantization_config(ours_json, "ours");
    const auto theirs = compressor::formats::parse_quantization_config(c["quantization_config"], "theirs");
    CHECK(ours_json["format"] == c["quantization_config"]["format"]);
    for (const auto& [tensor, g] : c["tensors"].items()) {
      const std::string suffix = ".weight_scale";
      if (tensor.size() < suffix.size() || tensor.compare(tensor.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
      const std::string module = tensor.substr(0, tensor.size() - suffix.size());
      INFO("module " << module);
      const auto* a = ours.group_for(module);
      const auto* b = theirs.group_for(module);
      REQUIRE(a);
      REQUIRE(b);
      check_same_args(*a->scheme.weights, *b->scheme.weights);
      CHECK(a->scheme.format == b->scheme.format);
      REQUIRE(a->scheme.input_activations.has_value() == b->scheme.input_activations.has_value());
      if (b->scheme.input_activations) {
        check_same_args(*a->scheme.input_activations, *b->scheme.input_activations);
        CHECK(a->scheme.input_activations->dynamic == b->scheme.input_activations->dynamic);
      }
      // Reading is the inverse of writing: decompressed and compressed again, the same bytes.
      const auto ckpt = compressor::formats::CheckpointTensors::open(out);
      const auto q = compressor::formats::decompress(ckpt, module, a->scheme);
      for (const auto& part : compressor::formats::compress(module, q)) {
        INFO("part " << part.name);
        const auto stored = ckpt.tensor(part.name);
        REQUIRE(stored.sizes() == part.tensor.sizes());
        CHECK(std::memcmp(stored.data_ptr(), part.tensor.contiguous().data_ptr(), stored.nbytes()) == 0);
      }
    }
    // The dense linears are ignored, as vLLM needs every linear matched or ignored.
    if (c["ignore"].empty()) {
      CHECK(ours_json["ignore"].empty());
    } else {
      CHECK(ours_json["ignore"] == json::array({"lm_head"}));
    }
  }
}

TEST_CASE("a packed artifact reads back to the run's perplexity and inspect prints its bits per weight", "[cli][artifact]") {
  auto w = make_workspace("packed-eval", {}, /*train_steps=*/30);
  auto spec = w.spec();
  spec.pass = "quantization: {config_groups: {attention: {targets: ['re:.*attn'], weights: {num_bits: 4, "
              "symmetric: false, strategy: group, group_size: 16}}, mlp: {targets: ['re:.*mlp'], weights: {num_bits: 8, "
              "strategy: channel}}}}";
  auto run = run_cli({"run", w.write_recipe(spec).string()});
  INFO(run.all());
  REQUIRE(run.code == 0);

  auto ev = run_cli({"eval", w.out.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                     "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes),
                     "--engine", "torch"});  // the LibTorch load round trip: the run measured with LibTorch
  INFO(ev.all());
  REQUIRE(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("perplexity " + table_value(run.out, kDataset + std::string("/perplexity"), 2) + ","));

  const auto manifest = compressor::formats::read_manifest(w.out);
  CHECK(manifest["format_version"] == 1);
  const auto config = json::parse(read_bytes(w.out / "config.json"));
  REQUIRE(config.contains("quantization_config"));
  CHECK(config["quantization_config"]["format"] == "pack-quantized");
  CHECK(config["quantization_config"]["config_groups"].size() == 2);

  // The stored bytes of each module are what its encoding's bits per weight promise.
  int64_t modules = 0;
  for (const auto& s : compressor::formats::stored_weights(manifest)) {
    if (s.encoding == "int4_g16_asym") {
      // [out, in] codes at 4 bits, an f16 scale and a packed 4-bit zero point per 16, the int64 [2] shape.
      const double expected = 4.0 + 16.0 / 16 + 4.0 / 16 + 128.0 / static_cast<double>(s.weights);
      CHECK(s.bits_per_weight() == Approx(expected).epsilon(1e-12));
      ++modules;
    } else if (s.encoding == "int8_channel_sym") {
      CHECK(s.bits_per_weight() == Approx(8.0 + 16.0 / static_cast<double>(s.shape[1]) + 128.0 / static_cast<double>(s.weights)));
      ++modules;
    }
  }
  CHECK(modules == 8);  // 2 blocks × (c_attn, attn.c_proj, c_fc, mlp.c_proj)

  auto in = run_cli({"inspect", w.out.string()});
  INFO(in.all());
  REQUIRE(in.code == 0);
  CHECK_THAT(in.out, Catch::Contains("format     v1"));
  CHECK_THAT(in.out, Catch::Contains("transformer.h.0.attn.c_attn") && Catch::Contains("int4_g16_asym"));
  CHECK_THAT(in.out, Catch::Contains("bits per weight") && Catch::Contains("quantized: "));
}

TEST_CASE("W8A8 and FP8_DYNAMIC artifacts quantize activations when read back, to the run's perplexity", "[cli][artifact]") {
  auto w = make_workspace("packed-w8a8", {}, /*train_steps=*/30);
  for (const std::string scheme : {"W8A8", "FP8_DYNAMIC"}) {
    INFO(scheme);
    auto spec = w.spec();
    spec.pass = "quantization: {scheme: " + scheme + "}";
    spec.output = w.dir / scheme;
    auto run = run_cli({"run", w.write_recipe(spec).string()});
    INFO(run.all());
    REQUIRE(run.code == 0);
    const auto config = json::parse(read_bytes(spec.output / "config.json"))["quantization_config"];
    CHECK(config["format"] == (scheme == "W8A8" ? "int-quantized" : "float-quantized"));
    CHECK(config["config_groups"]["group_0"]["input_activations"]["dynamic"] == true);
    auto ev = run_cli({"eval", spec.output.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                       "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes),
                     "--engine", "torch"});  // the LibTorch load round trip: the run measured with LibTorch
    INFO(ev.all());
    REQUIRE(ev.code == 0);
    CHECK_THAT(ev.out, Catch::Contains("perplexity " + table_value(run.out, kDataset + std::string("/perplexity"), 2) + ","));
  }
  // The activations really are quantized: the same int8 channel weights with 4-bit dynamic
  // activations (coarse enough to show on this tiny model) score differently from the weights alone.
  auto spec = w.spec();
  const std::string weights = "weights: {num_bits: 8, strategy: channel}";
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], " + weights + "}}}";
  spec.output = w.dir / "w8a16";
  auto w8 = run_cli({"run", w.write_recipe(spec).string()});
  REQUIRE(w8.code == 0);
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], " + weights +
              ", input_activations: {num_bits: 4, strategy: token, dynamic: true}}}}";
  spec.output = w.dir / "w8a4";
  auto w8a4 = run_cli({"run", w.write_recipe(spec).string()});
  INFO(w8a4.all());
  REQUIRE(w8a4.code == 0);
  CHECK(table_value(w8a4.out, kDataset + std::string("/perplexity"), 2) !=
        table_value(w8.out, kDataset + std::string("/perplexity"), 2));
}

TEST_CASE("a compressed checkpoint whose tensors disagree with their encoding is refused naming the tensor",
          "[cli][artifact][bad-input]") {
  auto w = make_workspace("packed-bad");
  auto spec = w.spec();
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, symmetric: false, "
              "strategy: group, group_size: 16}}}}";
  auto run = run_cli({"run", w.write_recipe(spec).string()});
  INFO(run.all());
  REQUIRE(run.code == 0);
  const std::string m = "transformer.h.0.mlp.c_fc";
  using Edit = std::function<void(std::vector<compressor::formats::StoredTensor>&)>;
  const std::vector<std::tuple<std::string, Edit, std::function<void(json&)>, std::vector<std::string>>> cases = {
      {"a packed tensor one word short",
       [&](auto& ts) {
         auto& t = find_tensor(ts, m + ".weight_packed");
         t.tensor = t.tensor.narrow(1, 0, t.tensor.size(1) - 1).contiguous();
       },
       {},
       {m + ".weight_packed", "int4_g16_asym", "I32"}},
      {"a missing scale", [&](auto& ts) { ts.erase(ts.begin() + (&find_tensor(ts, m + ".weight_scale") - ts.data())); }, {},
       {m + ".weight_scale", "missing"}},
      {"a missing zero point", [&](auto& ts) { ts.erase(ts.begin() + (&find_tensor(ts, m + ".weight_zero_point") - ts.data())); },
       {}, {m + ".weight_zero_point", "missing"}},
      {"a weight_shape that disagrees with the packed tensor",
       [&](auto& ts) {
         auto& t = find_tensor(ts, m + ".weight_shape");
         t.tensor = torch::tensor({int64_t{64}, int64_t{16}}, torch::kInt64);
       },
       {},
       {m + ".weight_packed", "of a [64, 16] weight"}},
      {"a zero scale",
       [&](auto& ts) {
         auto& t = find_tensor(ts, m + ".weight_scale");
         t.tensor = t.tensor.clone();
         t.tensor.view(-1)[0] = 0;
       },
       {},
       {m, "scale is zero"}},
      {"a config whose groups target another module", [](auto&) {},
       [](json& c) { c["quantization_config"]["config_groups"]["group_0"]["targets"] = json::array({"lm_head"}); },
       {"config.json", "transformer.h.0.attn.c_attn", "no group"}},
      {"a config that declares 8 bits for 4-bit tensors", [](auto&) {},
       [](json& c) { c["quantization_config"]["config_groups"]["group_0"]["weights"]["num_bits"] = 8; },
       {"transformer.h.0.attn.c_attn.weight_packed", "int8_g16_asym"}},
  };
  int i = 0;
  for (const auto& [what, edit, edit_config, needles] : cases) {
    INFO(what);
    const fs::path bad = w.dir / ("bad-" + std::to_string(i++));
    copy_without_manifest(w.out, bad, edit, edit_config);
    const auto before = read_bytes(bad / "model.safetensors");
    auto r = run_cli({"eval", bad.string(), "--text", w.text.string(), "--max-bytes", "512"});
    INFO(r.all());
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("compressor: error: "));
    for (const auto& n : needles) CHECK_THAT(r.err, Catch::Contains(n));
    CHECK_THAT(r.all(), !Catch::Contains("internal error"));
    CHECK(read_bytes(bad / "model.safetensors") == before);
  }

  // Untouched, the same copy (a plain compressed-tensors checkpoint, as llm-compressor writes) reads.
  copy_without_manifest(w.out, w.dir / "plain", [](auto&) {});
  auto ok = run_cli({"eval", (w.dir / "plain").string(), "--text", w.text.string(), "--max-bytes", "512"});
  INFO(ok.all());
  CHECK(ok.code == 0);
}

TEST_CASE("static activation scales (FP8, static int8) are calibrated, stored as input_scale and read back",
          "[cli][artifact][static]") {
  auto w = make_workspace("packed-static", {}, /*train_steps=*/30);
  const std::string calibration =
      "calibration:\n  source: " + w.text.string() + "\n  samples: 8\n  seq_len: 32\n  sequential: true\n";
  const std::string m = "transformer.h.0.mlp.c_fc";
  const std::vector<std::pair<std::string, std::string>> schemes = {
      {"fp8", "quantization: {scheme: FP8}"},
      {"int8-asym", "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 8, strategy: channel}, "
                    "input_activations: {num_bits: 8, symmetric: false, strategy: tensor, dynamic: false}}}}"}};
  for (const auto& [name, pass] : schemes) {
    INFO(name);
    auto spec = w.spec();
    spec.extra = calibration;
    spec.pass = pass;
    spec.output = w.dir / name;
    auto run = run_cli({"run", w.write_recipe(spec).string()});
    INFO(run.all());
    REQUIRE(run.code == 0);
    const auto config = json::parse(read_bytes(spec.output / "config.json"))["quantization_config"];
    CHECK(config["config_groups"]["group_0"]["input_activations"]["dynamic"] == false);
    auto ev = run_cli({"eval", spec.output.string(), "--text", w.text.string(), "--seq-len", std::to_string(kSeqLen),
                       "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes),
                     "--engine", "torch"});  // the LibTorch load round trip: the run measured with LibTorch
    INFO(ev.all());
    REQUIRE(ev.code == 0);
    CHECK_THAT(ev.out, Catch::Contains("perplexity " + table_value(run.out, kDataset + std::string("/perplexity"), 2) + ","));

    const fs::path bad = w.dir / (name + "-no-input-scale");
    copy_without_manifest(spec.output, bad, [&](auto& ts) {
      ts.erase(ts.begin() + (&find_tensor(ts, m + ".input_scale") - ts.data()));
    });
    auto r = run_cli({"eval", bad.string(), "--text", w.text.string(), "--max-bytes", "512"});
    INFO(r.all());
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(m + ".input_scale") && Catch::Contains("missing"));
    CHECK_THAT(r.all(), !Catch::Contains("internal error"));
  }
  // Static scales need the calibration sweep, and are per tensor.
  auto spec = w.spec();
  spec.pass = "quantization: {scheme: FP8}";
  spec.output = w.dir / "never";
  auto r = run_cli({"run", w.write_recipe(spec).string()});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("needs calibration data"));
  spec.extra = calibration;
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 8, strategy: channel}, "
              "input_activations: {num_bits: 8, strategy: token, dynamic: false}}}}";
  r = run_cli({"run", w.write_recipe(spec).string()});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("input_activations") && Catch::Contains("dynamic only"));
  CHECK(files_under(spec.output).empty());
}
