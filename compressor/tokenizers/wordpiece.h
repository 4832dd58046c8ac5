// WordPiece (BERT, uncased and cased) on plain data: the vocabulary, the unknown token, the
// continuation prefix, and a Pipeline (for BERT: BertNormalizer, BertPreTokenizer, [CLS] ... [SEP]).
// Each pre-tokenized word goes through greedy longest-match-first WordPiece; a word longer than
// max_input_chars_per_word characters or with a piece that matches nothing is the unknown token.
// Ids are those of Hugging Face `tokenizers` (tests/golden/tokenizer/). decode joins the tokens as
// tokenizers' WordPiece decoder does (continuations glued on, with cleanup " ." -> ".",
// " n't" -> "n't", ...), skipping special tokens. encode/decode are const and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compressor/tokenizers/pipeline.h"
#include "compressor/tokenizers/tokenizer.h"

namespace compressor::tokenizers {

struct WordPieceModel {
  std::vector<std::pair<std::string, int64_t>> vocab;  // token -> id
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int max_input_chars_per_word = 100;
  bool decode_cleanup = true;  // the WordPiece decoder's "cleanup"
};

class WordPieceTokenizer final : public Tokenizer {
 public:
  // BadInput naming `source` when the unknown token is not in the vocabulary or an id is negative.
  WordPieceTokenizer(const WordPieceModel& model, Pipeline pipeline, const std::string& source);

  std::string name() const override { return "wordpiece"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }

  void set_add_special_tokens(bool on) { add_special_tokens_ = on; }
  std::optional<int64_t> token_to_id(const std::string& token) const;
  const std::string& id_to_token(int64_t id) const;
  // The normalized, pre-tokenized words of `text` (added tokens left out), for tests.
  std::vector<std::string> basic_tokenize(std::string_view text) const;

 private:
  void wordpiece(std::string_view word, std::vector<int64_t>& out) const;

  Pipeline pipeline_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> special_;  // by id: a special added token, which decode skips
  std::string prefix_;
  int max_chars_ = 100;
  bool cleanup_ = true;
  int64_t unk_id_ = -1;
  size_t max_token_bytes_ = 0;
  bool add_special_tokens_ = true;
};

}  // namespace compressor::tokenizers
