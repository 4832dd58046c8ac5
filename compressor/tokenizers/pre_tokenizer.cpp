#include "compressor/tokenizers/pre_tokenizer.h"

#include <utility>

#include "compressor/tokenizers/unicode.h"

namespace compressor::tokenizers {

namespace {

const std::shared_ptr<const Pattern>& gpt2_pattern() {
  static const auto p = regex_pattern(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
  return p;
}

bool is_bert_punctuation(char32_t c) {  // ASCII punctuation or Unicode P*
  if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return unicode::is_punctuation(c);
}

}  // namespace

void PreTokenizer::add_split(std::shared_ptr<const Pattern> pattern, SplitBehavior behavior, bool invert) {
  steps_.push_back({Kind::Split, std::move(pattern), behavior, invert, false});
}

void PreTokenizer::add_byte_level(bool add_prefix_space, bool use_regex) {
  steps_.push_back({Kind::ByteLevel, use_regex ? gpt2_pattern() : nullptr, SplitBehavior::Isolated, false,
                    add_prefix_space});
}

void PreTokenizer::add_digits(bool individual_digits) {
  add_split(char_class_pattern(unicode::is_numeric),
            individual_digits ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
}

void PreTokenizer::add_bert() {
  add_whitespace_split();
  add_punctuation(SplitBehavior::Isolated);
}

void PreTokenizer::add_whitespace_split() {
  add_split(char_class_pattern(unicode::is_whitespace), SplitBehavior::Removed);
}

void PreTokenizer::add_punctuation(SplitBehavior behavior) { add_split(char_class_pattern(is_bert_punctuation), behavior); }

size_t PreTokenizer::byte_level_steps() const {
  size_t n = 0;
  for (const Step& s : steps_) n += s.kind == Kind::ByteLevel;
  return n;
}

void PreTokenizer::run(const Step& step, std::string_view piece, std::vector<std::string_view>& out,
                       std::deque<std::string>& owned) const {
  if (step.kind == Kind::ByteLevel && step.add_prefix_space && piece[0] != ' ') {
    owned.push_back(" ");
    owned.back().append(piece);
    piece = owned.back();
  }
  if (!step.pattern) {
    out.push_back(piece);
    return;
  }
  thread_local std::vector<Match> spans;
  spans.clear();
  step.pattern->find_matches(piece, spans);
  if (step.invert)
    for (auto& s : spans) s.is_match = !s.is_match;
  split_spans(piece, spans, step.behavior, out);
}

void PreTokenizer::pre_tokenize(std::string_view text, std::vector<std::string_view>& words,
                                std::deque<std::string>& owned) const {
  if (text.empty()) return;
  if (steps_.empty()) {
    words.push_back(text);
    return;
  }
  thread_local std::vector<std::string_view> a, b;
  a.assign(1, text);
  for (size_t k = 0; k < steps_.size(); ++k) {
    std::vector<std::string_view>& out = k + 1 == steps_.size() ? words : b;
    if (&out == &b) b.clear();
    for (std::string_view piece : a) run(steps_[k], piece, out, owned);
    if (&out == &b) a.swap(b);
  }
}

}  // namespace compressor::tokenizers
