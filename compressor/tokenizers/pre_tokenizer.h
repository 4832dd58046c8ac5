// Pre-tokenizers of Hugging Face `tokenizers` as a sequence of steps (its pre_tokenizers.Sequence),
// each applied to every piece the steps before it made: Split (any pattern, any behavior, invert),
// ByteLevel (optional prefix space, optional GPT-2 regex; its byte-to-unicode mapping is the BPE
// model's business, so it must come last), and the fixed splits Digits, BertPreTokenizer,
// WhitespaceSplit and Punctuation written as Splits on character classes, as tokenizers does.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compressor/tokenizers/pattern.h"
#include "compressor/tokenizers/split.h"

namespace compressor::tokenizers {

class PreTokenizer {
 public:
  void add_split(std::shared_ptr<const Pattern> pattern, SplitBehavior behavior, bool invert = false);
  // ByteLevel: " " before every piece that does not start with one (add_prefix_space), then the
  // GPT-2 regex 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+, Isolated.
  void add_byte_level(bool add_prefix_space, bool use_regex);
  void add_digits(bool individual_digits);
  void add_bert();
  void add_whitespace_split();
  void add_punctuation(SplitBehavior behavior);
  void append(const PreTokenizer& other) { steps_.insert(steps_.end(), other.steps_.begin(), other.steps_.end()); }
  bool empty() const { return steps_.empty(); }
  bool ends_with_byte_level() const { return !steps_.empty() && steps_.back().kind == Kind::ByteLevel; }
  size_t byte_level_steps() const;

  // Appends the words of `text` to `words`: views into `text`, or into strings added to `owned`
  // (a prefix space makes a new string).
  void pre_tokenize(std::string_view text, std::vector<std::string_view>& words, std::deque<std::string>& owned) const;

 private:
  enum class Kind { Split, ByteLevel };
  struct Step {
    Kind kind;
    std::shared_ptr<const Pattern> pattern;  // Split, and ByteLevel with use_regex (else null)
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    bool add_prefix_space = false;
  };
  void run(const Step& step, std::string_view piece, std::vector<std::string_view>& out,
           std::deque<std::string>& owned) const;
  std::vector<Step> steps_;
};

}  // namespace compressor::tokenizers
