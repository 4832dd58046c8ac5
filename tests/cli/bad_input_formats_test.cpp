// Bad pretrained-model inputs through the real binary: GGUF corruption, a GGUF of another
// architecture, an unsupported quant type, foreign tokenizers, unsupported rope scaling, tensor
// shapes that disagree with the config. Each exits 2 and names the file and the key, tensor or
// value at fault.
#include <catch2/catch.hpp>

#include <cstdint>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_fixture.h"
#include "tests/test_util.h"

using namespace cli_test;

namespace {
fs::path golden(const std::string& name) { return test_util::source_dir() / "tests" / "golden" / name; }

void require_exit2(const CliResult& r, const std::vector<std::string>& needles) {
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("compressor: error: "));
  for (const auto& n : needles) CHECK_THAT(r.err, Catch::Contains(n));
}

// A copy of the tiny Llama GGUF with `edit` applied to its bytes.
fs::path edited_gguf(const std::string& tag, const std::function<void(std::string&)>& edit) {
  const auto path = test_util::temp_dir(tag) / "model.gguf";
  std::string bytes = read_bytes(golden("gguf/tiny-llama.gguf"));
  edit(bytes);
  write_bytes(path, bytes);
  return path;
}
}  // namespace

TEST_CASE("a GGUF with a wrong magic or version is named", "[cli][bad-input]") {
  auto magic = edited_gguf("gguf-magic", [](std::string& b) { b[0] = 'X'; });
  require_exit2(run_cli({"inspect", magic.string()}), {magic.string(), "GGUF"});
  auto version = edited_gguf("gguf-version", [](std::string& b) { b[4] = 9; });
  require_exit2(run_cli({"eval", version.string(), "--text", (golden("tokenizer") / "lines.txt").string()}),
                {version.string(), "version 9"});
}

TEST_CASE("a GGUF whose tensor count runs past the file is named", "[cli][bad-input]") {
  // Bytes 8..15 hold the tensor count (u64, little-endian) in GGUF v2/v3.
  auto count = edited_gguf("gguf-count", [](std::string& b) { b[14] = 0x7f; });
  require_exit2(run_cli({"inspect", count.string()}), {count.string(), "tensor"});
}

TEST_CASE("a GGUF of an architecture we do not load names general.architecture", "[cli][bad-input]") {
  const auto gguf = golden("gguf/tiny-llama-badarch.gguf");
  require_exit2(run_cli({"eval", gguf.string(), "--text", (golden("tokenizer") / "lines.txt").string()}),
                {gguf.string(), "general.architecture"});
}

TEST_CASE("a GGUF with a quant type we do not dequantize names the tensor, the type and the supported ones",
          "[cli][bad-input]") {
  // Retype blk.0.attn_q.weight (F32 [64, 64], 16 KiB of data) as Q2_K [256, 16]: 16 blocks of
  // 84 bytes fit in its old data, and every other tensor keeps its explicit offset, so the file
  // opens and the model load reaches the tensor.
  auto q2k = edited_gguf("gguf-q2k", [](std::string& b) {
    const std::string name = "blk.0.attn_q.weight";
    const size_t at = b.find(name);
    REQUIRE(at != std::string::npos);
    auto put = [&](size_t pos, uint64_t v, int bytes) {
      for (int i = 0; i < bytes; ++i) b[pos + i] = static_cast<char>((v >> (8 * i)) & 0xff);
    };
    const size_t dims = at + name.size();  // u32 n_dims, u64 ne[n_dims], u32 type, u64 offset
    REQUIRE(b[dims] == 2);
    put(dims + 4, 256, 8);
    put(dims + 12, 16, 8);
    put(dims + 20, 10, 4);  // GGML_TYPE_Q2_K
  });
  require_exit2(run_cli({"eval", q2k.string(), "--text", (golden("tokenizer") / "lines.txt").string()}),
                {q2k.string(), "blk.0.attn_q.weight", "Q2_K", "supported: F32", "Q6_K"});
}

TEST_CASE("a tokenizer.json with an unknown model type is named with the supported types", "[cli][bad-input]") {
  const auto dir = test_util::temp_dir("tok-unigram");
  const auto model = make_tiny_gpt2(dir / "model");
  auto tok = nlohmann::json::parse(read_bytes(golden("tokenizer") / "bpe.tokenizer.json"));
  tok["model"]["type"] = "Unigram";
  write_bytes(model / "tokenizer.json", tok.dump());
  const auto text = make_text(dir / "text.txt");
  require_exit2(run_cli({"eval", model.string(), "--text", text.string()}),
                {(model / "tokenizer.json").string(), "model.type", "Unigram", "BPE", "WordPiece"});
}

TEST_CASE("a Llama config with rope scaling is refused naming the key", "[cli][bad-input]") {
  const auto dir = test_util::temp_dir("rope-scaling") / "model";
  fs::create_directories(dir);
  for (const char* f : {"model.safetensors", "config.json"}) fs::copy_file(golden("tiny-llama") / f, dir / f);
  auto config = nlohmann::json::parse(read_bytes(dir / "config.json"));
  config["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  write_bytes(dir / "config.json", config.dump(2));
  require_exit2(run_cli({"eval", dir.string(), "--text", (golden("tokenizer") / "lines.txt").string()}),
                {(dir / "config.json").string(), "rope_scaling", "linear"});
}

TEST_CASE("a checkpoint whose tensor shapes disagree with its config names tensor, expected and found shape",
          "[cli][bad-input]") {
  const auto text = (golden("tokenizer") / "lines.txt").string();
  SECTION("safetensors with a config.json that says intermediate_size 128") {
    const auto dir = test_util::temp_dir("llama-shape") / "model";
    fs::create_directories(dir);
    for (const char* f : {"model.safetensors", "config.json"}) fs::copy_file(golden("tiny-llama") / f, dir / f);
    auto config = nlohmann::json::parse(read_bytes(dir / "config.json"));
    config["intermediate_size"] = 128;
    write_bytes(dir / "config.json", config.dump(2));
    require_exit2(run_cli({"eval", dir.string(), "--text", text}),
                  {"model.layers.0.mlp.gate_proj.weight", "[96, 64]", "[128, 64]"});
  }
  SECTION("GGUF whose token embedding is narrower than llama.embedding_length") {
    const auto gguf = golden("gguf/tiny-llama-badshape.gguf");
    require_exit2(run_cli({"eval", gguf.string(), "--text", text}),
                  {gguf.string(), "token_embd.weight", "[100, 63]", "[100, 64]"});
  }
}
