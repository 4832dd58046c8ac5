// Byte-level BPE (the GPT-2 family: GPT-2, Llama 3, Qwen2, SmolLM2, GPT-4o's o200k, ...) on plain
// data: the vocabulary (tokens as the GPT-2 byte-to-unicode mapping writes them), the merges in
// rank order, and a Pipeline (added tokens, normalizer, pre-tokenizer ending in ByteLevel,
// template). tokenizer_json.h and gguf_vocab.h build one from files; ids are those of Hugging
// Face `tokenizers` (tests/golden/tokenizer/).
//
// Every byte string encodes: invalid UTF-8 is pre-tokenized one byte per character (see
// Regex::find_all) and each byte becomes its byte token, so without a normalizer
// decode(encode(x)) == x for every x. decode writes added tokens (special or not) as their text and
// does not add or remove a prefix space. encode/decode are const and safe to call from several
// threads at once (scratch buffers are thread_local; there is no word cache).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compressor/tokenizers/pipeline.h"
#include "compressor/tokenizers/tokenizer.h"

namespace compressor::tokenizers {

// GPT-2's byte -> printable code point mapping, in which byte-level vocabularies write their tokens.
std::array<char32_t, 256> bytes_to_unicode();

struct BpeModel {
  std::vector<std::pair<std::string, int64_t>> vocab;       // token text -> id
  std::vector<std::pair<std::string, std::string>> merges;  // (left, right), rank order
  bool ignore_merges = false;  // a word that is itself in the vocabulary is one token
};

class BpeTokenizer final : public Tokenizer {
 public:
  // BadInput naming `source` (and the tokenizer.json key) for an id out of range, a merge of
  // tokens not in the vocabulary, or a pre-tokenizer that does not end with ByteLevel.
  BpeTokenizer(const BpeModel& model, Pipeline pipeline, const std::string& source);

  std::string name() const override { return "bpe"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return vocab_size_; }

  void set_add_special_tokens(bool on) { add_special_tokens_ = on; }
  // The pre-tokenized words of `text` (bytes, before the byte-to-unicode mapping), for tests.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

 private:
  void bpe(std::string_view word, std::vector<int64_t>& out) const;

  Pipeline pipeline_;
  std::unordered_map<std::string, int64_t> vocab_;                    // token text -> id
  std::unordered_map<uint64_t, std::pair<int32_t, int64_t>> merges_;  // (left, right) -> (rank, merged)
  std::array<int64_t, 256> byte_id_{};                                // id of each single byte, -1 if none
  std::array<std::string, 256> byte_char_;                            // byte -> its mapped UTF-8 text
  std::vector<std::string> id_bytes_;                                 // id -> decoded bytes
  int64_t vocab_size_ = 0;
  bool ignore_merges_ = false;
  bool add_special_tokens_ = true;
};

}  // namespace compressor::tokenizers
