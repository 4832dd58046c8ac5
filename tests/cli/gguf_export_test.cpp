// `compressor export --to gguf` through the real binary. Independent checks:
// - a plain checkpoint exports to the tensors (names, shapes, bytes, q/k row order) that gguf-py
//   wrote for the same checkpoint the way llama.cpp's converter converts it
//   (tests/golden/gguf/tiny-llama.gguf, tests/golden/make_gguf_llama_golden.py);
// - quantized weights are carried over exactly: the GGUF blocks, dequantized by our ggml-exact
//   reader, equal the runtime's dequantization of the artifact, and the Llama loaded from the GGUF
//   (LibTorch) gives the runtime's logits on the artifact;
// - schemes with no exact GGUF type are refused, naming the module, and leave the output alone.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "compressor/model/gguf_model.h"
#include "compressor/runtime/decoder.h"
#include "compressor/tokenizers/gguf_vocab.h"
#include "formats/gguf.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;
using compressor::formats::GgufFile;
using compressor::runtime::Decoder;

namespace {

const fs::path kTinyLlama = test_util::source_dir() / "tests/golden/tiny-llama";
const fs::path kGolden = test_util::source_dir() / "tests/golden/gguf/tiny-llama.gguf";

CliResult run_ok(const std::vector<std::string>& args) {
  auto r = run_cli(args);
  INFO(r.all());
  REQUIRE(r.code == 0);
  return r;
}

fs::path quantize(const Workspace& w, const fs::path& model, const std::string& name, const std::string& pass) {
  auto spec = w.spec();
  spec.model = model;
  spec.pass = pass;
  spec.output = w.dir / name;
  run_ok({"run", w.write_recipe(spec, name + ".yaml").string()});
  return spec.output;
}

std::string weights(int bits, const std::string& strategy) {
  return "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: " + std::to_string(bits) +
         ", type: int, symmetric: true, strategy: " + strategy + "}}}, ignore: [lm_head]}";
}

// Logits of `tokens` from the runtime on `artifact` and from the LibTorch Llama loaded from `gguf`.
double max_logit_difference(const fs::path& artifact, const fs::path& gguf, const std::vector<int32_t>& tokens) {
  const auto rt = Decoder::load(artifact);
  auto state = rt->new_state(static_cast<int64_t>(tokens.size()));
  const auto logits = rt->logits(rt->forward(tokens.data(), static_cast<int64_t>(tokens.size()), state));
  auto m = compressor::model::load_gguf_model(gguf);
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  torch::NoGradGuard no_grad;
  const auto t = m->forward(torch::tensor(ids).unsqueeze(0)).squeeze(0).contiguous();
  REQUIRE(t.size(0) == logits.rows);
  REQUIRE(t.size(1) == logits.cols);
  const auto ours = torch::from_blob(const_cast<float*>(logits.data.data()), {logits.rows, logits.cols});
  return (t - ours).abs().max().item<double>();
}

}  // namespace

TEST_CASE("export: a plain Llama checkpoint gives the tensors llama.cpp's converter gives (gguf-py golden)",
          "[cli][export]") {
  const auto dir = test_util::temp_dir("export-golden");
  const auto out = dir / "tiny-llama.gguf";
  const auto r = run_ok({"export", kTinyLlama.string(), "--to", "gguf", "--out", out.string()});
  CHECK_THAT(r.out, Catch::Contains("architecture llama") && Catch::Contains("F32"));
  const auto ours = GgufFile::open(out), golden = GgufFile::open(kGolden);
  CHECK(ours->version() == 3);
  CHECK(ours->get_string("general.architecture") == "llama");
  for (const char* key : {"llama.context_length", "llama.embedding_length", "llama.block_count",
                          "llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv"}) {
    INFO(key);
    CHECK(ours->get_int(key) == golden->get_int(key));
  }
  CHECK(ours->get_float("llama.attention.layer_norm_rms_epsilon") == Approx(1e-6));
  CHECK(ours->get_float("llama.rope.freq_base") == 10000.0);
  CHECK(ours->get_string("tokenizer.ggml.model") == "none");  // vocab 100 and no tokenizer.json
  REQUIRE(ours->tensors().size() == golden->tensors().size());
  for (const auto& g : golden->tensors()) {
    INFO(g.name);
    REQUIRE(ours->contains(g.name));
    const auto& o = ours->info(g.name);
    CHECK(o.ne == g.ne);
    CHECK(o.type == g.type);
    REQUIRE(o.size == g.size);
    CHECK(std::memcmp(ours->data(o), golden->data(g), g.size) == 0);
  }
}

