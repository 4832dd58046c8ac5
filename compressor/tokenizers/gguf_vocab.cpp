#include "compressor/tokenizers/gguf_vocab.h"

#include "compressor/base/error.h"
#include "compressor/tokenizers/tokenizer_json.h"

namespace compressor::tokenizers {

namespace {

using nlohmann::json;

const char* const kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json split_then_byte_level(const char* regex) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
            byte_level(false)}}};
}

}  // namespace

json gguf_tokenizer_json(const GgufVocab& v) {
  if (v.model != "gpt2")
    throw BadInput(v.source, "key 'tokenizer.ggml.model' is '" + v.model +
                                 "'; only byte-level BPE ('gpt2') tokenizers are supported");
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size())
    throw BadInput(v.source, "key 'tokenizer.ggml.token_type' has " + std::to_string(v.token_types.size()) +
                                 " entries but 'tokenizer.ggml.tokens' has " + std::to_string(v.tokens.size()));
  json normalizer = nullptr, pre;
  bool ignore_merges = false;
  if (v.pre == "smollm") {
    pre = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}}};
  } else if (v.pre == "gpt2" || v.pre == "gpt-2" || v.pre == "default") {
    pre = byte_level(true);
  } else if (v.pre == "llama-bpe") {
    pre = split_then_byte_level(kLlama3);
    ignore_merges = true;
  } else if (v.pre == "qwen2") {
    normalizer = {{"type", "NFC"}};
    pre = split_then_byte_level(kQwen2);
  } else if (v.pre == "gpt-4o") {
    pre = split_then_byte_level(kO200k);
  } else {
    throw BadInput(v.source, "key 'tokenizer.ggml.pre' is '" + v.pre +
                                 "'; supported pre-tokenizers: smollm, gpt2, gpt-2, default, llama-bpe, qwen2, gpt-4o");
  }
  json vocab = json::object();
  json added = json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const auto id = static_cast<int64_t>(i);
    const int64_t type = v.token_types.empty() ? 1 : v.token_types[i];
    vocab[v.tokens[i]] = id;
    if (type == 3 || type == 4) {
      added.push_back({{"id", id}, {"content", v.tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", type == 3}});
    }
  }
  json j;
  j["version"] = "1.0";
  j["added_tokens"] = added;
  j["normalizer"] = normalizer;
  j["pre_tokenizer"] = pre;
  j["post_processor"] = nullptr;
  j["decoder"] = byte_level(true);
  j["model"] = {{"type", "BPE"},          {"dropout", nullptr},        {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},      {"byte_fallback", false},    {"ignore_merges", ignore_merges},
                {"vocab", vocab},         {"merges", v.merges}};
  return j;
}

std::unique_ptr<BpeTokenizer> load_gguf_vocab(const GgufVocab& v) { return load_bpe_json(gguf_tokenizer_json(v), v.source); }

}  // namespace compressor::tokenizers
