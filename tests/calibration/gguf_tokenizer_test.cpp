// The byte-level BPE tokenizer from GGUF metadata (calibration/gguf_tokenizer.h):
//  * tests/golden/gguf/tok-bpe*.gguf are the checked-in tiny tokenizer.json files converted to GGUF
//    metadata (tests/golden/make_gguf_tokenizer_golden.py); their ids must equal the existing
//    `tokenizers` goldens (bpe.expected.json, bpe_digits.expected.json) on every line of lines.txt;
//  * SmolLM2-135M-Instruct's GGUF (in .deps, skipped with a WARN when absent) against
//    smollm2_gguf.expected.json: `tokenizers` on a tokenizer.json rebuilt from the same metadata.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "calibration/gguf_tokenizer.h"
#include "compressor/base/error.h"
#include "formats/gguf.h"
#include "tests/catch_util.h"
#include "tests/tokenizers/golden_lines.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace compressor;
using namespace compressor::calibration;
using compressor::tokenizers::Tokenizer;

namespace {

fs::path golden(const std::string& dir, const std::string& name) {
  return test_util::source_dir() / "tests" / "golden" / dir / name;
}

const std::vector<std::string>& lines() { return test_util::tokenizer_golden_lines(); }

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(test_util::read_bytes(p)); }

void check_against(const Tokenizer& tok, const std::vector<std::string>& texts, const nlohmann::json& expected) {
  REQUIRE(expected.at("lines").size() == texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO("line " << i << ": " << texts[i]);
    const auto want = expected["lines"][i].at("ids").get<std::vector<int64_t>>();
    const auto ids = tok.encode(texts[i]);
    CHECK(ids == want);
    CHECK(tok.decode(ids) == texts[i]);
  }
}

}  // namespace

TEST_CASE("gguf tokenizer: GPT-2 ByteLevel (pre gpt2) matches tokenizers on every golden line") {
  auto tok = load_gguf_tokenizer(golden("gguf", "tok-bpe.gguf"));
  CHECK(tok->vocab_size() == 1000);
  check_against(*tok, lines(), read_json(golden("tokenizer", "bpe.expected.json")));
}

TEST_CASE("gguf tokenizer: SmolLM2 Digits and ByteLevel (pre smollm) matches tokenizers on every golden line") {
  auto tok = load_gguf_tokenizer(golden("gguf", "tok-bpe-digits.gguf"));
  check_against(*tok, lines(), read_json(golden("tokenizer", "bpe_digits.expected.json")));
  // Control tokens (token_type 3) are matched verbatim as special tokens.
  const auto ids = tok->encode("a<|endoftext|>b");
  REQUIRE(ids.size() == 3);
  CHECK(ids[1] == 0);
}

TEST_CASE("gguf tokenizer: unknown tokenizer.ggml.pre is BadInput naming key and value") {
  const auto msg = test_util::bad_input_message([] { load_gguf_tokenizer(golden("gguf", "tok-badpre.gguf")); });
  CHECK_THAT(msg, Catch::Contains("tok-badpre.gguf"));
  CHECK_THAT(msg, Catch::Contains("tokenizer.ggml.pre"));
  CHECK_THAT(msg, Catch::Contains("weird"));
}

TEST_CASE("gguf tokenizer: SmolLM2-135M-Instruct GGUF matches tokenizers on every golden line") {
  if (!fs::exists(test_util::smollm2_gguf())) {
    WARN("skipped: " << test_util::smollm2_gguf() << " is absent");
    return;
  }
  auto tok = load_gguf_tokenizer(test_util::smollm2_gguf());
  CHECK(tok->vocab_size() == 49152);
  const auto expected = read_json(golden("tokenizer", "smollm2_gguf.expected.json"));
  std::vector<std::string> texts;
  for (const auto& row : expected.at("lines")) texts.push_back(row.at("text").get<std::string>());
  // The first rows are lines.txt itself (the script encodes those, then a few prompts).
  const auto file_lines = lines();
  REQUIRE(texts.size() > file_lines.size());
  for (size_t i = 0; i < file_lines.size(); ++i) CHECK(texts[i] == file_lines[i]);
  check_against(*tok, texts, expected);
  CHECK(tok->encode("The capital of France is") == std::vector<int64_t>{504, 3575, 282, 4649, 314});
  CHECK(tok->encode("<|im_start|>")[0] == 1);
}
