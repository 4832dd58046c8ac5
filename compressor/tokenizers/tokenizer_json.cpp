#include "compressor/tokenizers/tokenizer_json.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
#include "compressor/tokenizers/regex.h"

namespace compressor::tokenizers {

namespace {

using nlohmann::json;

// Where in which file a value sits, for errors: "tokenizer.json: pre_tokenizer.pretokenizers[0]: ...".
struct At {
  const std::string& file;
  std::string key;

  At operator[](const std::string& child) const { return {file, key + "." + child}; }
  At operator[](size_t i) const { return {file, key + "[" + std::to_string(i) + "]"}; }
  [[noreturn]] void fail(const std::string& msg) const { throw BadInput(file, key + ": " + msg); }
};

// Runs f(), turning a JSON type or key error into BadInput at `at`.
template <class F>
auto guarded(const At& at, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const json::exception& e) {
    at.fail(e.what());
  }
}

std::string type_of(const json& j, const At& at) {
  if (!j.is_object()) at.fail("expected an object with a \"type\", got " + std::string(j.type_name()));
  return guarded(at["type"], [&] { return j.at("type").get<std::string>(); });
}

SplitBehavior behavior_of(const json& j, const At& at) {
  const auto name = guarded(at, [&] { return j.get<std::string>(); });
  const auto b = split_behavior_named(name);
  if (!b)
    at.fail("\"" + name + "\" is not a split behavior (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
  return *b;
}

void parse_normalizer(const json& n, const At& at, Normalizer& out) {
  if (n.is_null()) return;
  const std::string type = type_of(n, at);
  using Step = Normalizer::Step;
  if (type == "Sequence") {
    const auto& list = guarded(at["normalizers"], [&]() -> const json& { return n.at("normalizers"); });
    for (size_t i = 0; i < list.size(); ++i) parse_normalizer(list[i], at["normalizers"][i], out);
  } else if (type == "NFC") {
    out.add(Step::NFC);
  } else if (type == "NFD") {
    out.add(Step::NFD);
  } else if (type == "NFKC") {
    out.add(Step::NFKC);
  } else if (type == "NFKD") {
    out.add(Step::NFKD);
  } else if (type == "Lowercase") {
    out.add(Step::Lowercase);
  } else if (type == "StripAccents") {
    out.add(Step::StripAccents);
  } else if (type == "BertNormalizer") {
    guarded(at, [&] {
      std::optional<bool> strip;
      if (n.contains("strip_accents") && !n["strip_accents"].is_null()) strip = n["strip_accents"].get<bool>();
      out.append(bert_normalizer(n.value("clean_text", true), n.value("handle_chinese_chars", true), strip,
                                 n.value("lowercase", true)));
    });
  } else {
    at.fail("type \"" + type + "\" is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, "
            "BertNormalizer, Sequence, null)");
  }
}

void parse_pre_tokenizer(const json& p, const At& at, PreTokenizer& out) {
  if (p.is_null()) return;
  const std::string type = type_of(p, at);
  if (type == "Sequence") {
    const auto& list = guarded(at["pretokenizers"], [&]() -> const json& { return p.at("pretokenizers"); });
    for (size_t i = 0; i < list.size(); ++i) parse_pre_tokenizer(list[i], at["pretokenizers"][i], out);
  } else if (type == "Split") {
    const At pat = at["pattern"];
    const auto& pj = guarded(pat, [&]() -> const json& { return p.at("pattern"); });
    std::shared_ptr<const Pattern> pattern;
    try {
      if (pj.contains("Regex"))
        pattern = regex_pattern(guarded(pat["Regex"], [&] { return pj["Regex"].get<std::string>(); }));
      else if (pj.contains("String"))
        pattern = literal_pattern(guarded(pat["String"], [&] { return pj["String"].get<std::string>(); }));
      else
        pat.fail("expected {\"Regex\": ...} or {\"String\": ...}");
    } catch (const RegexError& e) {
      pat.fail(std::string(e.what()) + " (pattern " + pj.dump() + ")");
    }
    const SplitBehavior behavior =
        behavior_of(guarded(at["behavior"], [&]() -> const json& { return p.at("behavior"); }), at["behavior"]);
    out.add_split(pattern, behavior, guarded(at["invert"], [&] { return p.value("invert", false); }));
  } else if (type == "ByteLevel") {
    guarded(at, [&] { out.add_byte_level(p.value("add_prefix_space", false), p.value("use_regex", true)); });
  } else if (type == "Digits") {
    guarded(at, [&] { out.add_digits(p.value("individual_digits", false)); });
  } else if (type == "BertPreTokenizer") {
    out.add_bert();
  } else if (type == "WhitespaceSplit") {
    out.add_whitespace_split();
  } else if (type == "Punctuation") {
    out.add_punctuation(p.contains("behavior") ? behavior_of(p["behavior"], at["behavior"]) : SplitBehavior::Isolated);
  } else {
    at.fail("type \"" + type + "\" is not supported (supported: Split, ByteLevel, Digits, BertPreTokenizer, "
            "WhitespaceSplit, Punctuation, Sequence, null)");
  }
}

Template parse_post_processor(const json& pp, const At& at) {
  Template t;
  if (pp.is_null()) return t;
  const std::string type = type_of(pp, at);
  guarded(at, [&] {
    if (type == "BertProcessing" || type == "RobertaProcessing") {
      t.prefix.push_back(pp.at("cls").at(1).get<int64_t>());
      t.suffix.push_back(pp.at("sep").at(1).get<int64_t>());
    } else if (type == "TemplateProcessing") {
      bool seen_a = false;
      for (const auto& piece : pp.at("single")) {
        if (piece.contains("Sequence")) {
          seen_a = true;
        } else if (piece.contains("SpecialToken")) {
          const std::string name = piece["SpecialToken"].at("id").get<std::string>();
          const auto& st = pp.at("special_tokens");
          if (!st.contains(name)) at["special_tokens"].fail("no entry for \"" + name + "\"");
          for (const auto& id : st[name].at("ids")) (seen_a ? t.suffix : t.prefix).push_back(id.get<int64_t>());
        }
      }
    } else if (type == "Sequence") {
      const auto& list = pp.at("processors");
      for (size_t i = 0; i < list.size(); ++i) {
        Template s = parse_post_processor(list[i], at["processors"][i]);
        t.prefix.insert(t.prefix.end(), s.prefix.begin(), s.prefix.end());
        t.suffix.insert(t.suffix.end(), s.suffix.begin(), s.suffix.end());
      }
    } else if (type != "ByteLevel") {
      at.fail("type \"" + type + "\" is not supported (supported: TemplateProcessing, BertProcessing, "
              "RobertaProcessing, ByteLevel, Sequence, null)");
    }
  });
  return t;
}

std::vector<AddedToken> parse_added_tokens(const json& j, const At& at) {
  std::vector<AddedToken> out;
  if (!j.contains("added_tokens") || j["added_tokens"].is_null()) return out;
  const auto& list = j["added_tokens"];
  if (!list.is_array()) at.fail("expected an array, got " + std::string(list.type_name()));
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& a = list[i];
    guarded(at[i], [&] {
      AddedToken t{a.at("content").get<std::string>(), a.at("id").get<int64_t>(), a.value("special", false),
                   a.value("normalized", false)};
      if (a.value("lstrip", false) || a.value("rstrip", false) || a.value("single_word", false))
        at[i].fail("added token \"" + t.content + "\" uses lstrip/rstrip/single_word, which is not supported");
      if (t.id < 0) at[i].fail("added token \"" + t.content + "\" has a negative id");
      out.push_back(std::move(t));
    });
  }
  return out;
}

// Everything but the model. `bpe`: the pre-tokenizer must end with ByteLevel (else must not use it).
Pipeline parse_pipeline(const json& j, const std::string& file, bool bpe) {
  Normalizer normalizer;
  parse_normalizer(j.contains("normalizer") ? j["normalizer"] : json(), At{file, "normalizer"}, normalizer);
  PreTokenizer pre;
  const At pre_at{file, "pre_tokenizer"};
  parse_pre_tokenizer(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), pre_at, pre);
  if (bpe && (pre.byte_level_steps() != 1 || !pre.ends_with_byte_level()))
    pre_at.fail("byte-level BPE needs exactly one ByteLevel pre-tokenizer, last in the sequence");
  if (!bpe && pre.byte_level_steps() != 0) pre_at.fail("ByteLevel is only supported with a BPE model");
  Template post = parse_post_processor(j.contains("post_processor") ? j["post_processor"] : json(),
                                       At{file, "post_processor"});
  return Pipeline(parse_added_tokens(j, At{file, "added_tokens"}), std::move(normalizer), std::move(pre),
                  std::move(post));
}

