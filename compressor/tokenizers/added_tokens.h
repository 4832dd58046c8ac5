// Added tokens (tokenizer.json "added_tokens", GGUF control and user-defined tokens): found
// verbatim in the text before anything else sees it, leftmost first and longest at a position, as
// Hugging Face `tokenizers`' AddedVocabulary does with lstrip/rstrip/single_word unset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace compressor::tokenizers {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool special = false;
  bool normalized = false;  // matched in the normalized text (after the normalizer), not the raw text
};

class AddedTokens {
 public:
  // A second token with the same content replaces the first; empty contents are ignored.
  void add(std::string content, int64_t id);
  bool empty() const { return tokens_.empty(); }
  // `text` as pieces: (text, -1) for ordinary text, ("", id) for an added token.
  std::vector<std::pair<std::string_view, int64_t>> split(std::string_view text) const;

 private:
  struct Entry {
    std::string content;
    int64_t id;
  };
  std::vector<Entry> tokens_;
  std::vector<std::vector<size_t>> by_first_byte_ = std::vector<std::vector<size_t>>(256);
};

}  // namespace compressor::tokenizers
