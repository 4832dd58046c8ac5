// A regular expression on Oniguruma, the engine Hugging Face `tokenizers` uses (through the `onig`
// crate): compiled once with no options, UTF-8 and Oniguruma's default syntax, so \p{L}, (?i:...),
// (?!\S) and \s (Unicode White_Space) mean what they mean there. Searching is const and safe from
// several threads at once.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct re_pattern_buffer;  // Oniguruma's compiled pattern (OnigRegexType)

namespace compressor::tokenizers {

// Oniguruma rejected a pattern; what() is Oniguruma's message.
class RegexError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Regex {
 public:
  explicit Regex(std::string_view pattern);  // throws RegexError
  Regex(Regex&&) noexcept = default;
  Regex& operator=(Regex&&) noexcept = default;
  ~Regex();

  // Appends every match of the pattern in `text` as [begin, end) byte offsets, leftmost first and
  // not overlapping, as the onig crate's find_iter: after an empty match the search moves on one
  // character, and an empty match right after a match is skipped. `text` may hold invalid UTF-8:
  // each invalid byte is matched as one U+FFFD (a symbol: not a letter, number or space).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  struct Free {
    void operator()(re_pattern_buffer* r) const;
  };
  std::unique_ptr<re_pattern_buffer, Free> re_;
};

// `literal` as a pattern that matches exactly it (Rust's regex::escape, as tokenizers escapes a
// Split's String pattern).
std::string escape_regex(std::string_view literal);

}  // namespace compressor::tokenizers
