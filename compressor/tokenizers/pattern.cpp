#include "compressor/tokenizers/pattern.h"

#include <utility>

#include "compressor/tokenizers/regex.h"
#include "compressor/tokenizers/unicode.h"

namespace compressor::tokenizers {

namespace {

class RegexPattern final : public Pattern {
 public:
  explicit RegexPattern(std::string_view regex) : re_(regex) {}

  void find_matches(std::string_view text, std::vector<Match>& out) const override {
    if (text.empty()) {
      out.push_back({0, 0, false});
      return;
    }
    thread_local std::vector<std::pair<size_t, size_t>> found;
    found.clear();
    re_.find_all(text, found);
    size_t prev = 0;
    for (const auto& [b, e] : found) {
      if (prev != b) out.push_back({prev, b, false});
      out.push_back({b, e, true});
      prev = e;
    }
    if (prev != text.size()) out.push_back({prev, text.size(), false});
  }

 private:
  Regex re_;
};

class CharClassPattern final : public Pattern {
 public:
  explicit CharClassPattern(bool (*is_member)(char32_t)) : is_member_(is_member) {}

  void find_matches(std::string_view text, std::vector<Match>& out) const override {
    if (text.empty()) {
      out.push_back({0, 0, false});
      return;
    }
    size_t last = 0;
    for (size_t i = 0; i < text.size();) {
      const size_t at = i;
      const auto cp = unicode::next_code_point(text, i);
      if (cp && is_member_(*cp)) {
        if (last < at) out.push_back({last, at, false});
        out.push_back({at, i, true});
        last = i;
      }
    }
    if (last < text.size()) out.push_back({last, text.size(), false});
  }

 private:
  bool (*is_member_)(char32_t);
};

}  // namespace

std::shared_ptr<const Pattern> regex_pattern(std::string_view regex) { return std::make_shared<RegexPattern>(regex); }

std::shared_ptr<const Pattern> literal_pattern(std::string_view literal) {
  return std::make_shared<RegexPattern>(escape_regex(literal));
}

std::shared_ptr<const Pattern> char_class_pattern(bool (*is_member)(char32_t)) {
  return std::make_shared<CharClassPattern>(is_member);
}

}  // namespace compressor::tokenizers
