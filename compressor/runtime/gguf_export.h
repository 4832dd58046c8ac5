// An artifact (or plain checkpoint) as a GGUF v3 file that llama.cpp runs, with the weights the
// runtime executes carried over exactly, never re-quantized:
//   dense weights, norms, biases, embeddings      F32
//   int weights, symmetric, 2..4 bits             Q4_0 (codes + 8 in nibbles, the scale as its f16 d)
//   int weights, symmetric, 5..8 bits             Q8_0 (codes as int8, the scale as its f16 d)
// Per-channel, per-tensor and group-wise scales all map, as long as each block of 32 inputs lies in
// one group (group_size a multiple of 32) and every scale is exactly a float16 (scale_dtype float16,
// the default). Anything else has no exact GGUF type and is refused with a BadInput that names the
// module and says which scheme would export: asymmetric int (Q4_1/Q5_1 hold the minimum in float16,
// which cannot hold zero_point·scale exactly), FP8, static input scales, groups of 16.
// Tensor names, metadata keys and the Llama q/k row order are llama.cpp's converter's
// (convert_hf_to_gguf.py): architectures llama and gpt2. The tokenizer keys come from the caller
// (the CLI reads the artifact's tokenizer with compressor/tokenizers/gguf_vocab.h), so the runtime
// stays on base, quant and formats.
// Every check is made before the file is opened; the file is written atomically, one tensor's
// encoding in memory at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace compressor::runtime {

struct GgufExportedTensor {
  std::string name;    // GGUF name ("blk.0.attn_q.weight")
  std::string type;    // "Q4_0", "Q8_0", "F32"
  std::string source;  // the artifact's encoding ("int4_g128_sym", "f32")
  uint64_t bytes = 0;
};

struct GgufExportReport {
  std::string architecture;  // "llama" | "gpt2"
  std::string tokenizer;     // what tokenizer.ggml.* holds, for the summary
  std::vector<GgufExportedTensor> tensors;
  uint64_t file_bytes = 0;
  uint64_t parameters = 0;           // values in all tensors
  std::vector<std::string> notes;    // where llama.cpp will compute differently from the runtime
};

// tokenizer.ggml.*: model "gpt2" (byte-level BPE) with its pre-tokenizer, tokens by id, token types
// and merges; or model "none" (the file runs on token ids only).
struct GgufVocabulary {
  std::string model = "none";
  std::string pre;
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;
  std::vector<std::string> merges;
  std::string summary;  // what it is, for the report ("tokenizer.json, pre-tokenizer smollm, ...")
};

GgufExportReport export_gguf(const std::filesystem::path& artifact, const std::filesystem::path& out,
                             const GgufVocabulary& vocab);

}  // namespace compressor::runtime
