// What a tokenizer.json tokenizer does around its model, in Hugging Face `tokenizers`' order: the
// added tokens found in the raw text, the normalizer on the text between them, the added tokens
// marked "normalized" found in the normalized text, the pre-tokenizer on what is left; then the
// post-processor's ids around the model's output (the Template).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "compressor/tokenizers/added_tokens.h"
#include "compressor/tokenizers/normalizer.h"
#include "compressor/tokenizers/pre_tokenizer.h"

namespace compressor::tokenizers {

// Ids the post-processor puts around a single sequence (TemplateProcessing "single",
// BertProcessing, RobertaProcessing; none for ByteLevel or null).
struct Template {
  std::vector<int64_t> prefix, suffix;
};

// A pre-tokenized word (id -1), or an added token (text empty).
struct Segment {
  std::string_view text;
  int64_t id;
};

// The segments of one text, and the strings their views may point into.
struct Segments {
  std::vector<Segment> list;
  std::deque<std::string> owned;
  void clear() {
    list.clear();
    owned.clear();
  }
};

class Pipeline {
 public:
  Pipeline() = default;
  Pipeline(std::vector<AddedToken> added, Normalizer normalizer, PreTokenizer pre_tokenizer, Template post);

  // Appends the segments of `text` to `out` (views into `text` or into out.owned).
  void split(std::string_view text, Segments& out) const;

  // The pre-tokenized words of `text` (added tokens left out), as the model sees them.
  std::vector<std::string> words(std::string_view text) const {
    Segments segs;
    split(text, segs);
    std::vector<std::string> out;
    for (const Segment& s : segs.list)
      if (s.id < 0) out.emplace_back(s.text);
    return out;
  }

  // The ids of `text`: added tokens as they are, every other segment through `model` (BPE merges,
  // WordPiece's greedy longest match), between the post-processor's ids when `add_special_tokens`.
  template <class Model>
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens, Model&& model) const {
    thread_local Segments segs;
    segs.clear();
    split(text, segs);
    std::vector<int64_t> ids;
    if (add_special_tokens) ids = post_.prefix;
    for (const Segment& s : segs.list) {
      if (s.id >= 0)
        ids.push_back(s.id);
      else
        model(s.text, ids);
    }
    if (add_special_tokens) ids.insert(ids.end(), post_.suffix.begin(), post_.suffix.end());
    return ids;
  }

  const Template& post() const { return post_; }
  const PreTokenizer& pre_tokenizer() const { return pre_tokenizer_; }
  const std::vector<AddedToken>& added() const { return added_; }

 private:
  std::vector<AddedToken> added_;
  AddedTokens raw_, normalized_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Template post_;
};

}  // namespace compressor::tokenizers
