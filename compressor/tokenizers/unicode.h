// Unicode services for the tokenizers, on utf8proc: UTF-8 decoding that reports invalid bytes
// instead of replacing them, the character classes Hugging Face `tokenizers` uses (Rust's
// char::is_whitespace / is_numeric / to_lowercase and the unicode_categories crate), and the
// normalization forms. utf8proc's Unicode version is utf8proc_unicode_version() (15.0 for utf8proc
// 2.8 on Debian bookworm).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace compressor::tokenizers::unicode {

std::optional<char32_t> next_multibyte_code_point(std::string_view s, size_t& i);

// Decodes the code point at s[i] and advances i past it. An invalid, truncated, overlong or
// surrogate sequence yields std::nullopt and advances i by one byte.
inline std::optional<char32_t> next_code_point(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  return next_multibyte_code_point(s, i);
}
void append_utf8(std::string& out, char32_t cp);
bool is_ascii(std::string_view s);
bool is_valid_utf8(std::string_view s);

bool is_whitespace(char32_t c);        // White_Space: \t..\r, U+0085, Zs, Zl, Zp
bool is_numeric(char32_t c);           // Nd, Nl, No
bool is_punctuation(char32_t c);       // Pc, Pd, Ps, Pe, Pi, Pf, Po
// Cc, Cf, Cs, Co: the unicode_categories crate's is_other as BertNormalizer sees it, which keeps
// unassigned code points (Cn).
bool is_other(char32_t c);
bool is_nonspacing_mark(char32_t c);   // Mn
bool is_mark(char32_t c);              // Mn, Mc, Me

// Rust's char::to_lowercase: the simple mapping, and U+0130 -> "i" U+0307 (the one unconditional
// one-to-many mapping); no context rules (a final sigma stays σ).
void append_lower(std::string& out, char32_t c);

enum class Form { NFC, NFD, NFKC, NFKD };
// `valid` must be valid UTF-8 (see is_valid_utf8).
std::string normalize(std::string_view valid, Form form);

}  // namespace compressor::tokenizers::unicode