const json& model_of(const json& j, const std::string& file, const char* type) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    throw BadInput(file, "model: missing (not a Hugging Face tokenizer.json?)");
  const auto& m = j["model"];
  const std::string t = guarded(At{file, "model.type"}, [&] { return m.value("type", std::string()); });
  if (t != type) throw BadInput(file, "model.type is \"" + t + "\", expected \"" + type + "\"");
  return m;
}

}  // namespace

json read_json_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(path.string(), "cannot open the file");
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    throw BadInput(path.string(), std::string("not valid JSON: ") + e.what());
  }
}

std::unique_ptr<BpeTokenizer> load_bpe_json(const json& j, const std::string& file) {
  const json& m = model_of(j, file, "BPE");
  const At at{file, "model"};
  for (const char* k : {"unk_token", "continuing_subword_prefix", "end_of_word_suffix", "dropout"})
    if (m.contains(k) && !m[k].is_null()) at[k].fail("is set; only byte-level BPE without it is supported");
  if (guarded(at["byte_fallback"], [&] { return m.value("byte_fallback", false); }))
    at["byte_fallback"].fail("is not supported");
  BpeModel model;
  model.ignore_merges = guarded(at["ignore_merges"], [&] { return m.value("ignore_merges", false); });
  guarded(at["vocab"], [&] {
    for (const auto& [tok, id] : m.at("vocab").items()) model.vocab.emplace_back(tok, id.get<int64_t>());
  });
  const auto& merges = guarded(at["merges"], [&]() -> const json& { return m.at("merges"); });
  for (size_t i = 0; i < merges.size(); ++i) {
    guarded(at["merges"][i], [&] {
      const auto& mg = merges[i];
      if (mg.is_string()) {
        const auto s = mg.get<std::string>();
        const auto sp = s.find(' ', 1);
        if (sp == std::string::npos) at["merges"][i].fail("\"" + s + "\" is not \"left right\"");
        model.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else {
        model.merges.emplace_back(mg.at(0).get<std::string>(), mg.at(1).get<std::string>());
      }
    });
  }
  if (j.contains("decoder") && !j["decoder"].is_null() && type_of(j["decoder"], At{file, "decoder"}) != "ByteLevel")
    At{file, "decoder"}.fail("type \"" + j["decoder"]["type"].get<std::string>() +
                             "\" is not supported with byte-level BPE (supported: ByteLevel, null)");
  return std::make_unique<BpeTokenizer>(model, parse_pipeline(j, file, true), file);
}

std::unique_ptr<WordPieceTokenizer> load_wordpiece_json(const json& j, const std::string& file) {
  const json& m = model_of(j, file, "WordPiece");
  const At at{file, "model"};
  WordPieceModel model;
  guarded(at["vocab"], [&] {
    for (const auto& [tok, id] : m.at("vocab").items()) model.vocab.emplace_back(tok, id.get<int64_t>());
  });
  guarded(at, [&] {
    model.unk_token = m.value("unk_token", "[UNK]");
    model.continuing_subword_prefix = m.value("continuing_subword_prefix", "##");
    model.max_input_chars_per_word = m.value("max_input_chars_per_word", 100);
  });
  if (j.contains("decoder") && !j["decoder"].is_null() && type_of(j["decoder"], At{file, "decoder"}) == "WordPiece")
    model.decode_cleanup = guarded(At{file, "decoder.cleanup"}, [&] { return j["decoder"].value("cleanup", true); });
  return std::make_unique<WordPieceTokenizer>(model, parse_pipeline(j, file, false), file);
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const json& j, const std::string& file) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    throw BadInput(file, "model: missing (not a Hugging Face tokenizer.json?)");
  const std::string type = guarded(At{file, "model.type"}, [&] { return j["model"].value("type", std::string()); });
  if (type == "WordPiece") return load_wordpiece_json(j, file);
  if (type == "BPE") return load_bpe_json(j, file);
  throw BadInput(file, "model.type \"" + type + "\" is not supported (supported: BPE, WordPiece)");
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::filesystem::path& path) {
  return load_tokenizer_json(read_json_file(path), path.string());
}

std::unique_ptr<BpeTokenizer> load_bpe_json(const std::filesystem::path& path) {
  return load_bpe_json(read_json_file(path), path.string());
}

std::unique_ptr<WordPieceTokenizer> load_wordpiece_json(const std::filesystem::path& path) {
  return load_wordpiece_json(read_json_file(path), path.string());
}

}  // namespace compressor::tokenizers
