// The GGUF-metadata tokenizer from plain data (compressor/tokenizers/gguf_vocab.h): the golden
// byte-level BPE written as tokenizer.ggml.* values, with each supported tokenizer.ggml.pre, must
// give the ids `tokenizers` gives for the matching tokenizer.json family on every golden line.
// (Reading the keys from a .gguf file is calibration/gguf_tokenizer.h, tested in tests/calibration.)
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "compressor/tokenizers/gguf_vocab.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"
#include "tests/tokenizers/golden_lines.h"

using namespace compressor::tokenizers;

namespace {

nlohmann::json read_golden(const std::string& name) {
  return nlohmann::json::parse(test_util::read_bytes(test_util::tokenizer_golden(name)));
}

// bpe.tokenizer.json as llama.cpp's converter stores it.
GgufVocab golden_vocab(const std::string& pre) {
  const auto j = read_golden("bpe.tokenizer.json");
  GgufVocab v;
  v.source = "golden.gguf";
  v.model = "gpt2";
  v.pre = pre;
  for (const auto& [tok, id] : j["model"]["vocab"].items()) {
    const auto i = id.get<size_t>();
    if (i >= v.tokens.size()) v.tokens.resize(i + 1);
    v.tokens[i] = tok;
  }
  v.token_types.assign(v.tokens.size(), 1);
  for (const auto& a : j["added_tokens"]) v.token_types[a["id"].get<size_t>()] = 3;
  for (const auto& m : j["model"]["merges"]) v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
  return v;
}

}  // namespace

TEST_CASE("gguf vocab: every tokenizer.ggml.pre matches its tokenizers family on every golden line") {
  for (const auto& [pre, family] : std::vector<std::pair<std::string, std::string>>{
           {"gpt2", "bpe"}, {"default", "bpe"}, {"smollm", "bpe_digits"}, {"llama-bpe", "bpe_llama3"},
           {"qwen2", "bpe_qwen2"}, {"gpt-4o", "bpe_o200k"}}) {
    INFO("tokenizer.ggml.pre " << pre);
    const auto tok = load_gguf_vocab(golden_vocab(pre));
    CHECK(tok->vocab_size() == 1000);
    const auto rows = read_golden(family + ".expected.json").at("lines");
    const auto& texts = test_util::tokenizer_golden_lines();
    REQUIRE(rows.size() == texts.size());
    size_t bad = 0;
    for (size_t i = 0; i < texts.size(); ++i) bad += tok->encode(texts[i]) != rows[i].at("ids").get<std::vector<int64_t>>();
    CHECK(bad == 0);
  }
}

TEST_CASE("gguf vocab: the tokenizer.json it writes names the same pieces") {
  const auto j = gguf_tokenizer_json(golden_vocab("qwen2"));
  CHECK(j["normalizer"]["type"] == "NFC");
  CHECK(j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] ==
        read_golden("bpe_qwen2.tokenizer.json")["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]);
  CHECK(j["added_tokens"].size() == 1);
  CHECK(j["added_tokens"][0]["special"] == true);
}

TEST_CASE("gguf vocab: an unsupported model or pre-tokenizer is BadInput naming the key and the value") {
  auto v = golden_vocab("weird");
  auto msg = test_util::bad_input_message([&] { load_gguf_vocab(v); });
  CHECK_THAT(msg, Catch::StartsWith("golden.gguf: ") && Catch::Contains("tokenizer.ggml.pre") && Catch::Contains("weird"));
  v.pre = "gpt2";
  v.model = "llama";
  msg = test_util::bad_input_message([&] { load_gguf_vocab(v); });
  CHECK_THAT(msg, Catch::Contains("tokenizer.ggml.model") && Catch::Contains("llama"));
  v.model = "gpt2";
  v.token_types.pop_back();
  msg = test_util::bad_input_message([&] { load_gguf_vocab(v); });
  CHECK_THAT(msg, Catch::Contains("tokenizer.ggml.token_type"));
}

TEST_CASE("gguf vocab from tokenizer.json: each family's file is recognised and tokenizes as `tokenizers` does") {
  for (const auto& [family, pre] : std::vector<std::pair<std::string, std::string>>{
           {"bpe", "gpt-2"}, {"bpe_digits", "smollm"}, {"bpe_llama3", "llama-bpe"}, {"bpe_qwen2", "qwen2"},
           {"bpe_o200k", "gpt-4o"}}) {
    INFO(family);
    const auto j = read_golden(family + ".tokenizer.json");
    const auto v = gguf_vocab_from_tokenizer_json(j, family + ".tokenizer.json", 1003);
    CHECK(v.pre == pre);
    CHECK(v.model == "gpt2");
    REQUIRE(v.tokens.size() == 1003);
    CHECK(v.tokens[1002] == "[PAD1002]");
    CHECK(v.token_types[1002] == 5);
    const auto tok = load_gguf_vocab(v);
    const auto rows = read_golden(family + ".expected.json").at("lines");
    const auto& texts = test_util::tokenizer_golden_lines();
    size_t bad = 0;
    for (size_t i = 0; i < texts.size(); ++i) bad += tok->encode(texts[i]) != rows[i].at("ids").get<std::vector<int64_t>>();
    CHECK(bad == 0);
  }
}

TEST_CASE("gguf vocab from tokenizer.json: the inverse of gguf_tokenizer_json") {
  const auto v = golden_vocab("smollm");
  const auto back = gguf_vocab_from_tokenizer_json(gguf_tokenizer_json(v), "t.json", static_cast<int64_t>(v.tokens.size()));
  CHECK(back.tokens == v.tokens);
  CHECK(back.token_types == v.token_types);
  CHECK(back.merges == v.merges);
  CHECK(back.pre == "smollm");
}

TEST_CASE("gguf vocab from tokenizer.json: what GGUF cannot name is BadInput naming the file and key") {
  auto j = read_golden("bpe_prefix.tokenizer.json");  // ByteLevel with add_prefix_space: no GGUF pre-tokenizer
  auto msg = test_util::bad_input_message([&] { gguf_vocab_from_tokenizer_json(j, "p.json", 1000); });
  CHECK_THAT(msg, Catch::StartsWith("p.json: pre_tokenizer"));
  j = read_golden("bpe.tokenizer.json");
  msg = test_util::bad_input_message([&] { gguf_vocab_from_tokenizer_json(j, "small.json", 10); });
  CHECK_THAT(msg, Catch::StartsWith("small.json: model.vocab") && Catch::Contains("outside the model's vocabulary of 10"));
  msg = test_util::bad_input_message([&] { gguf_vocab_from_tokenizer_json(read_golden("wordpiece.tokenizer.json"), "w.json", 1000); });
  CHECK_THAT(msg, Catch::StartsWith("w.json: model.type"));
}

TEST_CASE("gguf vocab: the byte vocabulary encodes every text as its bytes") {
  const auto tok = load_gguf_vocab(byte_gguf_vocab());
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::vector<int64_t> ids(256);
  for (int b = 0; b < 256; ++b) ids[static_cast<size_t>(b)] = b;
  CHECK(tok->encode(all) == ids);
  CHECK(tok->encode("Hello, 2024 world") == std::vector<int64_t>{72, 101, 108, 108, 111, 44, 32, 50, 48, 50, 52, 32, 119, 111, 114, 108, 100});
}
