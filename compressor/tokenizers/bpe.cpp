#include "compressor/tokenizers/bpe.h"

#include <algorithm>
#include <limits>

#include "compressor/base/error.h"
#include "compressor/tokenizers/unicode.h"

namespace compressor::tokenizers {

namespace {

uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }

}  // namespace

std::array<char32_t, 256> bytes_to_unicode() {
  std::array<char32_t, 256> m{};
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    m[b] = keep ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
  }
  return m;
}

BpeTokenizer::BpeTokenizer(const BpeModel& model, Pipeline pipeline, const std::string& source)
    : pipeline_(std::move(pipeline)), ignore_merges_(model.ignore_merges) {
  if (!pipeline_.pre_tokenizer().ends_with_byte_level())
    throw BadInput(source, "pre_tokenizer: byte-level BPE needs a ByteLevel pre-tokenizer, last in its sequence");
  for (const auto& [tok, id] : model.vocab) {
    if (id < 0 || id > std::numeric_limits<int32_t>::max())
      throw BadInput(source, "model.vocab: id " + std::to_string(id) + " of \"" + tok + "\" is out of range");
    vocab_[tok] = id;
    vocab_size_ = std::max(vocab_size_, id + 1);
  }
  for (size_t rank = 0; rank < model.merges.size(); ++rank) {
    const auto& [a, b] = model.merges[rank];
    auto ia = vocab_.find(a), ib = vocab_.find(b), iab = vocab_.find(a + b);
    if (ia == vocab_.end() || ib == vocab_.end() || iab == vocab_.end())
      throw BadInput(source, "model.merges[" + std::to_string(rank) + "]: \"" + a + "\" + \"" + b +
                                 "\" is not in the vocabulary");
    merges_.emplace(pair_key(ia->second, ib->second),
                    std::make_pair(static_cast<int32_t>(rank), iab->second));  // the first (lowest) rank wins
  }
  for (const AddedToken& t : pipeline_.added()) {
    if (t.id < 0 || t.id > std::numeric_limits<int32_t>::max())
      throw BadInput(source, "added_tokens: id " + std::to_string(t.id) + " of \"" + t.content + "\" is out of range");
    vocab_size_ = std::max(vocab_size_, t.id + 1);
  }

  const auto b2u = bytes_to_unicode();
  std::unordered_map<char32_t, unsigned char> u2b;
  for (int b = 0; b < 256; ++b) {
    u2b[b2u[b]] = static_cast<unsigned char>(b);
    unicode::append_utf8(byte_char_[b], b2u[b]);
    auto it = vocab_.find(byte_char_[b]);
    byte_id_[b] = it == vocab_.end() ? -1 : it->second;
  }
  id_bytes_.assign(vocab_size_, std::string());
  for (const auto& [tok, id] : vocab_) {
    std::string& out = id_bytes_[id];
    for (size_t i = 0; i < tok.size();) {
      const size_t at = i;
      const auto cp = unicode::next_code_point(tok, i);
      auto it = cp ? u2b.find(*cp) : u2b.end();
      if (it != u2b.end())
        out.push_back(static_cast<char>(it->second));
      else
        out.append(tok, at, i - at);
    }
  }
  for (const AddedToken& t : pipeline_.added()) id_bytes_[t.id] = t.content;
}

std::vector<std::string> BpeTokenizer::pre_tokenize(std::string_view text) const { return pipeline_.words(text); }

void BpeTokenizer::bpe(std::string_view word, std::vector<int64_t>& out) const {
  if (ignore_merges_) {
    thread_local std::string mapped;
    mapped.clear();
    for (unsigned char b : word) mapped += byte_char_[b];
    auto it = vocab_.find(mapped);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::vector<int64_t> sym;
  sym.clear();
  for (unsigned char b : word)
    if (byte_id_[b] >= 0) sym.push_back(byte_id_[b]);
  while (sym.size() > 1) {
    int32_t best_rank = std::numeric_limits<int32_t>::max();
    size_t best = 0;
    int64_t merged = -1;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = merges_.find(pair_key(sym[i], sym[i + 1]));
      if (it != merges_.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        best = i;
        merged = it->second.second;
      }
    }
    if (merged < 0) break;
    sym[best] = merged;
    sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  out.insert(out.end(), sym.begin(), sym.end());
}

std::vector<int64_t> BpeTokenizer::encode(const std::string& text) const {
  return pipeline_.encode(text, add_special_tokens_, [this](std::string_view word, std::vector<int64_t>& ids) { bpe(word, ids); });
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size_)
      throw BadInput("bpe tokenizer", "token id " + std::to_string(id) + " is out of range [0, " +
                                          std::to_string(vocab_size_) + ")");
    out += id_bytes_[id];
  }
  return out;
}

}  // namespace compressor::tokenizers
