// BERT WordPiece tokenizer (uncased and cased), ids identical to Hugging Face `tokenizers`
// (BertNormalizer + BertPreTokenizer + WordPiece model + TemplateProcessing/BertProcessing) on the
// golden lines in tests/golden/tokenizer/.
//
// Pipeline of encode(text):
//   1. added/special tokens ("[CLS]", "[MASK]", ...) found verbatim in the raw text (leftmost, longest)
//      become their ids; the text between them goes through steps 2-5.
//   2. clean text: drop U+0000, U+FFFD and control/format/private-use characters (Cc, Cf, Co except
//      \t \n \r); every white-space character becomes ' '.
//   3. put spaces around CJK ideographs (the same blocks as BERT).
//   4. if lower-casing (do_lower_case, the uncased models; strip_accents follows it unless set):
//      NFD decomposition with the non-spacing marks (Mn) removed, then one-to-one Unicode lower case.
//   5. split on white space; every punctuation character (Unicode P* or ASCII punctuation, as BERT)
//      is its own word; each word goes through greedy longest-match-first WordPiece with "##" for
//      continuations; a word longer than max_input_chars_per_word (100) characters or with a piece
//      that has no match becomes [UNK].
//   6. with add_special_tokens, [CLS] ... [SEP] around the result (the template from tokenizer.json).
// decode(ids) joins the tokens as Hugging Face's WordPiece decoder with cleanup does ("##" pieces
// glued to the previous token, " ." -> ".", " n't" -> "n't", ...), skipping special tokens.
//
// Unicode: tables generated from Python's unicodedata 14.0 (tests/golden/make_tokenizer_golden.py
// --unicode-tables). Limits, all documented differences from the reference:
//   - unassigned code points (Cn) are not treated as control characters (the reference drops them);
//   - NFD is applied per code point without canonical reordering of the remaining combining marks
//     (only matters for non-Mn marks with a combining class, which are rare); Hangul syllables are
//     decomposed arithmetically into jamo, as NFD does;
//   - lower case is the full per-character mapping (Latin, Greek, Cyrillic, Armenian, Georgian,
//     Cherokee, Deseret, ... and U+0130 -> "i̇"), no context-dependent rules (final sigma), as the
//     reference does;
//   - invalid UTF-8 input: each invalid byte is replaced by U+FFFD, which step 2 then removes (the
//     reference cannot be given invalid UTF-8).
// The tokenizer.json must use model WordPiece with BertNormalizer (or none) and BertPreTokenizer;
// truncation and padding in the file are ignored (encode never truncates or pads).
// encode/decode are const and safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "calibration/tokenizer.h"

namespace compressor::calibration {

struct WordPieceOptions {
  bool lower_case = true;                  // BertNormalizer.lowercase / do_lower_case
  std::optional<bool> strip_accents;       // unset: follows lower_case (as BERT)
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool add_special_tokens = true;          // encode adds the template ([CLS] ... [SEP])
  int max_input_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  bool decode_cleanup = true;              // WordPiece decoder "cleanup"
};

// Helpers shared by the WordPiece and BPE tokenizers (bpe.cpp uses them too).
namespace tokenizer_detail {

// Decodes one code point at `s[i]`, advancing i. Invalid or truncated sequences, overlong forms and
// surrogates yield std::nullopt and advance by one byte.
std::optional<char32_t> next_code_point(std::string_view s, size_t& i);
void append_utf8(std::string& out, char32_t cp);

// Added tokens of a tokenizer.json ("added_tokens"), matched verbatim in the raw text, leftmost
// first and longest at a position. Tokens with lstrip/rstrip/single_word are rejected (BadInput).
class AddedTokens {
 public:
  void add(std::string content, int64_t id, bool special);
  bool empty() const { return tokens_.empty(); }
  // Splits `text` into pieces: (text, -1) for ordinary text and ("", id) for an added token.
  std::vector<std::pair<std::string_view, int64_t>> split(std::string_view text) const;
  bool is_special(int64_t id) const;
  const std::string* content(int64_t id) const;
  std::optional<int64_t> id_of(const std::string& content) const;

 private:
  struct Entry {
    std::string content;
    int64_t id;
    bool special;
  };
  std::vector<Entry> tokens_;
  std::vector<std::vector<size_t>> by_first_byte_ = std::vector<std::vector<size_t>>(256);
};

// Ids added around a single sequence by "post_processor" (TemplateProcessing "single",
// BertProcessing, RobertaProcessing, or none). `file` names the file in errors.
struct Template {
  std::vector<int64_t> prefix, suffix;
};
Template parse_post_processor(const nlohmann::json& pp, const std::string& file);

// Reads and parses a JSON file; BadInput naming the file on failure.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace tokenizer_detail

class WordPieceTokenizer final : public Tokenizer {
 public:
  // vocab.txt: one token per line, id = line number (0-based). Without `options`, reads
  // tokenizer_config.json beside it (if present) for do_lower_case, strip_accents, tokenize_chinese_chars, unk_token; the special
  // tokens [PAD] [UNK] [CLS] [SEP] [MASK] present in the vocabulary are matched in raw text.
  static std::unique_ptr<WordPieceTokenizer> from_vocab_txt(const std::filesystem::path& vocab_txt,
                                                            std::optional<WordPieceOptions> options = {});
  // A Hugging Face tokenizer.json whose model.type is "WordPiece".
  static std::unique_ptr<WordPieceTokenizer> from_tokenizer_json(const std::filesystem::path& path);
  static std::unique_ptr<WordPieceTokenizer> from_tokenizer_json(const nlohmann::json& j, const std::string& file);

  std::string name() const override { return "wordpiece"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }

  const WordPieceOptions& options() const { return options_; }
  void set_add_special_tokens(bool on) { options_.add_special_tokens = on; }
  std::optional<int64_t> token_to_id(const std::string& token) const;
  const std::string& id_to_token(int64_t id) const;

  // The normalized, pre-tokenized words of `text` (steps 2-5 before WordPiece), for tests.
  std::vector<std::string> basic_tokenize(std::string_view text) const;

 private:
  WordPieceTokenizer() = default;
  void finish(const std::string& file);
  void wordpiece(std::string_view word, std::vector<int64_t>& out) const;

  WordPieceOptions options_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  tokenizer_detail::AddedTokens added_;
  tokenizer_detail::Template template_;
  int64_t unk_id_ = -1;
  size_t max_token_bytes_ = 0;
};

}  // namespace compressor::calibration
