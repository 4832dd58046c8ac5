// What a Split pre-tokenizer looks for: an Oniguruma regex, a literal string (escaped into a regex,
// as Hugging Face `tokenizers` does) or a class of characters (each member character is one match,
// as tokenizers' `Fn(char) -> bool` patterns: Digits, BertPreTokenizer, WhitespaceSplit).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

namespace compressor::tokenizers {

// A span [begin, end) of bytes, a match of the pattern or the text between two matches.
struct Match {
  size_t begin, end;
  bool is_match;
};

class Pattern {
 public:
  virtual ~Pattern() = default;
  // tokenizers' Pattern::find_matches: appends spans that cover all of `text`, in order and
  // contiguous (an empty text gives one empty non-match). Invalid UTF-8 bytes are one character
  // each and never a member of a character class.
  virtual void find_matches(std::string_view text, std::vector<Match>& out) const = 0;
};

std::shared_ptr<const Pattern> regex_pattern(std::string_view regex);  // throws RegexError
std::shared_ptr<const Pattern> literal_pattern(std::string_view literal);
std::shared_ptr<const Pattern> char_class_pattern(bool (*is_member)(char32_t));

}  // namespace compressor::tokenizers
