// A BERT vocab.txt (one token per line, id = line number) as a WordPieceTokenizer: BertNormalizer
// and BertPreTokenizer with `options`, the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] that the
// vocabulary has matched verbatim, and [CLS] ... [SEP] around every encoding when both exist.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "compressor/tokenizers/wordpiece.h"

namespace compressor::tokenizers {

struct BertOptions {
  bool lower_case = true;             // do_lower_case (the uncased models)
  std::optional<bool> strip_accents;  // unset: follows lower_case
  bool handle_chinese_chars = true;   // tokenize_chinese_chars
  std::string unk_token = "[UNK]";
};

// Without `options`, tokenizer_config.json beside vocab.txt (if present) gives do_lower_case,
// strip_accents, tokenize_chinese_chars and unk_token.
std::unique_ptr<WordPieceTokenizer> load_vocab_txt(const std::filesystem::path& vocab_txt,
                                                   std::optional<BertOptions> options = {});

}  // namespace compressor::tokenizers
