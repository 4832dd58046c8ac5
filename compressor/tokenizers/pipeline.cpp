#include "compressor/tokenizers/pipeline.h"

#include <utility>

namespace compressor::tokenizers {

Pipeline::Pipeline(std::vector<AddedToken> added, Normalizer normalizer, PreTokenizer pre_tokenizer, Template post)
    : added_(std::move(added)),
      normalizer_(std::move(normalizer)),
      pre_tokenizer_(std::move(pre_tokenizer)),
      post_(std::move(post)) {
  for (const AddedToken& t : added_) {
    if (t.normalized && !normalizer_.empty())
      normalized_.add(normalizer_.normalize(t.content), t.id);
    else
      (t.normalized ? normalized_ : raw_).add(t.content, t.id);
  }
}

void Pipeline::split(std::string_view text, Segments& out) const {
  thread_local std::vector<std::string_view> words;
  for (const auto& [raw_piece, raw_id] : raw_.split(text)) {
    if (raw_id >= 0) {
      out.list.push_back({{}, raw_id});
      continue;
    }
    std::string_view piece = raw_piece;
    if (!normalizer_.empty()) {
      out.owned.push_back(normalizer_.normalize(piece));
      piece = out.owned.back();
    }
    for (const auto& [p, id] : normalized_.split(piece)) {
      if (id >= 0) {
        out.list.push_back({{}, id});
        continue;
      }
      words.clear();
      pre_tokenizer_.pre_tokenize(p, words, out.owned);
      for (std::string_view w : words) out.list.push_back({w, -1});
    }
  }
}

}  // namespace compressor::tokenizers
