// WordPiece and byte-level BPE tokenizers against Hugging Face `tokenizers` 0.23.3: exact ids on every
// line of tests/golden/tokenizer/lines.txt (tests/golden/make_tokenizer_golden.py made the expected
// files), lossless BPE round trips, and a BadInput naming the file for every unsupported or broken
// tokenizer.json.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "calibration/bpe.h"
#include "calibration/wordpiece.h"
#include "compressor/base/error.h"
#include "tests/catch_util.h"
#include "tests/calibration/golden_lines.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace compressor;
using namespace compressor::calibration;
using test_util::bad_input_message;
using test_util::read_bytes;
using test_util::write_bytes;

namespace {

fs::path golden(const std::string& name) { return test_util::source_dir() / "tests" / "golden" / "tokenizer" / name; }

const std::vector<std::string>& lines() { return test_util::tokenizer_golden_lines(); }

nlohmann::json expected(const std::string& name) {
  return nlohmann::json::parse(read_bytes(golden(name))).at("lines");
}

// Requires exact ids on every golden line, and the reference decode (WordPiece) or the reference
// pre-tokenization (BPE, "pieces") where the expected file has them.
void check_golden(const Tokenizer& tok, const std::string& expected_file, bool check_decoded) {
  const auto exp = expected(expected_file);
  REQUIRE(exp.size() == lines().size());
  REQUIRE(lines().size() >= 300);
  size_t mismatches = 0;
  for (size_t i = 0; i < lines().size(); ++i) {
    const auto ids = tok.encode(lines()[i]);
    const auto want = exp[i].at("ids").get<std::vector<int64_t>>();
    if (ids != want) {
      ++mismatches;
      UNSCOPED_INFO("line " << i + 1 << ": " << lines()[i]);
    }
    const auto* bpe = dynamic_cast<const BpeTokenizer*>(&tok);
    if (bpe && exp[i].contains("pieces") &&
        bpe->pre_tokenize(lines()[i]) != exp[i]["pieces"].get<std::vector<std::string>>()) {
      ++mismatches;
      UNSCOPED_INFO("pre-tokenization of line " << i + 1 << ": " << lines()[i]);
    }
    if (check_decoded && tok.decode(ids) != exp[i].at("decoded").get<std::string>()) {
      ++mismatches;
      UNSCOPED_INFO("decode of line " << i + 1 << ": " << tok.decode(ids));
    }
  }
  CHECK(mismatches == 0);
}

fs::path write_json(const std::string& tag, const nlohmann::json& j) {
  const fs::path p = test_util::temp_dir(tag) / "tokenizer.json";
  write_bytes(p, j.dump());
  return p;
}

}  // namespace

TEST_CASE("WordPiece from MiniLM tokenizer.json matches tokenizers on every golden line") {
  const auto tok = load_tokenizer_json(golden("wordpiece.tokenizer.json"));
  CHECK(tok->name() == "wordpiece");
  CHECK(tok->vocab_size() == 30522);
  check_golden(*tok, "wordpiece.expected.json", true);
}

TEST_CASE("WordPiece from vocab.txt and tokenizer_config.json matches tokenizers on every golden line") {
  const auto tok = WordPieceTokenizer::from_vocab_txt(golden("vocab.txt"));
  CHECK(tok->options().lower_case);
  check_golden(*tok, "wordpiece.expected.json", true);
}

TEST_CASE("WordPiece splits, lower-cases, strips accents and decodes readably") {
  const auto tok = WordPieceTokenizer::from_tokenizer_json(golden("wordpiece.tokenizer.json"));
  CHECK(tok->basic_tokenize("Héllo,  WORLD!\tÇa 中文") ==
        std::vector<std::string>{"hello", ",", "world", "!", "ca", "中", "文"});
  const auto ids = tok->encode("Hello, world! Tokenization isn't hard.");
  CHECK(ids.front() == *tok->token_to_id("[CLS]"));
  CHECK(ids.back() == *tok->token_to_id("[SEP]"));
  CHECK(tok->decode(ids) == "hello, world! tokenization isn ' t hard.");  // as tokenizers
  // A word over 100 characters is one [UNK].
  const int64_t unk = *tok->token_to_id("[UNK]");
  tok->set_add_special_tokens(false);
  CHECK(tok->encode(std::string(101, 'a')) == std::vector<int64_t>{unk});
  CHECK(tok->encode("") == std::vector<int64_t>{});
  // Special tokens in the text are matched verbatim.
  CHECK(tok->encode("[MASK]") == std::vector<int64_t>{*tok->token_to_id("[MASK]")});
  // Invalid UTF-8 becomes U+FFFD, which the BERT normalizer drops.
  CHECK(tok->encode("ab\xff\xfe" "cd") == tok->encode("abcd"));
  CHECK(tok->encode("\xe4\xb8") == std::vector<int64_t>{});
  CHECK_THROWS_AS(tok->decode({1 << 20}), BadInput);
}

TEST_CASE("BPE (GPT-2 ByteLevel) matches tokenizers on every golden line") {
  const auto tok = load_tokenizer_json(golden("bpe.tokenizer.json"));
  CHECK(tok->name() == "bpe");
  CHECK(tok->vocab_size() == 1000);
  check_golden(*tok, "bpe.expected.json", false);
}

