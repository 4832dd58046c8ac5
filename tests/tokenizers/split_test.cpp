// The building blocks against Hugging Face `tokenizers` 0.23.3 (tests/golden/make_tokenizer_golden.py):
// Split with every SplitDelimiterBehavior, inverted or not, on regexes that match empty strings or
// look ahead and on literal strings that need escaping (split.expected.json); each normalizer on
// every golden line (normalizers.expected.json); and the Oniguruma wrapper's own contract.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "compressor/tokenizers/normalizer.h"
#include "compressor/tokenizers/pre_tokenizer.h"
#include "compressor/tokenizers/regex.h"
#include "compressor/tokenizers/unicode.h"
#include "tests/test_util.h"
#include "tests/tokenizers/golden_lines.h"

using namespace compressor::tokenizers;

namespace {

nlohmann::json read_golden(const std::string& name) {
  return nlohmann::json::parse(test_util::read_bytes(test_util::tokenizer_golden(name)));
}

std::vector<std::string> pieces(const PreTokenizer& pre, std::string_view text) {
  std::vector<std::string_view> words;
  std::deque<std::string> owned;
  pre.pre_tokenize(text, words, owned);
  return {words.begin(), words.end()};
}

}  // namespace

TEST_CASE("Split matches tokenizers for every behavior, invert, and regex or literal pattern") {
  const auto cases = read_golden("split.expected.json").at("cases");
  REQUIRE(cases.size() > 500);
  size_t mismatches = 0;
  for (const auto& c : cases) {
    const auto& pat = c.at("pattern");
    const auto behavior = split_behavior_named(c.at("behavior").get<std::string>());
    REQUIRE(behavior);
    PreTokenizer pre;
    pre.add_split(pat.contains("Regex") ? regex_pattern(pat["Regex"].get<std::string>())
                                        : literal_pattern(pat.at("String").get<std::string>()),
                  *behavior, c.at("invert").get<bool>());
    const auto text = c.at("text").get<std::string>();
    if (pieces(pre, text) != c.at("pieces").get<std::vector<std::string>>()) {
      ++mismatches;
      UNSCOPED_INFO(pat.dump() << " " << c["behavior"] << " invert " << c["invert"] << " on " << nlohmann::json(text));
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("Each normalizer matches tokenizers on every golden line") {
  const auto g = read_golden("normalizers.expected.json");
  const auto texts = g.at("lines").get<std::vector<std::string>>();
  using Step = Normalizer::Step;
  const std::vector<std::pair<std::string, Normalizer>> forms = [] {
    std::vector<std::pair<std::string, Normalizer>> v;
    for (auto [name, steps] : std::vector<std::pair<std::string, std::vector<Step>>>{
             {"NFC", {Step::NFC}}, {"NFD", {Step::NFD}}, {"NFKC", {Step::NFKC}}, {"NFKD", {Step::NFKD}},
             {"Lowercase", {Step::Lowercase}}, {"NFD+StripAccents", {Step::NFD, Step::StripAccents}}}) {
      Normalizer n;
      for (Step s : steps) n.add(s);
      v.emplace_back(name, n);
    }
    v.emplace_back("BertNormalizer", bert_normalizer(true, true, std::nullopt, true));
    return v;
  }();
  for (const auto& [name, n] : forms) {
    const auto want = g.at("normalizers").at(name).get<std::vector<std::string>>();
    REQUIRE(want.size() == texts.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      if (n.normalize(texts[i]) != want[i]) {
        ++mismatches;
        UNSCOPED_INFO(name << " of line " << i + 1 << ": " << texts[i]);
      }
    }
    INFO(name);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("Normalizers pass invalid UTF-8 bytes through, except BERT's clean-text step") {
  Normalizer nfc;
  nfc.add(Normalizer::Step::NFC);
  nfc.add(Normalizer::Step::Lowercase);
  CHECK(nfc.normalize("A\xff" "e\xcc\x81\xc0") == "a\xff\xc3\xa9\xc0");
  CHECK(bert_normalizer(true, false, false, false).normalize("a\xff" "b\tc") == "ab c");
}

TEST_CASE("Regex: Oniguruma syntax as tokenizers uses it, matches as the onig crate iterates them") {
  std::vector<std::pair<size_t, size_t>> m;
  Regex(R"(\p{L}+|\p{N}{1,3}|\s+(?!\S)|\s+)").find_all("ab  12345 é", m);
  CHECK(m == std::vector<std::pair<size_t, size_t>>{{0, 2}, {2, 3}, {3, 4}, {4, 7}, {7, 9}, {9, 10}, {10, 12}});
  m.clear();
  Regex("(?i:'s)").find_all("'S 's", m);
  CHECK(m == std::vector<std::pair<size_t, size_t>>{{0, 2}, {3, 5}});
  m.clear();
  Regex("a*").find_all("baa", m);  // empty at 0, "aa", no empty match right after it
  CHECK(m == std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 3}});
  m.clear();
  Regex(R"([^\s\p{L}\p{N}]+)").find_all("a\xff\xfe!b", m);  // invalid bytes are symbols, offsets stay in bytes
  CHECK(m == std::vector<std::pair<size_t, size_t>>{{1, 4}});
  CHECK_THROWS_AS(Regex("(unclosed"), RegexError);
  CHECK(escape_regex("a.b(?)#&-~") == "a\\.b\\(\\?\\)\\#\\&\\-\\~");
}

TEST_CASE("Unicode classes follow Rust's char methods and the unicode_categories crate") {
  using namespace compressor::tokenizers::unicode;
  CHECK(is_whitespace(U'\u3000'));
  CHECK(is_whitespace(U'\u0085'));
  CHECK(!is_whitespace(U'\u200b'));  // a format character, not White_Space
  CHECK(is_numeric(U'\u00bd'));
  CHECK(is_numeric(U'\u2167'));
  CHECK(!is_numeric(U'x'));
  CHECK(is_punctuation(U'\u00bf'));
  CHECK(!is_punctuation(U'$'));  // a symbol (BERT adds ASCII symbols itself)
  CHECK(is_other(U'\u200b'));
  CHECK(!is_other(U'\u0378'));  // unassigned: BertNormalizer keeps it
  CHECK(is_nonspacing_mark(U'\u0301'));
  std::string lower;
  append_lower(lower, U'\u0130');
  append_lower(lower, U'\u03a3');
  CHECK(lower == "i\xcc\x87\xcf\x83");
  size_t i = 0;
  CHECK(!next_code_point("\xed\xa0\x80", i));  // a surrogate
  CHECK(i == 1);
}
