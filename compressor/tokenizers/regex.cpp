#include "compressor/tokenizers/regex.h"

#include <cstring>

#include <oniguruma.h>

#include "compressor/base/error.h"
#include "compressor/tokenizers/unicode.h"

namespace compressor::tokenizers {

namespace {

void initialize_once() {
  static const int done = [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    return onig_initialize(encodings, 1);
  }();
  (void)done;
}

std::string error_text(int code, OnigErrorInfo* info) {
  OnigUChar buf[ONIG_MAX_ERROR_MESSAGE_LEN];
  const int n = info ? onig_error_code_to_str(buf, code, info) : onig_error_code_to_str(buf, code);
  return std::string(reinterpret_cast<const char*>(buf), n > 0 ? static_cast<size_t>(n) : 0);
}

struct RegionFree {
  void operator()(OnigRegion* r) const { onig_region_free(r, 1); }
};

// `text` with every invalid byte replaced by U+FFFD, and for each byte of the result the offset in
// `text` it came from (plus one entry for the end).
void sanitize(std::string_view text, std::string& valid, std::vector<size_t>& origin) {
  valid.clear();
  origin.clear();
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    if (unicode::next_code_point(text, i)) {
      valid.append(text, at, i - at);
      origin.insert(origin.end(), i - at, at);
    } else {
      valid += "\xEF\xBF\xBD";
      origin.insert(origin.end(), 3, at);
    }
  }
  origin.push_back(text.size());
}

}  // namespace

void Regex::Free::operator()(re_pattern_buffer* r) const { onig_free(r); }

Regex::Regex(std::string_view pattern) {
  initialize_once();
  OnigRegex re = nullptr;
  OnigErrorInfo info{};
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int r = onig_new(&re, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  if (r != ONIG_NORMAL) throw RegexError(error_text(r, &info));
  re_.reset(re);
}

Regex::~Regex() = default;

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  thread_local std::unique_ptr<OnigRegion, RegionFree> region(onig_region_new());
  thread_local std::string valid;
  thread_local std::vector<size_t> origin;
  const bool remap = !unicode::is_valid_utf8(text);
  if (remap) sanitize(text, valid, origin);
  const std::string_view s = remap ? std::string_view(valid) : text;
  const auto* str = reinterpret_cast<const OnigUChar*>(s.data());
  const auto* end = str + s.size();
  size_t last_end = 0;
  bool skip_next_empty = false;
  while (last_end <= s.size()) {
    onig_region_clear(region.get());
    const int r = onig_search(re_.get(), str, end, str + last_end, end, region.get(), ONIG_OPTION_NONE);
    if (r == ONIG_MISMATCH) break;
    if (r < 0) throw InternalError("oniguruma", "search failed: " + error_text(r, nullptr));
    const auto b = static_cast<size_t>(region->beg[0]), e = static_cast<size_t>(region->end[0]);
    last_end = e;
    if (b == e) {
      size_t next = e;
      if (e < s.size()) unicode::next_code_point(s, next);
      last_end = e < s.size() ? next : e + 1;
      if (skip_next_empty) {
        skip_next_empty = false;
        continue;
      }
    } else {
      skip_next_empty = true;
    }
    out.emplace_back(remap ? origin[b] : b, remap ? origin[e] : e);
  }
}

std::string escape_regex(std::string_view literal) {
  std::string out;
  out.reserve(literal.size());
  for (char c : literal) {
    if (std::strchr("\\.+*?()|[]{}^$#&-~", c) && c != '\0') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace compressor::tokenizers
