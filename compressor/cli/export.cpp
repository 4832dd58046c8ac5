#include "compressor/cli/export.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include "compressor/cli/output_file.h"
#include "compressor/runtime/gguf_export.h"
#include "compressor/tokenizers/gguf_vocab.h"
#include "compressor/tokenizers/tokenizer_json.h"
#include "formats/hf_config.h"

namespace compressor::cli {

namespace {

// The tokenizer beside the model as tokenizer.ggml.* values: tokenizer.json's byte-level BPE, a
// byte-level model's 256 byte tokens, or none.
runtime::GgufVocabulary gguf_vocabulary(const std::filesystem::path& dir) {
  const int64_t vocab_size = formats::load_hf_config(dir).get_int("vocab_size");
  runtime::GgufVocabulary out;
  tokenizers::GgufVocab v;
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    const auto file = dir / "tokenizer.json";
    v = tokenizers::gguf_vocab_from_tokenizer_json(tokenizers::read_json_file(file), file.string(), vocab_size);
    out.summary = "tokenizer.json, byte-level BPE, pre-tokenizer " + v.pre + ", " + std::to_string(v.merges.size()) + " merges";
  } else if (vocab_size == 256) {
    v = tokenizers::byte_gguf_vocab();
    out.summary = "byte-level (256 byte tokens, no merges)";
  } else {
    out.summary = "none (no tokenizer.json beside the model)";
    return out;
  }
  out.model = v.model;
  out.pre = v.pre;
  out.tokens = std::move(v.tokens);
  out.token_types.assign(v.token_types.begin(), v.token_types.end());  // both sources fill one per token
  out.merges = std::move(v.merges);
  return out;
}

}  // namespace

int export_model(const ExportArgs& args) {
  namespace fs = std::filesystem;
  fs::path dir = args.model;
  if (dir.filename().empty()) dir = dir.parent_path();  // "out/quick/" -> "out/quick"
  const fs::path out = args.out.empty() ? fs::path(dir.string() + ".gguf") : fs::path(args.out);
  check_output_file(out, "--out");
  const auto r = runtime::export_gguf(dir, out, gguf_vocabulary(dir));

  std::map<std::string, std::pair<int, uint64_t>> by_type;  // type -> tensors, bytes
  for (const auto& t : r.tensors) {
    auto& [n, bytes] = by_type[t.type];
    ++n;
    bytes += t.bytes;
  }
  std::string types;
  for (const auto& [type, nb] : by_type) {
    types += (types.empty() ? "" : ", ") + std::to_string(nb.first) + " " + type;
  }
  std::printf("wrote %s: GGUF v3, architecture %s, %zu tensors (%s), %.2f MB, %.3f bits per parameter\n",
              out.string().c_str(), r.architecture.c_str(), r.tensors.size(), types.c_str(),
              static_cast<double>(r.file_bytes) / 1e6,
              8.0 * static_cast<double>(r.file_bytes) / static_cast<double>(r.parameters));
  for (const auto& [type, nb] : by_type) {
    std::printf("  %-5s %4d tensors  %10.2f MB\n", type.c_str(), nb.first, static_cast<double>(nb.second) / 1e6);
  }
  std::printf("tokenizer: %s\n", r.tokenizer.c_str());
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
  return 0;
}

}  // namespace compressor::cli
