#include "compressor/model/bert.h"

#include <cmath>

#include "compressor/base/error.h"
#include "compressor/model/ops.h"
#include "compressor/model/weight_source.h"
#include "formats/bert_config.h"

namespace compressor::model {

namespace {

using formats::BertConfig;
using formats::parse_bert_config;

struct Layer {
  size_t q, k, v, out, up, down;  // indices into the slot table
  size_t ln1, ln2;                // attention.output.LayerNorm, output.LayerNorm (norm table)
};

class BertModel final : public Model {
 public:
  BertModel(HfConfig config, BertConfig c) : c_(c) {
    config_ = std::move(config);
    module_ = std::make_shared<torch::nn::Module>("BertModel");
  }

  std::string architecture() const override { return "bert"; }
  bool is_causal_lm() const override { return false; }
  int64_t max_positions() const override { return c_.max_positions; }
  int64_t vocab_size() const override { return c_.vocab_size; }
  int64_t hidden_size() const override { return c_.hidden; }

  torch::Tensor embed(const Batch& batch, BlockInputs* in) const override {
    check_batch(batch, "max_position_embeddings");
    const auto& ids = batch.input_ids;
    const int64_t B = ids.size(0), T = ids.size(1), D = c_.hidden;
    if (batch.token_type_ids.defined() && batch.token_type_ids.numel() > 0 &&
        (batch.token_type_ids.min().item<int64_t>() < 0 || batch.token_type_ids.max().item<int64_t>() >= c_.type_vocab_size)) {
      throw BadInput("bert", "token_type_ids must be in [0, " + std::to_string(c_.type_vocab_size) + ")");
    }
    in->causal = false;
    in->key_mask = ops::key_mask(batch);
    auto types = batch.token_type_ids.defined()
                     ? type_.index_select(0, batch.token_type_ids.reshape({-1})).view({B, T, D})
                     : type_[0].expand({B, T, D});
    auto x = slots_[word_].weight.index_select(0, ids.reshape({-1})).view({B, T, D}) + pos_.narrow(0, 0, T) + types;
    return norm(emb_ln_, x);
  }

  // Post-LN: LayerNorm after each residual add.
  torch::Tensor run_segment(int i, size_t segment, const torch::Tensor& x, const torch::Tensor& prev, SegmentCarry& carry,
                            const BlockInputs& in) const override {
    const auto& l = layers_.at(static_cast<size_t>(i));
    switch (segment) {
      case 0:  // -> q, k, v: the block input itself (post-norm)
        return x;
      case 1: {  // -> attention.output.dense
        const int64_t B = x.size(0), T = x.size(1), D = c_.hidden, H = c_.heads, hd = D / H;
        auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };  // [B, H, T, hd]
        return ops::attention(heads(linear(l.q, prev)), heads(linear(l.k, prev)), heads(linear(l.v, prev)), in,
                              1.0 / std::sqrt(static_cast<double>(hd)))
            .transpose(1, 2)
            .reshape({B, T, D});
      }
      case 2:  // -> intermediate.dense; its input is also the residual
        carry.residual = norm(l.ln1, x + linear(l.out, prev));
        return carry.residual;
      case 3:  // -> output.dense
        return activation(linear(l.up, prev));
      case 4:
        return norm(l.ln2, carry.residual + linear(l.down, prev));
      default:
        throw InternalError("bert", "block segment " + std::to_string(segment));
    }
  }

  // The last hidden state is the output: nothing follows the blocks.
  torch::Tensor head(const torch::Tensor& hidden, const torch::Tensor& rows) const override {
    if (!rows.defined()) return hidden;
    return hidden.reshape({-1, c_.hidden}).index_select(0, rows);
  }

  AttentionHeads attention_heads(int) const override { return {c_.heads, c_.heads, c_.hidden / c_.heads}; }
  // transformers derives the head size from the hidden size and the head count (hidden_size / num_attention_heads),
  // so no config.json describes this architecture with heads removed.
  std::string head_removal_unsupported() const override {
    return "removing attention heads needs a config.json transformers can load, and bert's derives the head size "
           "from the hidden size and the head count (MLP neurons can be removed)";
  }
  void shapes_changed() override {
    const int64_t width = mlp_neurons(0);
    for (int i = 1; i < num_blocks(); ++i) {
      if (mlp_neurons(i) != width) return;
    }
    c_.intermediate = width;
    config_.raw["intermediate_size"] = width;
  }

  using Model::add_block_groups;
  using Model::add_norm;
  using Model::add_slot;
  using Model::add_tensor;

  BertConfig c_;
  size_t word_ = 0, emb_ln_ = 0;
  torch::Tensor pos_, type_;
  std::vector<Layer> layers_;

