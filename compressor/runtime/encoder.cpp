#include "compressor/runtime/encoder.h"

#include <algorithm>
#include <cmath>

#include "compressor/base/error.h"
#include "compressor/runtime/checkpoint_loader.h"
#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/ops/activation.h"
#include "compressor/runtime/ops/attention.h"
#include "compressor/runtime/ops/norm.h"

namespace compressor::runtime {

std::unique_ptr<Encoder> Encoder::load(const std::filesystem::path& dir) {
  auto ld = CheckpointLoader::open(dir);
  if (ld.hf.model_type != "bert") {
    throw BadInput(ld.hf.file.string(), "key 'model_type': the runtime's encoder executes bert, not '" + ld.hf.model_type + "'");
  }
  std::unique_ptr<Encoder> m(new Encoder());
  auto& c = m->config_;
  c = formats::parse_bert_config(ld.hf);
  // BertForMaskedLM & co. store "bert.embeddings..."; BertModel and sentence-transformers "embeddings...".
  ld.prefix = ld.file->contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  const int64_t D = c.hidden, F = c.intermediate;
  m->words_ = ld.linear("embeddings.word_embeddings", c.vocab_size, D);
  m->positions_ = ld.matrix("embeddings.position_embeddings.weight", c.max_positions, D);
  m->token_types_ = ld.matrix("embeddings.token_type_embeddings.weight", c.type_vocab_size, D);
  m->embed_norm_weight_ = ld.vector("embeddings.LayerNorm.weight", D);
  m->embed_norm_bias_ = ld.vector("embeddings.LayerNorm.bias", D);
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    EncoderLayer l;
    l.q = ld.linear(p + "attention.self.query", D, D);
    l.k = ld.linear(p + "attention.self.key", D, D);
    l.v = ld.linear(p + "attention.self.value", D, D);
    l.out = ld.linear(p + "attention.output.dense", D, D);
    l.norm1_weight = ld.vector(p + "attention.output.LayerNorm.weight", D);
    l.norm1_bias = ld.vector(p + "attention.output.LayerNorm.bias", D);
    l.up = ld.linear(p + "intermediate.dense", F, D);
    l.down = ld.linear(p + "output.dense", D, F);
    l.norm2_weight = ld.vector(p + "output.LayerNorm.weight", D);
    l.norm2_bias = ld.vector(p + "output.LayerNorm.bias", D);
    m->layers_.push_back(std::move(l));
  }
  // The pooler ([CLS] through a dense layer and tanh) is not part of the last hidden state nor of
  // sentence-transformers' mean pooling: it is not read.
  return m;
}

Matrix Encoder::forward(const std::vector<std::vector<int32_t>>& sentences) const {
  const auto& c = config_;
  const int64_t D = c.hidden, heads = c.heads, head_dim = D / heads;
  if (sentences.empty()) throw BadInput("runtime", "no sentences to encode");
  int64_t total = 0;
  for (size_t s = 0; s < sentences.size(); ++s) {
    const std::string which = "sentence " + std::to_string(s + 1);
    const auto n = static_cast<int64_t>(sentences[s].size());
    if (n == 0) throw BadInput(which, "is empty: it needs at least one token");
    if (n > c.max_positions) {
      throw BadInput(which, std::to_string(n) + " tokens pass max_position_embeddings (" + std::to_string(c.max_positions) + ")");
    }
    for (const int32_t t : sentences[s]) {
      if (t < 0 || t >= c.vocab_size) {
        throw BadInput(which, "token " + std::to_string(t) + " is outside the vocabulary of " + std::to_string(c.vocab_size));
      }
    }
    total += n;
  }
  // Embeddings: word + position + token type 0, then LayerNorm.
  Matrix x(total, D);
  int64_t row = 0;
  for (const auto& sentence : sentences) {
    for (size_t t = 0; t < sentence.size(); ++t, ++row) {
      float* out = x.row(row);
      words_.embedding_row(sentence[t], out);
      const float* p = positions_.data() + static_cast<int64_t>(t) * D;
      for (int64_t j = 0; j < D; ++j) out[j] += p[j] + token_types_[static_cast<size_t>(j)];
    }
  }
  ops::layer_norm(x, embed_norm_weight_, embed_norm_bias_, c.layer_norm_eps);
  const bool ref = kernel_set() == "ref";
  for (const auto& l : layers_) {
    const Matrix q = linear(l.q, x), k = linear(l.k, x), v = linear(l.v, x);
    Matrix attended(total, D);
    row = 0;
    for (const auto& sentence : sentences) {
      const auto n = static_cast<int64_t>(sentence.size());
      ops::LayerCache kv(heads, n, head_dim);
      kv.store(rows_of(k, row, n), rows_of(v, row, n), 0);
      const Matrix qs = rows_of(q, row, n);
      const Matrix part = ref ? ops::attention(qs, kv, heads, 0, ops::Mask::none)
                              : ops::attention_tiled(qs, kv, heads, 0, ops::Mask::none);
      std::copy(part.data.begin(), part.data.end(), attended.row(row));
      row += n;
    }
    add_rows(x, linear(l.out, attended));
    ops::layer_norm(x, l.norm1_weight, l.norm1_bias, c.layer_norm_eps);
    Matrix h = linear(l.up, x);
    if (c.activation == "gelu") {
      ops::gelu_erf(h);
    } else if (c.activation == "relu") {
      ops::relu(h);
    } else {
      ops::gelu_tanh(h);  // gelu_new, gelu_pytorch_tanh
    }
    add_rows(x, linear(l.down, h));
    ops::layer_norm(x, l.norm2_weight, l.norm2_bias, c.layer_norm_eps);
  }
  return x;
}

Matrix Encoder::sentence_embeddings(const std::vector<std::vector<int32_t>>& sentences) const {
  const Matrix hidden = forward(sentences);
  const int64_t D = config_.hidden;
  Matrix out(static_cast<int64_t>(sentences.size()), D);
  int64_t row = 0;
  for (size_t s = 0; s < sentences.size(); ++s) {
    const auto n = static_cast<int64_t>(sentences[s].size());
    std::vector<double> mean(static_cast<size_t>(D), 0.0);
    for (int64_t t = 0; t < n; ++t, ++row) {
      for (int64_t j = 0; j < D; ++j) mean[static_cast<size_t>(j)] += hidden.row(row)[j];
    }
    double norm = 0;
    for (auto& m : mean) {
      m /= static_cast<double>(n);
      norm += m * m;
    }
    norm = std::sqrt(norm);
    // sentence-transformers' Normalize divides by max(‖x‖, 1e-12).
    const double scale = 1.0 / std::max(norm, 1e-12);
    for (int64_t j = 0; j < D; ++j) out.row(static_cast<int64_t>(s))[j] = static_cast<float>(mean[static_cast<size_t>(j)] * scale);
  }
  return out;
}

std::vector<const LinearWeight*> Encoder::linear_weights() const {
  std::vector<const LinearWeight*> out = {&words_};
  for (const auto& l : layers_) {
    for (const auto* w : {&l.q, &l.k, &l.v, &l.out, &l.up, &l.down}) out.push_back(w);
  }
  return out;
}

}  // namespace compressor::runtime
