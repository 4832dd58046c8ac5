// Text data for evaluation, calibration and training: a file read and tokenized once, then cut
// into windows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "compressor/tokenizers/tokenizer.h"

namespace compressor::calibration {

// Token ids of a text file as a 1-D int64 tensor. `max_bytes` > 0 keeps only that many leading
// bytes (cut back to the last complete line so no word is split). Missing or empty files are
// BadInput naming the file and `what` ("evaluate.datasets[0].path", ...).
// `bytes_out`, when given, receives the number of text bytes behind the tokens (bits per byte).
torch::Tensor load_text_tokens(const std::filesystem::path& path, const tokenizers::Tokenizer& tokenizer,
                               int64_t max_bytes, const std::string& what, int64_t* bytes_out = nullptr);

}  // namespace compressor::calibration
