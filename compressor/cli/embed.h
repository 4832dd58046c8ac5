#pragma once
#include <cstdint>
#include <string>

namespace compressor::cli {

struct EmbedArgs {
  std::string model;   // BERT artifact or checkpoint directory
  std::string text;    // one sentence a line
  std::string out;     // JSON lines file; stdout when empty
  int64_t batch = 32;  // sentences encoded together
};

// Sentence embeddings of every non-empty line of --text, executed by the runtime's encoder
// (runtime/encoder.h: mean-pooled, L2-normalised, as sentence-transformers computes them), one
// JSON object a line: {"line": N, "embedding": [...]}. A summary line (sentences, tokens, seconds)
// goes to stderr. Every line is tokenized and checked before any is encoded; a line longer than
// the model's positions is BadInput naming FILE:LINE. Returns 0; throws BadInput.
int embed_text(const EmbedArgs& args);

}  // namespace compressor::cli
