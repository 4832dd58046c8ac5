// The tokenizer a GGUF file carries (tokenizer.ggml.* metadata): this reads the keys from the file
// and hands them to compressor/tokenizers/gguf_vocab.h, which documents what is supported.
#pragma once

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "compressor/tokenizers/bpe.h"
#include "compressor/tokenizers/gguf_vocab.h"

namespace compressor::formats {
class GgufFile;
}

namespace compressor::calibration {

// The tokenizer.ggml.* keys of `file`; BadInput naming the file and the key when one is missing or
// of the wrong type.
tokenizers::GgufVocab gguf_vocab(const formats::GgufFile& file);
// The equivalent Hugging Face tokenizer.json (what the artifact ships).
nlohmann::json gguf_tokenizer_json(const formats::GgufFile& file);
std::unique_ptr<tokenizers::BpeTokenizer> load_gguf_tokenizer(const formats::GgufFile& file);
std::unique_ptr<tokenizers::BpeTokenizer> load_gguf_tokenizer(const std::filesystem::path& gguf);

}  // namespace compressor::calibration
