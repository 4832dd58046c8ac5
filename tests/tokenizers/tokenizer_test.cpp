// WordPiece and byte-level BPE tokenizers against Hugging Face `tokenizers` 0.23.3: exact ids (and
// the reference pre-tokenization or decode) on every line of tests/golden/tokenizer/lines.txt and
// more_lines.txt for every family tests/golden/make_tokenizer_golden.py writes, lossless BPE round
// trips, and a BadInput naming the file and the key for every unsupported or broken tokenizer.json.
#include <catch2/catch.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
#include "compressor/tokenizers/tokenizer_json.h"
#include "compressor/tokenizers/vocab_txt.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"
#include "tests/tokenizers/golden_lines.h"

namespace fs = std::filesystem;
using namespace compressor;
using namespace compressor::tokenizers;
using test_util::bad_input_message;
using test_util::read_bytes;
using test_util::write_bytes;

namespace {

fs::path golden(const std::string& name) { return test_util::tokenizer_golden(name); }

const std::vector<std::string>& lines() { return test_util::tokenizer_golden_lines(); }
const std::vector<std::string>& more_lines() { return test_util::tokenizer_more_lines(); }

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_bytes(p)); }

// Requires exact ids on every text, and the reference decode (WordPiece, "decoded") or the
// reference normalization + pre-tokenization (BPE, "pieces") where the rows have them.
void check_rows(const Tokenizer& tok, const std::vector<std::string>& texts, const nlohmann::json& rows) {
  REQUIRE(rows.size() == texts.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tok.encode(texts[i]);
    if (ids != rows[i].at("ids").get<std::vector<int64_t>>()) {
      ++mismatches;
      UNSCOPED_INFO("line " << i + 1 << ": " << texts[i]);
    }
    const auto* bpe = dynamic_cast<const BpeTokenizer*>(&tok);
    if (bpe && rows[i].contains("pieces") &&
        bpe->pre_tokenize(texts[i]) != rows[i]["pieces"].get<std::vector<std::string>>()) {
      ++mismatches;
      UNSCOPED_INFO("pre-tokenization of line " << i + 1 << ": " << texts[i]);
    }
    if (rows[i].contains("decoded") && tok.decode(ids) != rows[i]["decoded"].get<std::string>()) {
      ++mismatches;
      UNSCOPED_INFO("decode of line " << i + 1 << ": " << tok.decode(ids));
    }
  }
  CHECK(mismatches == 0);
}

// lines.txt against <family>.expected.json and more_lines.txt against more_lines.expected.json.
void check_family(const Tokenizer& tok, const std::string& family) {
  REQUIRE(lines().size() >= 300);
  check_rows(tok, lines(), read_json(golden(family + ".expected.json")).at("lines"));
  check_rows(tok, more_lines(), read_json(golden("more_lines.expected.json")).at("families").at(family));
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
  check_family(*tok, "wordpiece");
}

TEST_CASE("WordPiece from vocab.txt and tokenizer_config.json matches tokenizers on every golden line") {
  const auto tok = load_vocab_txt(golden("vocab.txt"));
  CHECK(tok->encode("HÉLLO World") == tok->encode("hello world"));  // do_lower_case from tokenizer_config.json
  check_family(*tok, "wordpiece");
}

TEST_CASE("WordPiece splits, lower-cases, strips accents and decodes readably") {
  const auto tok = load_wordpiece_json(golden("wordpiece.tokenizer.json"));
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
  check_family(*tok, "bpe");
}

TEST_CASE("BPE with add_prefix_space matches tokenizers on every golden line") {
  check_family(*load_tokenizer_json(golden("bpe_prefix.tokenizer.json")), "bpe_prefix");
}

TEST_CASE("BPE with a Digits and ByteLevel sequence matches tokenizers on every golden line") {
  check_family(*load_tokenizer_json(golden("bpe_digits.tokenizer.json")), "bpe_digits");
}

TEST_CASE("BPE with a Llama-3 Split and ByteLevel sequence matches tokenizers on every golden line") {
  check_family(*load_tokenizer_json(golden("bpe_llama3.tokenizer.json")), "bpe_llama3");
}

TEST_CASE("BPE with Qwen2's NFC normalizer and Split matches tokenizers on every golden line") {
  check_family(*load_tokenizer_json(golden("bpe_qwen2.tokenizer.json")), "bpe_qwen2");
}

