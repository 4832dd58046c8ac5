// Byte-level BPE tokenizer (GPT-2 family) from a Hugging Face tokenizer.json, ids identical to
// Hugging Face `tokenizers` on the golden lines in tests/golden/tokenizer/, and the tokenizer.json
// loader that picks WordPiece or BPE.
//
// Supported tokenizer.json (anything else is BadInput naming the file and the key):
//   model            {"type": "BPE", "vocab": {...}, "merges": ["a b", ...] or [["a", "b"], ...],
//                     "ignore_merges": bool}; unk_token/dropout/byte_fallback/continuing_subword_prefix/
//                     end_of_word_suffix must be unset (byte-level BPE never needs them)
//   normalizer       null
//   pre_tokenizer    ByteLevel {add_prefix_space, use_regex}, or a Sequence of Digits
//                     {individual_digits} (SmolLM2 style), Split with the Llama-3 regex (behavior
//                     Isolated, not inverted) and ByteLevel (last). Both regexes are implemented by
//                     hand (Unicode 14 letter/number classes, \s = White_Space):
//                     GPT-2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//                     Llama-3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//                              ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//                     Any other Split pattern is BadInput.
//   decoder          ByteLevel or null
//   post_processor   null, ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing, Sequence
//   added_tokens     matched verbatim in the raw text first (leftmost, longest); lstrip/rstrip/
//                     single_word are rejected; "normalized" is ignored (there is no normalizer)
// Invalid UTF-8 needs no replacement here: an invalid byte is pre-tokenized as one "other" (not
// letter, number or space) character and encoded as its byte token, so decode(encode(x)) == x for
// every byte string x. decode writes added tokens (special or not) as their text, so the round trip
// also holds for text containing "<|endoftext|>"; it does not add or remove a prefix space.
// encode/decode are const and safe to call from several threads at once (scratch buffers are
// thread_local; there is no word cache).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "calibration/tokenizer.h"
#include "calibration/wordpiece.h"

namespace compressor::calibration {

class BpeTokenizer final : public Tokenizer {
 public:
  static std::unique_ptr<BpeTokenizer> from_tokenizer_json(const std::filesystem::path& path);
  static std::unique_ptr<BpeTokenizer> from_tokenizer_json(const nlohmann::json& j, const std::string& file);

  std::string name() const override { return "bpe"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return vocab_size_; }

  void set_add_special_tokens(bool on) { add_special_tokens_ = on; }
  // The pre-tokenized pieces of `text` (raw bytes, before the byte-to-unicode mapping), for tests.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

 private:
  BpeTokenizer() = default;
  void bpe(std::string_view piece, std::vector<int64_t>& out) const;
  // Calls on_word for every pre-tokenized word in order; added tokens go to *added_ids (if given).
  template <class F>
  void walk(std::string_view text, std::vector<int64_t>* added_ids, F&& on_word) const;
  template <class F>
  void run_steps(size_t step, std::string_view piece, F& on_word) const;

  // The pre-tokenizer as a list of splitting steps, applied in order.
  enum class Step { Digits, DigitsIndividual, Llama3Split, ByteLevel, ByteLevelPrefix };

  std::unordered_map<std::string, int64_t> vocab_;  // token text (byte-to-unicode mapped) -> id
  std::unordered_map<uint64_t, std::pair<int32_t, int64_t>> merges_;  // (left, right) -> (rank, merged)
  std::array<int64_t, 256> byte_id_{};                                // id of each single byte, -1 if none
  std::array<std::string, 256> byte_char_;                            // byte -> its mapped UTF-8 text
  std::vector<std::string> id_bytes_;                                 // id -> decoded bytes
  tokenizer_detail::AddedTokens added_;
  tokenizer_detail::Template template_;
  int64_t vocab_size_ = 0;
  bool ignore_merges_ = false;
  std::vector<Step> steps_;
  bool add_special_tokens_ = true;
};

// A Hugging Face tokenizer.json: model.type "WordPiece" -> WordPieceTokenizer, "BPE" ->
// BpeTokenizer; any other type (Unigram, WordLevel) is BadInput naming the file and model.type.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::filesystem::path& path);

}  // namespace compressor::calibration
