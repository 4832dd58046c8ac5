// A BERT encoder executed from an artifact as stored (Hugging Face BertModel names, with or
// without the "bert." prefix; all-MiniLM-L6-v2 and its compressed artifacts): the last hidden
// states, and sentence embeddings as sentence-transformers computes them (mean over the tokens,
// L2-normalised). Post-LN blocks: x = LN(x + attn(x)), x = LN(x + down(act(up(x)))). Weights as the
// decoder holds them (linear_weight.h); no LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"
#include "formats/bert_config.h"

namespace compressor::runtime {

struct EncoderLayer {
  LinearWeight q, k, v, out, up, down;
  FloatVector norm1_weight, norm1_bias;  // attention.output.LayerNorm
  FloatVector norm2_weight, norm2_bias;  // output.LayerNorm
};

class Encoder {
 public:
  // Reads DIR/config.json (model_type bert) and DIR/model.safetensors, an artifact's manifest
  // verified first. BadInput naming the file and key or tensor for what it cannot execute.
  static std::unique_ptr<Encoder> load(const std::filesystem::path& dir);

  const formats::BertConfig& config() const { return config_; }

  // Several sentences at once, each its token ids with their special tokens ([CLS] ... [SEP]) and
  // token type 0: the rows of all are stacked through the linears, norms and activations, and each
  // sentence's tokens attend to all of its own tokens (no padding, no mask). Returns the last
  // hidden states, [Σ tokens, hidden], sentences in order. BadInput naming the sentence ("sentence
  // 2") when one is empty, longer than max_position_embeddings, or has a token outside the vocabulary.
  Matrix forward(const std::vector<std::vector<int32_t>>& sentences) const;

  // [sentences, hidden]: each sentence's last hidden states averaged over its tokens, then scaled
  // to unit length (a zero vector stays zero).
  Matrix sentence_embeddings(const std::vector<std::vector<int32_t>>& sentences) const;

  // Every linear weight (the word embedding, then each layer's), in load order.
  std::vector<const LinearWeight*> linear_weights() const;

 private:
  Encoder() = default;
  formats::BertConfig config_;
  LinearWeight words_;                  // [vocab, hidden]
  FloatVector positions_, token_types_;  // [max_positions, hidden], [type_vocab_size, hidden]
  FloatVector embed_norm_weight_, embed_norm_bias_;
  std::vector<EncoderLayer> layers_;
};

}  // namespace compressor::runtime
