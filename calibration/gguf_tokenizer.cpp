#include "calibration/gguf_tokenizer.h"

#include "compressor/base/error.h"
#include "formats/gguf.h"

namespace compressor::calibration {

nlohmann::json gguf_tokenizer_json(const formats::GgufFile& f) {
  const std::string where = f.path().string();
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "gpt2") {
    throw BadInput(where, "key 'tokenizer.ggml.model' is '" + model +
                              "'; only byte-level BPE ('gpt2') tokenizers are supported");
  }
  const auto& tokens = f.get_array("tokenizer.ggml.tokens");
  if (tokens.type != formats::GgufValueType::STRING) {
    throw BadInput(where, "key 'tokenizer.ggml.tokens': expected an array of strings");
  }
  std::vector<int64_t> types(tokens.size(), 1);
  if (f.has("tokenizer.ggml.token_type")) {
    const auto& tt = f.get_array("tokenizer.ggml.token_type");
    if (tt.size() != tokens.size()) {
      throw BadInput(where, "key 'tokenizer.ggml.token_type' has " + std::to_string(tt.size()) + " entries but " +
                                "'tokenizer.ggml.tokens' has " + std::to_string(tokens.size()));
    }
    for (size_t i = 0; i < tt.size(); ++i) {
      types[i] = !tt.ints.empty() ? tt.ints[i] : !tt.uints.empty() ? static_cast<int64_t>(tt.uints[i]) : 1;
    }
  }
  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto id = static_cast<int64_t>(i);
    vocab[tokens.strings[i]] = id;
    if (types[i] == 3 || types[i] == 4) {
      added.push_back({{"id", id}, {"content", tokens.strings[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", types[i] == 3}});
    }
  }
  nlohmann::json merges = nlohmann::json::array();
  if (f.has("tokenizer.ggml.merges")) {
    const auto& m = f.get_array("tokenizer.ggml.merges");
    if (m.type != formats::GgufValueType::STRING) {
      throw BadInput(where, "key 'tokenizer.ggml.merges': expected an array of strings");
    }
    for (const auto& s : m.strings) merges.push_back(s);
  }
  const std::string pre = f.has("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "default";
  const nlohmann::json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                     {"use_regex", true}};
  nlohmann::json pre_tokenizer;
  if (pre == "smollm") {
    pre_tokenizer = {{"type", "Sequence"},
                     {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level}}};
  } else if (pre == "gpt2" || pre == "default") {
    pre_tokenizer = byte_level;
  } else {
    throw BadInput(where, "key 'tokenizer.ggml.pre' is '" + pre +
                              "'; supported pre-tokenizers: smollm, gpt2, default");
  }
  nlohmann::json j;
  j["version"] = "1.0";
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = pre_tokenizer;
  j["post_processor"] = nullptr;
  j["decoder"] = byte_level;
  j["model"] = {{"type", "BPE"},          {"dropout", nullptr},        {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},      {"byte_fallback", false},    {"ignore_merges", false},
                {"vocab", vocab},         {"merges", merges}};
  return j;
}

std::unique_ptr<BpeTokenizer> load_gguf_tokenizer(const formats::GgufFile& f) {
  return BpeTokenizer::from_tokenizer_json(gguf_tokenizer_json(f), f.path().string());
}

std::unique_ptr<BpeTokenizer> load_gguf_tokenizer(const std::filesystem::path& gguf) {
  return load_gguf_tokenizer(*formats::GgufFile::open(gguf));
}

}  // namespace compressor::calibration
