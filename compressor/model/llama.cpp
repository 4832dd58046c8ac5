#include "compressor/model/llama.h"

#include <cmath>
#include <tuple>

#include "compressor/base/error.h"
#include "compressor/model/ops.h"
#include "compressor/model/weight_source.h"

namespace compressor::model {

namespace {


struct Layer {
  size_t ln1, ln2;                          // input_layernorm, post_attention_layernorm (norm table)
  size_t q, k, v, o, gate, up, down;        // indices into the slot table
};

class LlamaModel final : public Model {
 public:
  LlamaModel(HfConfig config, LlamaConfig c) : c_(c) {
    config_ = std::move(config);
    module_ = std::make_shared<torch::nn::Module>("LlamaForCausalLM");
  }

  std::string architecture() const override { return "llama"; }
  bool is_causal_lm() const override { return true; }
  int64_t max_positions() const override { return c_.max_position_embeddings; }
  int64_t vocab_size() const override { return c_.vocab_size; }
  int64_t hidden_size() const override { return c_.hidden_size; }

  torch::Tensor embed(const Batch& batch, BlockInputs* in) const override {
    check_batch(batch, "max_position_embeddings");
    const auto& ids = batch.input_ids;
    const int64_t B = ids.size(0), T = ids.size(1);
    auto x = slots_[embed_].weight.index_select(0, ids.reshape({-1})).view({B, T, c_.hidden_size});
    in->causal = true;
    in->key_mask = ops::key_mask(batch);
    std::tie(in->rope_cos, in->rope_sin) = ops::rope_tables(T, c_.head_dim, c_.rope_theta, x.scalar_type());
    return x;
  }

  torch::Tensor run_segment(int i, size_t segment, const torch::Tensor& x, const torch::Tensor& prev, SegmentCarry& carry,
                            const BlockInputs& in) const override {
    const auto& l = layers_.at(static_cast<size_t>(i));
    switch (segment) {
      case 0:  // -> q, k, v
        return norm(l.ln1, x);
      case 1: {  // -> o
        // Counts from the weights: structured pruning changes them block by block.
        const auto a = attention_heads(i);
        const int64_t B = x.size(0), T = x.size(1), H = a.heads, KV = a.kv_heads;
        auto heads = [&](const torch::Tensor& t, int64_t n) { return t.view({B, T, n, c_.head_dim}).transpose(1, 2); };
        auto q = ops::apply_rope(heads(linear(l.q, prev), H), in.rope_cos, in.rope_sin);   // [B, H, T, hd]
        auto k = ops::apply_rope(heads(linear(l.k, prev), KV), in.rope_cos, in.rope_sin);  // [B, KV, T, hd]
        auto v = heads(linear(l.v, prev), KV);
        return ops::attention(q, k, v, in, 1.0 / std::sqrt(static_cast<double>(c_.head_dim)))
            .transpose(1, 2)
            .reshape({B, T, H * c_.head_dim});
      }
      case 2:  // -> gate, up
        carry.residual = x + linear(l.o, prev);
        return norm(l.ln2, carry.residual);
      case 3:  // -> down
        return ops::swiglu(linear(l.gate, prev), linear(l.up, prev));
      case 4:
        return carry.residual + linear(l.down, prev);
      default:
        throw InternalError("llama", "block segment " + std::to_string(segment));
    }
  }

  torch::Tensor head(const torch::Tensor& hidden, const torch::Tensor& rows) const override {
    return lm_head(hidden, rows, lm_head_ ? *lm_head_ : embed_, [&](const torch::Tensor& x) { return norm(final_norm_, x); });
  }

  AttentionHeads attention_heads(int block) const override {
    const auto& l = layers_.at(static_cast<size_t>(block));
    return {slots_[l.q].out_features() / c_.head_dim, slots_[l.k].out_features() / c_.head_dim, c_.head_dim};
  }

  // config.json says one head count and one MLP width for every layer, and head_dim explicitly once
  // heads are gone (hidden_size / heads no longer gives it).
  void shapes_changed() override {
    const auto first = attention_heads(0);
    const int64_t width = mlp_neurons(0);
    for (int i = 1; i < num_blocks(); ++i) {
      const auto a = attention_heads(i);
      if (a.heads != first.heads || a.kv_heads != first.kv_heads || mlp_neurons(i) != width) return;
    }
    c_.num_attention_heads = first.heads;
    c_.num_key_value_heads = first.kv_heads;
    c_.intermediate_size = width;
    config_.raw["num_attention_heads"] = first.heads;
    config_.raw["num_key_value_heads"] = first.kv_heads;
    config_.raw["intermediate_size"] = width;
    if (first.heads * c_.head_dim != c_.hidden_size) config_.raw["head_dim"] = c_.head_dim;
  }

  using Model::add_block_groups;
  using Model::add_norm;
  using Model::add_slot;
  using Model::add_tensor;

  LlamaConfig c_;
  size_t embed_ = 0, final_norm_ = 0;
  std::optional<size_t> lm_head_;
  std::vector<Layer> layers_;

