#include "compressor/tokenizers/added_tokens.h"

namespace compressor::tokenizers {

void AddedTokens::add(std::string content, int64_t id) {
  if (content.empty()) return;
  for (auto& e : tokens_) {
    if (e.content == content) {
      e.id = id;
      return;
    }
  }
  by_first_byte_[static_cast<unsigned char>(content[0])].push_back(tokens_.size());
  tokens_.push_back({std::move(content), id});
}

std::vector<std::pair<std::string_view, int64_t>> AddedTokens::split(std::string_view text) const {
  std::vector<std::pair<std::string_view, int64_t>> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size() && !tokens_.empty();) {
    const Entry* best = nullptr;
    for (size_t k : by_first_byte_[static_cast<unsigned char>(text[i])]) {
      const Entry& e = tokens_[k];
      if (text.compare(i, e.content.size(), e.content) == 0 && (!best || e.content.size() > best->content.size()))
        best = &e;
    }
    if (!best) {
      ++i;
      continue;
    }
    if (i > start) out.emplace_back(text.substr(start, i - start), -1);
    out.emplace_back(std::string_view(), best->id);
    i += best->content.size();
    start = i;
  }
  if (start < text.size()) out.emplace_back(text.substr(start), -1);
  return out;
}

}  // namespace compressor::tokenizers
