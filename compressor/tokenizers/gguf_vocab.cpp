#include "compressor/tokenizers/gguf_vocab.h"

#include "compressor/base/error.h"
#include "compressor/tokenizers/tokenizer_json.h"
#include "compressor/tokenizers/unicode.h"

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

namespace compressor::tokenizers {

namespace {

std::string key_in(const std::string& file, const std::string& key) { return file + ": " + key; }

// A pre-tokenizer or normalizer without the keys that do not change the split (ByteLevel's
// trim_offsets only moves offsets), so files from any `tokenizers` version compare by meaning.
json without_offsets(json j) {
  if (j.is_object()) {
    j.erase("trim_offsets");
    for (auto& [k, v] : j.items()) v = without_offsets(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = without_offsets(v);
  }
  return j;
}

}  // namespace

GgufVocab gguf_vocab_from_tokenizer_json(const nlohmann::json& j, const std::string& file, int64_t vocab_size) {
  const auto model = j.find("model");
  if (model == j.end() || !model->is_object() || model->value("type", std::string()) != "BPE")
    throw BadInput(key_in(file, "model.type"), "GGUF export needs a byte-level BPE tokenizer (model.type \"BPE\")");
  GgufVocab v;
  v.source = file;
  v.model = "gpt2";
  v.tokens.assign(static_cast<size_t>(vocab_size), std::string());
  v.token_types.assign(static_cast<size_t>(vocab_size), 0);
  auto place = [&](const std::string& where, int64_t id, const std::string& text, int64_t type) {
    if (id < 0 || id >= vocab_size)
      throw BadInput(key_in(file, where), "token id " + std::to_string(id) + " (\"" + text +
                                              "\") is outside the model's vocabulary of " + std::to_string(vocab_size));
    auto& slot = v.token_types[static_cast<size_t>(id)];
    if (slot != 0 && v.tokens[static_cast<size_t>(id)] != text)
      throw BadInput(key_in(file, where), "token id " + std::to_string(id) + " is given to both \"" +
                                              v.tokens[static_cast<size_t>(id)] + "\" and \"" + text + "\"");
    v.tokens[static_cast<size_t>(id)] = text;
    slot = type;
  };
  const auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object()) throw BadInput(key_in(file, "model.vocab"), "expected an object");
  for (const auto& [text, id] : vocab->items()) {
    if (!id.is_number_integer()) throw BadInput(key_in(file, "model.vocab." + text), "expected a token id");
    place("model.vocab", id.get<int64_t>(), text, 1);
  }
  if (const auto added = j.find("added_tokens"); added != j.end() && added->is_array()) {
    for (size_t i = 0; i < added->size(); ++i) {
      const auto& t = (*added)[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!t.is_object() || !t.contains("id") || !t.contains("content"))
        throw BadInput(key_in(file, where), "expected {id, content, special}");
      const int64_t id = t.at("id").get<int64_t>();
      // An added token replaces a vocab entry of the same id with its own type.
      if (id >= 0 && id < vocab_size) v.token_types[static_cast<size_t>(id)] = 0;
      place(where, id, t.at("content").get<std::string>(), t.value("special", false) ? 3 : 4);
    }
  }
  for (int64_t id = 0; id < vocab_size; ++id) {
    if (v.token_types[static_cast<size_t>(id)] != 0) continue;
    v.tokens[static_cast<size_t>(id)] = "[PAD" + std::to_string(id) + "]";
    v.token_types[static_cast<size_t>(id)] = 5;
  }
  if (const auto merges = model->find("merges"); merges != model->end() && merges->is_array()) {
    for (size_t i = 0; i < merges->size(); ++i) {
      const auto& m = (*merges)[i];
      if (m.is_string()) {
        v.merges.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      } else {
        throw BadInput(key_in(file, "model.merges[" + std::to_string(i) + "]"), "expected \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  // The pre-tokenizer family: the one whose tokenizer.json has the same normalizer and pre_tokenizer.
  const json none = nullptr;
  const json& normalizer = j.contains("normalizer") ? j.at("normalizer") : none;
  const json& pre = j.contains("pre_tokenizer") ? j.at("pre_tokenizer") : none;
  // "gpt-2" is the name llama.cpp knows for GPT-2's regex (it refuses "gpt2").
  for (const char* family : {"gpt-2", "smollm", "llama-bpe", "qwen2", "gpt-4o"}) {
    GgufVocab probe;
    probe.model = "gpt2";
    probe.pre = family;
    const json ref = gguf_tokenizer_json(probe);
    if (ref.at("normalizer") == normalizer && without_offsets(ref.at("pre_tokenizer")) == without_offsets(pre)) {
      v.pre = family;
      return v;
    }
  }
  throw BadInput(key_in(file, "pre_tokenizer"),
                 "matches none of the pre-tokenizers GGUF names (gpt-2, smollm, llama-bpe, qwen2, gpt-4o): " +
                     pre.dump().substr(0, 200));
}

GgufVocab byte_gguf_vocab() {
  GgufVocab v;
  v.source = "byte-level vocabulary";
  v.model = "gpt2";
  v.pre = "gpt-2";
  const auto b2u = bytes_to_unicode();
  for (int b = 0; b < 256; ++b) {
    std::string t;
    unicode::append_utf8(t, b2u[b]);
    v.tokens.push_back(t);
    v.token_types.push_back(1);
  }
  return v;
}

}  // namespace compressor::tokenizers