 private:
  torch::Tensor norm(size_t n, const torch::Tensor& x) const {
    return torch::layer_norm(x, {c_.hidden}, norms_[n].weight, norms_[n].bias, c_.layer_norm_eps);
  }
  torch::Tensor activation(const torch::Tensor& m) const {
    if (c_.activation == "gelu") return torch::gelu(m);
    if (c_.activation == "relu") return torch::relu(m);
    return torch::gelu(m, "tanh");  // gelu_new, gelu_pytorch_tanh
  }
};

// BertForMaskedLM & co. (bert-base-uncased) store "bert.embeddings..."; BertModel's own
// save_pretrained and sentence-transformers store "embeddings...". A fresh model is written with
// the "bert." prefix, the layout of the published BERT checkpoints; transformers loads either.
// Random init is transformers' BertPreTrainedModel._init_weights: normal(0, 0.02) weights and
// embeddings, zero biases, LayerNorm ones/zeros.
std::unique_ptr<Model> build(const HfConfig& config, WeightSource& src, bool zero_pad_row) {
  const BertConfig c = parse_bert_config(config);
  auto m = std::make_unique<BertModel>(config, c);
  const std::string p = src.prefix();
  auto param = [&](const std::string& name, torch::Tensor t) { return m->add_tensor(p + name, std::move(t)); };
  const int64_t D = c.hidden, F = c.intermediate;
  const double std = 0.02;
  auto norm = [&](const std::string& name, int block) {
    auto w = src.get(name + ".weight", {D}, -1);
    auto b = src.get(name + ".bias", {D}, 0);
    return m->add_norm(p + name, block, w, b);
  };
  // nn.Linear weights are already [out, in]: no transpose, unlike GPT-2's Conv1D.
  auto dense = [&](const std::string& name, TensorRole role, int block, int64_t in, int64_t out) {
    return m->add_slot(p + name, role, block, src.get(name + ".weight", {out, in}, std),
                       src.get(name + ".bias", {out}, 0));
  };

  auto word = src.get("embeddings.word_embeddings.weight", {c.vocab_size, D}, std);
  if (zero_pad_row && c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size) word[c.pad_token_id].zero_();
  m->word_ = m->add_slot(p + "embeddings.word_embeddings", TensorRole::Embedding, -1, word, {});
  m->pos_ = param("embeddings.position_embeddings.weight",
                     src.get("embeddings.position_embeddings.weight", {c.max_positions, D}, std));
  m->type_ = param("embeddings.token_type_embeddings.weight",
                      src.get("embeddings.token_type_embeddings.weight", {c.type_vocab_size, D}, std));
  m->emb_ln_ = norm("embeddings.LayerNorm", -1);
  // "embeddings.position_ids" (a buffer in older checkpoints) is never read: positions are 0..T-1.
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    const int blk = static_cast<int>(i);
    Layer l;
    l.q = dense(p + "attention.self.query", TensorRole::AttnQ, blk, D, D);
    l.k = dense(p + "attention.self.key", TensorRole::AttnK, blk, D, D);
    l.v = dense(p + "attention.self.value", TensorRole::AttnV, blk, D, D);
    l.out = dense(p + "attention.output.dense", TensorRole::AttnOut, blk, D, D);
    l.ln1 = norm(p + "attention.output.LayerNorm", blk);
    l.up = dense(p + "intermediate.dense", TensorRole::MlpUp, blk, D, F);
    l.down = dense(p + "output.dense", TensorRole::MlpDown, blk, F, D);
    l.ln2 = norm(p + "output.LayerNorm", blk);
    // q, k, v read the previous block's output LayerNorm (the embeddings' for block 0).
    const size_t in_norm = i == 0 ? m->emb_ln_ : m->layers_.back().ln2;
    m->layers_.push_back(l);
    std::vector<InputGroup> groups{{"attn_in", {l.q, l.k, l.v}, in_norm, std::nullopt},
                                   {"attn_out", {l.out}, std::nullopt, l.v},
                                   {"mlp_in", {l.up}, l.ln1, std::nullopt},
                                   {"mlp_out", {l.down}, std::nullopt, l.up}};
    // Post-norm: every LayerNorm's output is also the residual, so no scale folds into one; the
    // attention output is linear in each value channel; GELU sits between up and down.
    groups[1].fold_producer = true;
    m->add_block_groups(std::move(groups));
  }
  // The pooler is not part of the last hidden state, so it is kept as plain parameters (written
  // back unchanged) rather than a slot: passes would otherwise compress a layer that calibration
  // never runs.
  if (src.has("pooler.dense.weight")) {
    param("pooler.dense.weight", src.get("pooler.dense.weight", {D, D}, std));
    param("pooler.dense.bias", src.get("pooler.dense.bias", {D}, 0));
  }
  return m;
}

}  // namespace

ArchitectureInfo bert_architecture() {
  ArchitectureInfo info;
  info.name = "bert";
  info.prefix = "bert.";
  info.probe = "embeddings.word_embeddings.weight";
  info.blocks = "encoder.layer.";
  info.layers_key = "num_hidden_layers";
  info.build = [](const HfConfig& config, WeightSource& src) { return build(config, src, /*zero_pad_row=*/false); };
  info.load = [](const HfConfig& config, const formats::CheckpointTensors& ckpt) {
    auto src = checkpoint_weights(config, ckpt, "bert.", "embeddings.word_embeddings.weight");
    return build(config, *src, /*zero_pad_row=*/false);
  };
  info.init = [](const HfConfig& config, uint64_t seed) {
    auto src = random_weights(seed, "bert.");
    return build(config, *src, /*zero_pad_row=*/true);  // as HF's init zeroes the padding_idx row
  };
  return info;
}

}  // namespace compressor::model
