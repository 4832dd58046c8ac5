#include "calibration/gguf_tokenizer.h"

#include "compressor/base/error.h"
#include "formats/gguf.h"

namespace compressor::calibration {

tokenizers::GgufVocab gguf_vocab(const formats::GgufFile& f) {
  tokenizers::GgufVocab v;
  v.source = f.path().string();
  v.model = f.get_string("tokenizer.ggml.model");
  if (v.model != "gpt2") return v;  // gguf_tokenizer_json says what is wrong
  const auto& tokens = f.get_array("tokenizer.ggml.tokens");
  if (tokens.type != formats::GgufValueType::STRING)
    throw BadInput(v.source, "key 'tokenizer.ggml.tokens': expected an array of strings");
  v.tokens = tokens.strings;
  if (f.has("tokenizer.ggml.token_type")) {
    const auto& tt = f.get_array("tokenizer.ggml.token_type");
    v.token_types.assign(tt.size(), 1);
    for (size_t i = 0; i < tt.size(); ++i)
      v.token_types[i] = !tt.ints.empty() ? tt.ints[i] : !tt.uints.empty() ? static_cast<int64_t>(tt.uints[i]) : 1;
  }
  if (f.has("tokenizer.ggml.merges")) {
    const auto& m = f.get_array("tokenizer.ggml.merges");
    if (m.type != formats::GgufValueType::STRING)
      throw BadInput(v.source, "key 'tokenizer.ggml.merges': expected an array of strings");
    v.merges = m.strings;
  }
  if (f.has("tokenizer.ggml.pre")) v.pre = f.get_string("tokenizer.ggml.pre");
  return v;
}

nlohmann::json gguf_tokenizer_json(const formats::GgufFile& f) { return tokenizers::gguf_tokenizer_json(gguf_vocab(f)); }

std::unique_ptr<tokenizers::BpeTokenizer> load_gguf_tokenizer(const formats::GgufFile& f) {
  return tokenizers::load_gguf_vocab(gguf_vocab(f));
}

std::unique_ptr<tokenizers::BpeTokenizer> load_gguf_tokenizer(const std::filesystem::path& gguf) {
  return load_gguf_tokenizer(*formats::GgufFile::open(gguf));
}

}  // namespace compressor::calibration