TEST_CASE("BPE with GPT-4o's o200k Split matches tokenizers on every golden line") {
  check_family(*load_tokenizer_json(golden("bpe_o200k.tokenizer.json")), "bpe_o200k");
}

TEST_CASE("BPE with NFD+Lowercase and an inverted Removed Split matches tokenizers on every golden line") {
  check_family(*load_tokenizer_json(golden("bpe_ws_removed.tokenizer.json")), "bpe_ws_removed");
}

TEST_CASE("BPE with NFKC and MergedWithPrevious/MergedWithNext/Contiguous/Removed Splits matches tokenizers") {
  check_family(*load_tokenizer_json(golden("bpe_merged.tokenizer.json")), "bpe_merged");
}

TEST_CASE("BPE decode of encode gives back every golden line") {
  // The families without a normalizer and with every piece kept.
  for (const char* f : {"bpe.tokenizer.json", "bpe_digits.tokenizer.json", "bpe_llama3.tokenizer.json",
                        "bpe_o200k.tokenizer.json"}) {
    const auto tok = load_tokenizer_json(golden(f));
    size_t bad = 0;
    for (const auto* texts : {&lines(), &more_lines()})
      for (const auto& line : *texts) bad += tok->decode(tok->encode(line)) != line;
    INFO(f);
    CHECK(bad == 0);
  }
}

TEST_CASE("BPE round-trips invalid UTF-8 and every byte value") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::vector<std::string> texts = {all, std::string("ab\xff\xfe cd \xe4\xb8"),
                                          std::string("\xc0\x80 \xed\xa0\x80 x"), std::string("tail \xf0\x9f\x98"),
                                          std::string("It's \xff\xff 123\xe4 '\xffs")};
  for (const char* f : {"bpe.tokenizer.json", "bpe_llama3.tokenizer.json", "bpe_o200k.tokenizer.json",
                        "bpe_qwen2.tokenizer.json"}) {
    const auto tok = load_bpe_json(golden(f));
    INFO(f);
    for (const auto& s : texts) CHECK(tok->decode(tok->encode(s)) == s);
  }
  const auto tok = load_bpe_json(golden("bpe.tokenizer.json"));
  CHECK(tok->pre_tokenize("Hello  world's 123\tx \n") ==
        std::vector<std::string>{"Hello", " ", " world", "'s", " 123", "\t", "x", " \n"});
  // An invalid byte is one symbol character: it joins the punctuation run after " ".
  CHECK(tok->pre_tokenize("a \xff!b") == std::vector<std::string>{"a", " \xff!", "b"});
  CHECK(tok->encode("<|endoftext|>") == std::vector<int64_t>{0});
  CHECK_THROWS_AS(tok->decode({-1}), BadInput);
}

