#include "compressor/tokenizers/normalizer.h"

#include "compressor/tokenizers/unicode.h"

namespace compressor::tokenizers {

namespace {

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Calls on_char(cp, bytes) for every character of `s`; an invalid byte comes as std::nullopt.
template <class F>
void for_each_char(std::string_view s, F&& on_char) {
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    const auto cp = unicode::next_code_point(s, i);
    on_char(cp, s.substr(at, i - at));
  }
}

// A normalization form on the valid runs of `s`; invalid bytes stay where they are.
std::string apply_form(std::string_view s, unicode::Form form) {
  if (unicode::is_ascii(s) || unicode::is_valid_utf8(s)) return unicode::normalize(s, form);
  std::string out;
  size_t run = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    if (unicode::next_code_point(s, i)) continue;
    out += unicode::normalize(s.substr(run, at - run), form);
    out.push_back(s[at]);
    run = i;
  }
  out += unicode::normalize(s.substr(run), form);
  return out;
}

std::string apply_step(std::string_view s, Normalizer::Step step) {
  using Step = Normalizer::Step;
  switch (step) {
    case Step::NFC:
      return apply_form(s, unicode::Form::NFC);
    case Step::NFD:
      return apply_form(s, unicode::Form::NFD);
    case Step::NFKC:
      return apply_form(s, unicode::Form::NFKC);
    case Step::NFKD:
      return apply_form(s, unicode::Form::NFKD);
    default:
      break;
  }
  std::string out;
  out.reserve(s.size());
  for_each_char(s, [&](std::optional<char32_t> cp, std::string_view bytes) {
    switch (step) {
      case Step::Lowercase:
        if (cp) unicode::append_lower(out, *cp);
        else out.append(bytes);
        break;
      case Step::StripAccents:
        if (!cp || !unicode::is_mark(*cp)) out.append(bytes);
        break;
      case Step::StripNonspacingMarks:
        if (!cp || !unicode::is_nonspacing_mark(*cp)) out.append(bytes);
        break;
      case Step::BertCleanText: {
        const char32_t c = cp.value_or(0xFFFD);
        if (c == 0 || c == 0xFFFD || (c != '\t' && c != '\n' && c != '\r' && unicode::is_other(c))) break;
        if (unicode::is_whitespace(c)) out.push_back(' ');
        else out.append(bytes);
        break;
      }
      case Step::BertChineseChars:
        if (cp && is_chinese_char(*cp)) {
          out.push_back(' ');
          out.append(bytes);
          out.push_back(' ');
        } else {
          out.append(bytes);
        }
        break;
      default:
        out.append(bytes);
    }
  });
  return out;
}

// The steps on ASCII text, which stays ASCII: only Lowercase and BertCleanText change anything.
void apply_ascii_step(std::string& s, Normalizer::Step step) {
  if (step == Normalizer::Step::Lowercase) {
    for (char& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  } else if (step == Normalizer::Step::BertCleanText) {
    size_t n = 0;
    for (char c : s) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') s[n++] = ' ';  // other controls (Cc) are dropped
      else if (c > 0x1F && c != 0x7F) s[n++] = c;
    }
    s.resize(n);
  }
}

}  // namespace

std::string Normalizer::normalize(std::string_view text) const {
  std::string s(text);
  if (unicode::is_ascii(s)) {
    for (Step step : steps_) apply_ascii_step(s, step);
    return s;
  }
  for (Step step : steps_) s = apply_step(s, step);
  return s;
}

Normalizer bert_normalizer(bool clean_text, bool handle_chinese_chars, std::optional<bool> strip_accents,
                           bool lowercase) {
  Normalizer n;
  if (clean_text) n.add(Normalizer::Step::BertCleanText);
  if (handle_chinese_chars) n.add(Normalizer::Step::BertChineseChars);
  if (strip_accents.value_or(lowercase)) {
    n.add(Normalizer::Step::NFD);
    n.add(Normalizer::Step::StripNonspacingMarks);
  }
  if (lowercase) n.add(Normalizer::Step::Lowercase);
  return n;
}

}  // namespace compressor::tokenizers
