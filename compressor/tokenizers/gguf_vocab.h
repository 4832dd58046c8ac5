// The byte-level BPE tokenizer a GGUF file carries in its metadata (llama.cpp's tokenizer.ggml.*
// keys), from those keys' values as plain data (calibration/gguf_tokenizer.h reads them from a file):
//   tokenizer.ggml.model       must be "gpt2" (byte-level BPE)
//   tokenizer.ggml.tokens      id -> token text (already byte-to-unicode mapped, as in tokenizer.json)
//   tokenizer.ggml.merges      "left right", in rank order
//   tokenizer.ggml.token_type  3 (control) -> a special added token, 4 (user defined) -> a
//                              non-special added token; both matched verbatim before BPE
//   tokenizer.ggml.pre         the pre-tokenizer, as Hugging Face writes it for that family:
//                              "smollm"      Sequence[Digits(individual), ByteLevel]
//                              "gpt2", "gpt-2", "default" (or absent)   ByteLevel (GPT-2 regex)
//                              "llama-bpe"   Split(Llama-3 regex) + ByteLevel(use_regex=false), ignore_merges
//                              "qwen2"       NFC, Split(Qwen2 regex) + ByteLevel(use_regex=false)
//                              "gpt-4o"      Split(o200k regex) + ByteLevel(use_regex=false)
// No BOS/EOS is added to encodings (no post-processor), as SmolLM2's tokenizer.json does. Errors
// are BadInput naming `source` and the key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compressor/tokenizers/bpe.h"

namespace compressor::tokenizers {

struct GgufVocab {
  std::string source;                // the file, for errors
  std::string model;                 // tokenizer.ggml.model
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens
  std::vector<int64_t> token_types;  // tokenizer.ggml.token_type; empty: every token normal (1)
  std::vector<std::string> merges;   // tokenizer.ggml.merges
  std::string pre = "default";       // tokenizer.ggml.pre
};

// The equivalent Hugging Face tokenizer.json (what the artifact ships, and what load_gguf_vocab reads).
nlohmann::json gguf_tokenizer_json(const GgufVocab& vocab);
std::unique_ptr<BpeTokenizer> load_gguf_vocab(const GgufVocab& vocab);

// The other way (what `compressor export --to gguf` writes): a byte-level BPE tokenizer.json as
// tokenizer.ggml.* values. Tokens by id from model.vocab and added_tokens, padded to `vocab_size`
// (the embedding's rows) with "[PAD<id>]" tokens of type 5 (unused), as llama.cpp's converter pads;
// added tokens get type 3 (special) or 4, the rest 1; merges as "left right"; `pre` is the family
// whose normalizer and pre-tokenizer equal the file's (the inverse of gguf_tokenizer_json). BadInput
// naming `file` and the key for anything else (another model type, an unknown pre-tokenizer, ids
// past vocab_size or given twice).
GgufVocab gguf_vocab_from_tokenizer_json(const nlohmann::json& j, const std::string& file, int64_t vocab_size);
// A byte-level model without a tokenizer file (vocab_size 256, token i = byte i): the 256 byte
// tokens as GPT-2's byte-to-unicode map writes them, no merges, pre "gpt-2"; it encodes every text
// as its bytes.
GgufVocab byte_gguf_vocab();

}  // namespace compressor::tokenizers
