#include "compressor/tokenizers/wordpiece.h"

#include <algorithm>

#include "compressor/base/error.h"

namespace compressor::tokenizers {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

// The WordPiece decoder's cleanup, as tokenizers' decoders::wordpiece::cleanup.
constexpr std::pair<std::string_view, std::string_view> kCleanup[] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"},
    {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(const WordPieceModel& model, Pipeline pipeline, const std::string& source)
    : pipeline_(std::move(pipeline)),
      prefix_(model.continuing_subword_prefix),
      max_chars_(model.max_input_chars_per_word),
      cleanup_(model.decode_cleanup) {
  auto put = [&](const std::string& tok, int64_t id, bool overwrite) {
    if (id < 0) throw BadInput(source, "model.vocab: negative id for \"" + tok + "\"");
    if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(id + 1);
    id_to_token_[id] = tok;
    if (overwrite)
      vocab_[tok] = id;
    else
      vocab_.emplace(tok, id);
  };
  for (const auto& [tok, id] : model.vocab) put(tok, id, true);
  for (const AddedToken& t : pipeline_.added()) put(t.content, t.id, false);
  auto unk = vocab_.find(model.unk_token);
  if (unk == vocab_.end())
    throw BadInput(source, "the unknown token \"" + model.unk_token + "\" is not in the vocabulary");
  unk_id_ = unk->second;
  for (const auto& [tok, id] : vocab_) max_token_bytes_ = std::max(max_token_bytes_, tok.size());
  special_.assign(id_to_token_.size(), false);
  for (const AddedToken& t : pipeline_.added()) special_[t.id] = t.special;
}

std::optional<int64_t> WordPieceTokenizer::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string& WordPieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(id_to_token_.size()))
    throw BadInput("wordpiece tokenizer", "token id " + std::to_string(id) + " is out of range [0, " +
                                              std::to_string(id_to_token_.size()) + ")");
  return id_to_token_[id];
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text) const { return pipeline_.words(text); }

void WordPieceTokenizer::wordpiece(std::string_view word, std::vector<int64_t>& out) const {
  const auto chars = static_cast<size_t>(std::count_if(word.begin(), word.end(), [](char c) { return !is_continuation_byte(c); }));
  if (chars > static_cast<size_t>(max_chars_)) {
    out.push_back(unk_id_);
    return;
  }
  const size_t mark = out.size();
  thread_local std::string key;
  for (size_t start = 0; start < word.size();) {
    size_t end = std::min(word.size(), start + max_token_bytes_);
    while (end < word.size() && is_continuation_byte(word[end])) --end;
    int64_t found = -1;
    while (end > start) {
      key.assign(start > 0 ? prefix_ : std::string());
      key.append(word.substr(start, end - start));
      auto it = vocab_.find(key);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
      --end;
      while (end > start && is_continuation_byte(word[end])) --end;
    }
    if (found < 0) {
      out.resize(mark);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& text) const {
  return pipeline_.encode(text, add_special_tokens_, [this](std::string_view word, std::vector<int64_t>& ids) { wordpiece(word, ids); });
}

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  bool first = true;
  for (int64_t id : ids) {
    const std::string& token = id_to_token(id);  // throws for an id out of range
    if (special_[id]) continue;
    std::string tok = token;
    if (!first) {
      if (tok.compare(0, prefix_.size(), prefix_) == 0)
        tok.erase(0, prefix_.size());
      else
        tok.insert(0, " ");
    }
    first = false;
    if (cleanup_)
      for (const auto& [from, to] : kCleanup) replace_all(tok, from, to);
    out += tok;
  }
  return out;
}

}  // namespace compressor::tokenizers