TEST_CASE("export: int4 and int8 weights are carried into Q4_0 and Q8_0 exactly, llama logits agree",
          "[cli][export]") {
  auto w = make_workspace("export-llama", {}, 0);
  const auto llama = make_tiny_llama(w.dir / "llama", 0, 30, w.text);
  const std::vector<int32_t> tokens = {73, 110, 32, 116, 104, 101, 32, 98, 101, 103, 105, 110, 110, 105, 110, 103};
  struct Case {
    std::string name, pass, type;
  };
  const std::vector<Case> cases = {
      {"w4-g32", weights(4, "group, group_size: 32"), "Q4_0"},
      {"w4-g64", weights(4, "group, group_size: 64"), "Q4_0"},
      {"w8-channel", weights(8, "channel"), "Q8_0"},
      {"w3-channel", weights(3, "channel"), "Q4_0"},
      {"dense", "magnitude: {sparsity: 0.5}", "F32"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto artifact = quantize(w, llama, c.name, c.pass);
    const auto gguf = w.dir / (c.name + ".gguf");
    const auto r = run_ok({"export", artifact.string(), "--to", "gguf", "--out", gguf.string()});
    CHECK_THAT(r.out, Catch::Contains(c.type));
    CHECK_THAT(r.out, Catch::Contains("tokenizer: byte-level"));

    // Every weight dequantizes from the GGUF blocks to exactly what the runtime executes.
    const auto file = GgufFile::open(gguf);
    const auto rt = Decoder::load(artifact);
    const auto& down = rt->layers()[1].down;
    const auto& info = file->info("blk.1.ffn_down.weight");
    CHECK(compressor::formats::ggml_type_name(info.type) == c.type);
    const auto from_gguf = file->dequantize("blk.1.ffn_down.weight").contiguous();
    std::vector<float> row(static_cast<size_t>(down.cols));
    for (int64_t r = 0; r < down.rows; ++r) {
      down.dequantize_row(r, row.data());
      REQUIRE(std::memcmp(row.data(), from_gguf[r].data_ptr<float>(), row.size() * 4) == 0);
    }
    // The head stays as the artifact keeps it (ignored by the scheme: F32).
    CHECK(compressor::formats::ggml_type_name(file->info("output.weight").type) == "F32");

    // The whole model: llama.cpp's layout loaded back gives the runtime's logits.
    CHECK(max_logit_difference(artifact, gguf, tokens) < 1e-4);

    // The byte vocabulary encodes text as its bytes, as the artifact's byte tokenizer does.
    compressor::tokenizers::GgufVocab v;
    v.model = file->get_string("tokenizer.ggml.model");
    v.pre = file->get_string("tokenizer.ggml.pre");
    v.tokens = file->get_array("tokenizer.ggml.tokens").strings;
    const auto tok = compressor::tokenizers::load_gguf_vocab(v);
    CHECK(tok->encode("In the 2 begin\xc3\xa9") ==
          std::vector<int64_t>{73, 110, 32, 116, 104, 101, 32, 50, 32, 98, 101, 103, 105, 110, 0xc3, 0xa9});
  }
}

TEST_CASE("export: a GPT-2 artifact maps to llama.cpp's gpt2 tensors, Conv1D weights transposed", "[cli][export]") {
  auto w = make_workspace("export-gpt2", {}, 0);
  const auto artifact = quantize(w, w.model, "w4", weights(4, "group, group_size: 32"));
  const auto gguf = w.dir / "w4.gguf";
  run_ok({"export", artifact.string(), "--to", "gguf"});  // default --out: the directory + .gguf
  REQUIRE(fs::exists(gguf));
  const auto file = GgufFile::open(gguf);
  CHECK(file->get_string("general.architecture") == "gpt2");
  CHECK(file->get_int("gpt2.block_count") == 2);
  CHECK(file->get_int("gpt2.embedding_length") == 32);
  CHECK_FALSE(file->contains("output.weight"));  // tied: llama.cpp reuses token_embd
  const auto rt = Decoder::load(artifact);
  const auto& qkv = *rt->layers()[0].qkv;
  const auto& info = file->info("blk.0.attn_qkv.weight");
  CHECK(info.ne == std::vector<uint64_t>{32, 96});
  CHECK(compressor::formats::ggml_type_name(info.type) == "Q4_0");
  const auto from_gguf = file->dequantize("blk.0.attn_qkv.weight").contiguous();
  std::vector<float> row(32);
  for (int64_t r = 0; r < qkv.rows; ++r) {
    qkv.dequantize_row(r, row.data());
    REQUIRE(std::memcmp(row.data(), from_gguf[r].data_ptr<float>(), 32 * 4) == 0);
  }
  const auto bias = file->dequantize("blk.0.attn_qkv.bias");
  CHECK(std::memcmp(bias.data_ptr<float>(), qkv.bias.data(), 96 * 4) == 0);
  const auto pos = file->dequantize("position_embd.weight");
  CHECK(pos.size(0) == 64);
  CHECK(std::memcmp(pos.data_ptr<float>(), rt->positions().data(), 64 * 32 * 4) == 0);
}

TEST_CASE("export: 16-bit weights are carried into F16 and BF16 tensors bit for bit", "[cli][export]") {
  auto w = make_workspace("export-half", {}, 0);
  for (const std::string dtype : {"f16", "bf16"}) {
    CAPTURE(dtype);
    auto spec = w.spec();
    spec.pass = weights(4, "group, group_size: 32");
    spec.output = w.dir / dtype;
    run_ok({"run", w.write_recipe(spec, dtype + ".yaml").string(), "--set", "output.dtype=" + dtype});
    const auto gguf = w.dir / (dtype + ".gguf");
    run_ok({"export", spec.output.string(), "--to", "gguf", "--out", gguf.string()});
    const auto file = GgufFile::open(gguf);
    const auto& info = file->info("token_embd.weight");  // the tied embedding, a dense 16-bit linear
    CHECK(compressor::formats::ggml_type_name(info.type) == (dtype == "f16" ? "F16" : "BF16"));
    const auto rt = Decoder::load(spec.output);
    const auto& embed = rt->embedding();
    REQUIRE(embed.storage == compressor::runtime::WeightStorage::dense16);
    const auto from_gguf = file->dequantize("token_embd.weight").contiguous();
    std::vector<float> row(static_cast<size_t>(embed.cols));
    for (int64_t r = 0; r < embed.rows; ++r) {
      embed.dequantize_row(r, row.data());
      REQUIRE(std::memcmp(row.data(), from_gguf[r].data_ptr<float>(), row.size() * 4) == 0);
    }
  }
}

TEST_CASE("export: schemes without an exact GGUF type are refused, naming the module, the output is untouched",
          "[cli][export][bad-input]") {
  auto w = make_workspace("export-bad", {}, 0);
  const auto out = w.dir / "kept.gguf";
  write_bytes(out, "an older export");
  struct Case {
    std::string name, pass, says;
  };
  const std::vector<Case> cases = {
      {"asym", "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, "
               "symmetric: false, strategy: group, group_size: 32}}}}",
       "asymmetric"},
      {"g16", weights(4, "group, group_size: 16"), "group_size 16"},
      {"fp8", "quantization: {scheme: FP8_DYNAMIC}", "FP8"},
      {"f32-scales", "quantization: {scale_dtype: float32, config_groups: {g: {targets: [Linear], weights: "
                     "{num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 32}}}}",
       "float16"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto artifact = quantize(w, w.model, c.name, c.pass);
    const auto r = run_cli({"export", artifact.string(), "--to", "gguf", "--out", out.string()});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("model.safetensors") && Catch::Contains("transformer.h.0.attn.c_attn") &&
                          Catch::Contains(c.says) && Catch::Contains("symmetric: true"));
    CHECK(read_bytes(out) == "an older export");
  }
  const auto r = run_cli({"export", w.model.string(), "--to", "onnx"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("--to"));
  const auto missing = run_cli({"export", (w.dir / "nothing").string(), "--to", "gguf", "--out", out.string()});
  CHECK(missing.code == 2);
  CHECK(read_bytes(out) == "an older export");
}
