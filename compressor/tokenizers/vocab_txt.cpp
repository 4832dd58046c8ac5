#include "compressor/tokenizers/vocab_txt.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
#include "compressor/tokenizers/tokenizer_json.h"

namespace compressor::tokenizers {

namespace {

BertOptions read_tokenizer_config(const std::filesystem::path& path) {
  BertOptions o;
  if (!std::filesystem::exists(path)) return o;
  const auto cfg = read_json_file(path);
  try {
    if (cfg.contains("do_lower_case") && cfg["do_lower_case"].is_boolean()) o.lower_case = cfg["do_lower_case"].get<bool>();
    if (cfg.contains("strip_accents") && cfg["strip_accents"].is_boolean()) o.strip_accents = cfg["strip_accents"].get<bool>();
    if (cfg.contains("tokenize_chinese_chars") && cfg["tokenize_chinese_chars"].is_boolean())
      o.handle_chinese_chars = cfg["tokenize_chinese_chars"].get<bool>();
    if (cfg.contains("unk_token") && cfg["unk_token"].is_string()) o.unk_token = cfg["unk_token"].get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(path.string(), e.what());
  }
  return o;
}

}  // namespace

std::unique_ptr<WordPieceTokenizer> load_vocab_txt(const std::filesystem::path& vocab_txt,
                                                   std::optional<BertOptions> options) {
  const BertOptions o = options ? *options : read_tokenizer_config(vocab_txt.parent_path() / "tokenizer_config.json");
  std::ifstream f(vocab_txt, std::ios::binary);
  if (!f) throw IoError(vocab_txt.string(), "cannot open the vocabulary");
  WordPieceModel model;
  model.unk_token = o.unk_token;
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    model.vocab.emplace_back(line, static_cast<int64_t>(model.vocab.size()));
  }
  std::vector<AddedToken> added;
  Template post;
  auto id_of = [&](const std::string& tok) -> std::optional<int64_t> {
    for (const auto& [t, id] : model.vocab)
      if (t == tok) return id;
    return std::nullopt;
  };
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
    if (auto id = id_of(s)) added.push_back({s, *id, true, false});
  const auto cls = id_of("[CLS]"), sep = id_of("[SEP]");
  if (cls && sep) post = {{*cls}, {*sep}};
  PreTokenizer pre;
  pre.add_bert();
  Pipeline pipeline(std::move(added), bert_normalizer(true, o.handle_chinese_chars, o.strip_accents, o.lower_case),
                    std::move(pre), std::move(post));
  return std::make_unique<WordPieceTokenizer>(model, std::move(pipeline), vocab_txt.string());
}

}  // namespace compressor::tokenizers