TEST_CASE("BPE merges written as strings give the same ids as merges written as pairs") {
  auto j = read_json(golden("bpe.tokenizer.json"));
  REQUIRE(j["model"]["merges"][0].is_array());
  for (auto& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  const auto as_strings = load_tokenizer_json(write_json("tok-merges", j));
  const auto as_pairs = load_tokenizer_json(golden("bpe.tokenizer.json"));
  for (const auto& line : lines()) REQUIRE(as_strings->encode(line) == as_pairs->encode(line));
}

TEST_CASE("Added tokens marked normalized are matched in the normalized text") {
  auto j = read_json(golden("bpe_ws_removed.tokenizer.json"));  // NFD + Lowercase
  j["added_tokens"].push_back({{"id", 1000}, {"content", "<SEP>"}, {"special", false}, {"normalized", true},
                               {"lstrip", false}, {"rstrip", false}, {"single_word", false}});
  const auto tok = load_bpe_json(j, "tokenizer.json");
  CHECK(tok->vocab_size() == 1001);
  const auto ids = tok->encode("a <sep> b <SEP>");  // both spellings lower-case to "<sep>"
  CHECK(std::count(ids.begin(), ids.end(), 1000) == 2);
  CHECK(tok->decode({1000}) == "<SEP>");
}

TEST_CASE("An unknown tokenizer.json model type is BadInput naming the file and the supported types") {
  nlohmann::json j = {{"model", {{"type", "Unigram"}, {"vocab", nlohmann::json::array()}}}};
  const auto p = write_json("tok-unigram", j);
  const auto msg = bad_input_message([&] { load_tokenizer_json(p); });
  CHECK_THAT(msg, Catch::Contains(p.string()) && Catch::Contains("model.type") && Catch::Contains("Unigram") &&
                      Catch::Contains("BPE") && Catch::Contains("WordPiece"));
}

TEST_CASE("A malformed tokenizer.json is BadInput naming the file and the key") {
  const fs::path dir = test_util::temp_dir("tok-bad");
  auto bad = [](const std::string& tag, const nlohmann::json& j) {
    const auto p = write_json(tag, j);
    const auto msg = bad_input_message([&] { load_tokenizer_json(p); });
    CHECK_THAT(msg, Catch::StartsWith(p.string() + ": "));
    return msg;
  };
  SECTION("not JSON") {
    const fs::path p = dir / "tokenizer.json";
    write_bytes(p, "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(p); }), Catch::Contains(p.string()));
  }
  SECTION("missing file") {
    CHECK_THAT(bad_input_message([&] { load_tokenizer_json(dir / "none.json"); }), Catch::Contains("none.json"));
  }
  SECTION("no model") { CHECK_THAT(bad("tok-nomodel", {{"version", "1.0"}}), Catch::Contains("model")); }
  SECTION("merge of tokens not in the vocabulary") {
    auto j = read_json(golden("bpe.tokenizer.json"));
    j["model"]["merges"].push_back({"zzz", "qqq"});
    CHECK_THAT(bad("tok-badmerge", j), Catch::Contains("model.merges[") && Catch::Contains("zzz"));
  }
  SECTION("vocab of the wrong type") {
    auto j = read_json(golden("bpe.tokenizer.json"));
    j["model"]["vocab"] = "oops";
    CHECK_THAT(bad("tok-badvocab", j), Catch::Contains("model.vocab"));
  }
  SECTION("unsupported pre-tokenizer") {
    auto j = read_json(golden("bpe.tokenizer.json"));
    j["pre_tokenizer"] = {{"type", "Metaspace"}};
    CHECK_THAT(bad("tok-meta", j), Catch::Contains("pre_tokenizer: ") && Catch::Contains("Metaspace"));
  }
  SECTION("unsupported normalizer inside a Sequence") {
    auto j = read_json(golden("bpe_ws_removed.tokenizer.json"));
    j["normalizer"]["normalizers"][1] = {{"type", "Precompiled"}};
    CHECK_THAT(bad("tok-norm", j), Catch::Contains("normalizer.normalizers[1]: ") && Catch::Contains("Precompiled"));
  }
  SECTION("a Split regex Oniguruma rejects, with Oniguruma's message") {
    auto j = read_json(golden("bpe_llama3.tokenizer.json"));
    j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?i:'s|\\p{L}+";
    CHECK_THAT(bad("tok-split", j), Catch::Contains("pre_tokenizer.pretokenizers[0].pattern: ") &&
                                        Catch::Contains("end pattern with unmatched parenthesis"));
    j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{NoSuchProperty}";
    CHECK_THAT(bad("tok-split2", j), Catch::Contains("pre_tokenizer.pretokenizers[0].pattern: ") &&
                                         Catch::Contains("invalid character property name"));
  }
  SECTION("a Split behavior that does not exist") {
    auto j = read_json(golden("bpe_llama3.tokenizer.json"));
    j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
    CHECK_THAT(bad("tok-behavior", j), Catch::Contains("pre_tokenizer.pretokenizers[0].behavior: ") &&
                                           Catch::Contains("Sideways"));
  }
  SECTION("ByteLevel missing, or not last") {
    auto j = read_json(golden("bpe_llama3.tokenizer.json"));
    auto seq = j["pre_tokenizer"]["pretokenizers"];
    j["pre_tokenizer"] = seq[0];
    CHECK_THAT(bad("tok-nobl", j), Catch::Contains("pre_tokenizer: ") && Catch::Contains("ByteLevel"));
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {seq[1], seq[0]}}};
    CHECK_THAT(bad("tok-bllast", j), Catch::Contains("pre_tokenizer: ") && Catch::Contains("ByteLevel"));
  }
  SECTION("an added token with lstrip") {
    auto j = read_json(golden("bpe.tokenizer.json"));
    j["added_tokens"][0]["lstrip"] = true;
    CHECK_THAT(bad("tok-lstrip", j), Catch::Contains("added_tokens[0]: ") && Catch::Contains("lstrip"));
  }
  SECTION("WordPiece without its unknown token") {
    auto j = read_json(golden("wordpiece.tokenizer.json"));
    j["model"]["unk_token"] = "[NOPE]";
    CHECK_THAT(bad("tok-nounk", j), Catch::Contains("[NOPE]"));
  }
}