 private:
  torch::Tensor norm(size_t n, const torch::Tensor& x) const { return ops::rms_norm(x, norms_[n].weight, c_.rms_norm_eps); }
};

// Names are relative to the "model." prefix (absent when a bare LlamaModel was saved); lm_head is
// outside it. Random init is HF LlamaPreTrainedModel._init_weights: normal(0, initializer_range)
// linears and embedding, zero biases, RMSNorm weights one, the padding row zeroed.
std::unique_ptr<Model> build(const HfConfig& config, WeightSource& src, bool zero_pad_row) {
  const LlamaConfig c = parse_llama_config(config);
  auto m = std::make_unique<LlamaModel>(config, c);
  const std::string p = src.prefix();
  const int64_t D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t q_out = c.num_attention_heads * c.head_dim, kv_out = c.num_key_value_heads * c.head_dim;
  const double std = c.initializer_range;
  auto norm = [&](const std::string& name, int block) {
    return m->add_norm(p + name, block, src.get(name + ".weight", {D}, -1), {});
  };
  auto dense = [&](const std::string& name, TensorRole role, int block, int64_t in, int64_t out, bool bias) {
    return m->add_slot(p + name, role, block, src.get(name + ".weight", {out, in}, std),
                       bias ? src.get(name + ".bias", {out}, 0) : torch::Tensor());
  };

  auto embed = src.get("embed_tokens.weight", {V, D}, std);
  if (zero_pad_row && c.pad_token_id >= 0 && c.pad_token_id < V) embed[c.pad_token_id].zero_();
  m->embed_ = m->add_slot(p + "embed_tokens", TensorRole::Embedding, -1, embed, {});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = "layers." + std::to_string(i) + ".";
    const int blk = static_cast<int>(i);
    const bool ab = c.attention_bias, mb = c.mlp_bias;
    Layer L;
    L.ln1 = norm(l + "input_layernorm", blk);
    L.q = dense(l + "self_attn.q_proj", TensorRole::AttnQ, blk, D, q_out, ab);
    L.k = dense(l + "self_attn.k_proj", TensorRole::AttnK, blk, D, kv_out, ab);
    L.v = dense(l + "self_attn.v_proj", TensorRole::AttnV, blk, D, kv_out, ab);
    L.o = dense(l + "self_attn.o_proj", TensorRole::AttnOut, blk, q_out, D, ab);
    L.ln2 = norm(l + "post_attention_layernorm", blk);
    L.gate = dense(l + "mlp.gate_proj", TensorRole::MlpGate, blk, D, F, mb);
    L.up = dense(l + "mlp.up_proj", TensorRole::MlpUp, blk, D, F, mb);
    L.down = dense(l + "mlp.down_proj", TensorRole::MlpDown, blk, F, D, mb);
    m->layers_.push_back(L);
    std::vector<InputGroup> groups{{"attn_in", {L.q, L.k, L.v}, L.ln1, std::nullopt},
                                   {"attn_out", {L.o}, std::nullopt, L.v},
                                   {"mlp_in", {L.gate, L.up}, L.ln2, std::nullopt},
                                   {"mlp_out", {L.down}, std::nullopt, L.up}};
    // Pre-norm: each norm feeds only its group. o reads softmax · V, linear in each value channel,
    // unless grouped-query attention repeats one value channel for several heads; down reads
    // silu(gate) * up, linear in up.
    groups[0].fold_norm = groups[2].fold_norm = true;
    groups[1].fold_producer = c.num_key_value_heads == c.num_attention_heads;
    groups[3].fold_producer = true;
    m->add_block_groups(std::move(groups));
  }
  m->final_norm_ = norm("norm", -1);
  if (!c.tie_word_embeddings) {
    m->lm_head_ = m->add_slot("lm_head", TensorRole::LmHead, -1,
                              src.get("lm_head.weight", {V, D}, std, /*prefixed=*/false), {});
  }
  return m;
}

}  // namespace

std::unique_ptr<Model> build_llama(const HfConfig& config, WeightSource& src) {
  return build(config, src, /*zero_pad_row=*/false);
}


ArchitectureInfo llama_architecture() {
  ArchitectureInfo info;
  info.name = "llama";
  info.prefix = "model.";
  info.probe = "embed_tokens.weight";
  info.blocks = "layers.";
  info.layers_key = "num_hidden_layers";
  info.build = [](const HfConfig& config, WeightSource& src) { return build(config, src, /*zero_pad_row=*/false); };
  info.load = [](const HfConfig& config, const formats::CheckpointTensors& ckpt) {
    auto src = checkpoint_weights(config, ckpt, "model.", "embed_tokens.weight");
    return build(config, *src, /*zero_pad_row=*/false);
  };
  info.init = [](const HfConfig& config, uint64_t seed) {
    auto src = random_weights(seed, "model.");
    return build(config, *src, /*zero_pad_row=*/true);
  };
  return info;
}

}  // namespace compressor::model
