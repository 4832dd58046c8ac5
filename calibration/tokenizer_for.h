// The tokenizer a checkpoint implies, picked from its files: a GGUF file's own (tokenizer.ggml.*),
// a directory's tokenizer.json, else its vocab.txt (BERT WordPiece), else the byte tokenizer when
// the model has a 256-token vocabulary; otherwise a clear error. A tokenizer with more ids than
// the model's vocabulary is an error too. The tokenizers themselves live in compressor/tokenizers.
#pragma once

#include <filesystem>
#include <cstdint>
#include <memory>

#include "compressor/tokenizers/tokenizer.h"

namespace compressor::model {
class Model;
}

namespace compressor::calibration {

std::unique_ptr<tokenizers::Tokenizer> tokenizer_for(const model::Model& model,
                                                     const std::filesystem::path& checkpoint_dir);
// The same for a model known only by its vocabulary size (the runtime's).
std::unique_ptr<tokenizers::Tokenizer> tokenizer_for(int64_t vocab_size, const std::filesystem::path& checkpoint_dir);

}  // namespace compressor::calibration
