// The byte-level BPE tokenizer stored in a GGUF file's metadata (llama.cpp's tokenizer.ggml.*
// keys), as a BpeTokenizer (calibration/bpe.h):
//   tokenizer.ggml.model       must be "gpt2" (byte-level BPE); anything else is BadInput
//   tokenizer.ggml.tokens      id -> token text (already byte-to-unicode mapped, as in tokenizer.json)
//   tokenizer.ggml.merges      "left right", in rank order
//   tokenizer.ggml.token_type  3 (control) -> a special added token, 4 (user defined) -> a
//                              non-special added token; both matched verbatim before BPE
//   tokenizer.ggml.pre         "smollm" -> Sequence[Digits(individual), ByteLevel] (SmolLM2),
//                              "gpt2" / "default" / absent -> ByteLevel (GPT-2 regex);
//                              any other value is BadInput naming the key and the value
// No BOS/EOS is added to encodings (no post-processor), as SmolLM2's tokenizer.json does; the
// ids are available from the model config (bos_token_id / eos_token_id, gguf_model.h).
#pragma once

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "calibration/bpe.h"

namespace compressor::formats {
class GgufFile;
}

namespace compressor::calibration {

// The equivalent Hugging Face tokenizer.json (what from_tokenizer_json receives).
nlohmann::json gguf_tokenizer_json(const formats::GgufFile& file);
std::unique_ptr<BpeTokenizer> load_gguf_tokenizer(const formats::GgufFile& file);
std::unique_ptr<BpeTokenizer> load_gguf_tokenizer(const std::filesystem::path& gguf);

}  // namespace compressor::calibration
