// Calibration sources read into documents of token ids: a plain text file (one document), JSON
// Lines with a named text field (one document per row), or ids tokenized beforehand (.npy or
// safetensors; one document per row of a 2-D array).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "compressor/tokenizers/tokenizer.h"

namespace compressor::calibration {

enum class SourceFormat { automatic, text, jsonl, npy, safetensors };

// "auto", "text", "jsonl", "npy", "safetensors"; false for anything else.
bool parse_source_format(const std::string& s, SourceFormat* out);
const char* to_string(SourceFormat f);
// The format `automatic` stands for: by extension (.jsonl/.ndjson, .npy, .safetensors), else text.
SourceFormat detect_source_format(const std::filesystem::path& path);

struct SourceOptions {
  std::filesystem::path path;
  SourceFormat format = SourceFormat::automatic;
  std::string text_field = "text";     // jsonl: the field holding each row's text
  std::string tensor = "input_ids";    // safetensors: the ids; an `attention_mask` of the same shape
                                       // beside it marks padding, which is dropped
};

// The documents of `source`, each a 1-D int64 tensor of ids (empty documents are left out).
// `tokenizer` is needed for text and jsonl (null is BadInput there); pre-tokenized ids must lie in
// [0, vocab_size). Errors are BadInput naming the file and `where` plus the line (jsonl), tensor or
// position (pre-tokenized ids), and say what was expected.
std::vector<torch::Tensor> load_documents(const SourceOptions& source, const tokenizers::Tokenizer* tokenizer, int64_t vocab_size,
                                          const std::string& where);

}  // namespace compressor::calibration