TEST_CASE("BPE with add_prefix_space matches tokenizers on every golden line") {
  check_golden(*load_tokenizer_json(golden("bpe_prefix.tokenizer.json")), "bpe_prefix.expected.json", false);
}

TEST_CASE("BPE with a Digits and ByteLevel sequence matches tokenizers on every golden line") {
  check_golden(*load_tokenizer_json(golden("bpe_digits.tokenizer.json")), "bpe_digits.expected.json", false);
}

TEST_CASE("BPE with a Llama-3 Split and ByteLevel sequence matches tokenizers on every golden line") {
  check_golden(*load_tokenizer_json(golden("bpe_llama3.tokenizer.json")), "bpe_llama3.expected.json", false);
}

TEST_CASE("BPE decode of encode gives back every golden line") {
  for (const char* f : {"bpe.tokenizer.json", "bpe_digits.tokenizer.json", "bpe_llama3.tokenizer.json"}) {
    const auto tok = load_tokenizer_json(golden(f));
    size_t bad = 0;
    for (const auto& line : lines()) bad += tok->decode(tok->encode(line)) != line;
    INFO(f);
    CHECK(bad == 0);
  }
}

TEST_CASE("BPE round-trips invalid UTF-8 and every byte value") {
  const auto tok = BpeTokenizer::from_tokenizer_json(golden("bpe.tokenizer.json"));
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (const std::string& s : {all, std::string("ab\xff\xfe cd \xe4\xb8"), std::string("\xc0\x80 \xed\xa0\x80 x"),
                              std::string("tail \xf0\x9f\x98")}) {
    CHECK(tok->decode(tok->encode(s)) == s);
  }
  CHECK(tok->pre_tokenize("Hello  world's 123\tx \n") ==
        std::vector<std::string>{"Hello", " ", " world", "'s", " 123", "\t", "x", " \n"});
  CHECK(tok->encode("<|endoftext|>") == std::vector<int64_t>{0});
  CHECK_THROWS_AS(tok->decode({-1}), BadInput);
}

TEST_CASE("BPE merges written as strings give the same ids as merges written as pairs") {
  auto j = nlohmann::json::parse(read_bytes(golden("bpe.tokenizer.json")));
  REQUIRE(j["model"]["merges"][0].is_array());
  for (auto& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  const auto as_strings = load_tokenizer_json(write_json("tok-merges", j));
  const auto as_pairs = load_tokenizer_json(golden("bpe.tokenizer.json"));
  for (const auto& line : lines()) REQUIRE(as_strings->encode(line) == as_pairs->encode(line));
}

TEST_CASE("An unknown tokenizer.json model type is BadInput naming the file and the supported types") {
  nlohmann::json j = {{"model", {{"type", "Unigram"}, {"vocab", nlohmann::json::array()}}}};
  const auto p = write_json("tok-unigram", j);
  const auto msg = bad_input_message([&] { load_tokenizer_json(p); });
  CHECK_THAT(msg, Catch::Contains(p.string()) && Catch::Contains("model.type") && Catch::Contains("Unigram") &&
                      Catch::Contains("BPE") && Catch::Contains("WordPiece"));
}

TEST_CASE("A malformed tokenizer.json is BadInput naming the file") {
  const fs::path dir = test_util::temp_dir("tok-bad");
  SECTION("not JSON") {
    const fs::path p = dir / "tokenizer.json";
    write_bytes(p, "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()));
  }
  SECTION("missing file") {
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(dir / "none.json"); }), Catch::Contains("none.json"));
  }
  SECTION("no model") {
    const auto p = write_json("tok-nomodel", {{"version", "1.0"}});
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()) && Catch::Contains("model"));
  }
  SECTION("merge of tokens not in the vocabulary") {
    auto j = nlohmann::json::parse(read_bytes(golden("bpe.tokenizer.json")));
    j["model"]["merges"].push_back({"zzz", "qqq"});
    const auto p = write_json("tok-badmerge", j);
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()) && Catch::Contains("zzz"));
  }
  SECTION("vocab of the wrong type") {
    auto j = nlohmann::json::parse(read_bytes(golden("bpe.tokenizer.json")));
    j["model"]["vocab"] = "oops";
    const auto p = write_json("tok-badvocab", j);
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()) && Catch::Contains("model.vocab"));
  }
  SECTION("unsupported pre-tokenizer") {
    auto j = nlohmann::json::parse(read_bytes(golden("bpe.tokenizer.json")));
    j["pre_tokenizer"] = {{"type", "Metaspace"}};
    const auto p = write_json("tok-meta", j);
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()) && Catch::Contains("Metaspace"));
  }
  SECTION("Split with a regex other than Llama-3's") {
    auto j = nlohmann::json::parse(read_bytes(golden("bpe_llama3.tokenizer.json")));
    j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
    const auto p = write_json("tok-split", j);
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()) && Catch::Contains("Split"));
  }
  SECTION("WordPiece without its unknown token") {
    auto j = nlohmann::json::parse(read_bytes(golden("wordpiece.tokenizer.json")));
    j["model"]["unk_token"] = "[NOPE]";
    const auto p = write_json("tok-nounk", j);
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()) && Catch::Contains("[NOPE]"));
  }
}
