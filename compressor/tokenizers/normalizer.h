// Normalizers of Hugging Face `tokenizers`, as a sequence of steps applied in order (its
// normalizers.Sequence): NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, and BertNormalizer's
// clean-text and CJK-spacing steps (BertNormalizer is bert_normalizer()).
//
// Invalid UTF-8 bytes pass through every step unchanged except BertCleanText, which drops them
// (each as a U+FFFD, which it removes); tokenizers itself cannot be given invalid UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compressor::tokenizers {

class Normalizer {
 public:
  enum class Step {
    NFC,
    NFD,
    NFKC,
    NFKD,
    Lowercase,       // Rust char::to_lowercase per character (unicode::append_lower)
    StripAccents,    // drops combining marks (Mn, Mc, Me); tokenizers puts NFD before it
    StripNonspacingMarks,  // drops Mn only (BertNormalizer's strip_accents, after NFD)
    BertCleanText,   // drops U+0000, U+FFFD and other (C*) characters except \t \n \r; white space -> ' '
    BertChineseChars,  // a space before and after every CJK ideograph (BERT's blocks)
  };

  void add(Step step) { steps_.push_back(step); }
  void append(const Normalizer& other) { steps_.insert(steps_.end(), other.steps_.begin(), other.steps_.end()); }
  bool empty() const { return steps_.empty(); }
  std::string normalize(std::string_view text) const;

 private:
  std::vector<Step> steps_;
};

// tokenizers' BertNormalizer: clean text, CJK spacing, then (strip_accents, unset: as lowercase)
// NFD with the non-spacing marks dropped, then lower case.
Normalizer bert_normalizer(bool clean_text, bool handle_chinese_chars, std::optional<bool> strip_accents,
                           bool lowercase);

}  // namespace compressor::tokenizers
