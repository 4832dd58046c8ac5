#include "compressor/model/gpt2.h"

#include <cmath>

#include "compressor/base/error.h"
#include "compressor/model/ops.h"
#include "compressor/model/weight_source.h"

namespace compressor::model {

namespace {

struct Block {
  size_t ln1, ln2;                          // indices into the norm table
  size_t attn, attn_out, mlp_up, mlp_down;  // indices into the slot table
};

class Gpt2Model final : public Model {
 public:
  Gpt2Model(HfConfig config, Gpt2Config c) : c_(c) {
    config_ = std::move(config);
    module_ = std::make_shared<torch::nn::Module>("GPT2LMHeadModel");
  }

  std::string architecture() const override { return "gpt2"; }
  bool is_causal_lm() const override { return true; }
  int64_t max_positions() const override { return c_.n_positions; }
  int64_t vocab_size() const override { return c_.vocab_size; }
  int64_t hidden_size() const override { return c_.n_embd; }

  torch::Tensor embed(const Batch& batch, BlockInputs* in) const override {
    check_batch(batch, "n_positions");
    const auto& ids = batch.input_ids;
    const int64_t B = ids.size(0), T = ids.size(1);
    in->causal = true;
    in->key_mask = ops::key_mask(batch);
    auto pos = torch::arange(T, torch::kLong);
    return slots_[wte_].weight.index_select(0, ids.reshape({-1})).view({B, T, c_.n_embd}) + wpe_.index_select(0, pos);
  }

  torch::Tensor run_segment(int i, size_t segment, const torch::Tensor& x, const torch::Tensor& prev, SegmentCarry& carry,
                            const BlockInputs& in) const override {
    const auto& blk = blocks_.at(static_cast<size_t>(i));
    switch (segment) {
      case 0:  // -> c_attn
        return norm(blk.ln1, x);
      case 1: {  // -> attn.c_proj
        const int64_t B = x.size(0), T = x.size(1), D = c_.n_embd, H = c_.n_head, hd = D / H;
        auto qkv = linear(blk.attn, prev).view({B, T, 3, H, hd}).permute({2, 0, 3, 1, 4});  // 3 x [B, H, T, hd]
        return ops::attention(qkv[0], qkv[1], qkv[2], in, 1.0 / std::sqrt(static_cast<double>(hd)))
            .transpose(1, 2)
            .reshape({B, T, D});
      }
      case 2:  // -> c_fc
        carry.residual = x + linear(blk.attn_out, prev);
        return norm(blk.ln2, carry.residual);
      case 3: {  // -> mlp.c_proj
        auto m = linear(blk.mlp_up, prev);
        return c_.activation == "gelu" ? torch::gelu(m) : torch::gelu(m, "tanh");
      }
      case 4:
        return carry.residual + linear(blk.mlp_down, prev);
      default:
        throw InternalError("gpt2", "block segment " + std::to_string(segment));
    }
  }

  torch::Tensor head(const torch::Tensor& hidden, const torch::Tensor& rows) const override {
    return lm_head(hidden, rows, lm_head_ ? *lm_head_ : wte_, [&](const torch::Tensor& x) { return norm(lnf_, x); });
  }

  AttentionHeads attention_heads(int) const override { return {c_.n_head, c_.n_head, c_.n_embd / c_.n_head}; }
  // transformers derives the head size from the hidden size and the head count (n_embd / n_head),
  // so no config.json describes this architecture with heads removed.
  std::string head_removal_unsupported() const override {
    return "removing attention heads needs a config.json transformers can load, and gpt2's derives the head size "
           "from the hidden size and the head count (n_embd / n_head; MLP neurons can be removed)";
  }
  void shapes_changed() override {
    const int64_t width = mlp_neurons(0);
    for (int i = 1; i < num_blocks(); ++i) {
      if (mlp_neurons(i) != width) return;
    }
    c_.n_inner = width;
    config_.raw["n_inner"] = width;
  }

  using Model::add_block_groups;
  using Model::add_norm;
  using Model::add_slot;
  using Model::add_tensor;

  Gpt2Config c_;
  size_t wte_ = 0, lnf_ = 0;
  std::optional<size_t> lm_head_;
  torch::Tensor wpe_;
  std::vector<Block> blocks_;

 private:
  torch::Tensor norm(size_t n, const torch::Tensor& x) const {
    return torch::layer_norm(x, {c_.n_embd}, norms_[n].weight, norms_[n].bias, c_.layer_norm_epsilon);
  }
};

// Names are relative to the "transformer." prefix (absent in the original OpenAI upload).
std::unique_ptr<Model> build(const HfConfig& config, WeightSource& src) {
  const Gpt2Config c = parse_gpt2_config(config);
  auto m = std::make_unique<Gpt2Model>(config, c);
  const std::string p = src.prefix();
  const int64_t D = c.n_embd, F = c.n_inner;
  const double init_std = 0.02, proj_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.n_layer));
  auto tensor = [&](const std::string& name, const std::vector<int64_t>& shape, double std) {
    return m->add_tensor(p + name, src.get(name, shape, std));
  };
  m->wte_ = m->add_slot(p + "wte", TensorRole::Embedding, -1, src.get("wte.weight", {c.vocab_size, D}, init_std), {});
  // Position embeddings start at std 0.01 (HF uses 0.02); the embedded model was trained from this
  // init, so changing it changes what models/kjv-gpt2/make.sh reproduces.
  m->wpe_ = tensor("wpe.weight", {c.n_positions, D}, 0.01);
  auto conv = [&](const std::string& name, TensorRole role, int block, int64_t in, int64_t out, double std) {
    // Conv1D checkpoints hold [in, out]; the slot holds [out, in].
    auto w = src.get_transposed(name + ".weight", {in, out}, std);
    auto b = src.get(name + ".bias", {out}, 0.0);
    return m->add_slot(p + name, role, block, w, b, /*transposed=*/true);
  };
  auto norm = [&](const std::string& name, int block) {
    auto w = src.get(name + ".weight", {D}, -1);
    auto b = src.get(name + ".bias", {D}, 0);
    return m->add_norm(p + name, block, w, b);
  };
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    const int blk = static_cast<int>(i);
    Block b;
    b.ln1 = norm(h + "ln_1", blk);
    b.attn = conv(h + "attn.c_attn", TensorRole::AttnQKV, blk, D, 3 * D, init_std);
    b.attn_out = conv(h + "attn.c_proj", TensorRole::AttnOut, blk, D, D, proj_std);
    b.ln2 = norm(h + "ln_2", blk);
    b.mlp_up = conv(h + "mlp.c_fc", TensorRole::MlpUp, blk, D, F, init_std);
    b.mlp_down = conv(h + "mlp.c_proj", TensorRole::MlpDown, blk, F, D, proj_std);
    m->blocks_.push_back(b);
    std::vector<InputGroup> groups{{"attn_in", {b.attn}, b.ln1, std::nullopt},
                                   {"attn_out", {b.attn_out}, std::nullopt, b.attn},
                                   {"mlp_in", {b.mlp_up}, b.ln2, std::nullopt},
                                   {"mlp_out", {b.mlp_down}, std::nullopt, b.mlp_up}};
    // Pre-norm: each norm feeds only its group. c_proj reads softmax · V, V being rows [2D, 3D)
    // of c_attn; GELU sits between c_fc and the MLP's c_proj, so nothing folds there.
    groups[0].fold_norm = groups[2].fold_norm = true;
    groups[1].fold_producer = true;
    groups[1].fold_row_offset = 2 * D;
    m->add_block_groups(std::move(groups));
  }
  m->lnf_ = norm("ln_f", -1);
  if (!c.tie_word_embeddings) {
    m->lm_head_ = m->add_slot("lm_head", TensorRole::LmHead, -1,
                              src.get("lm_head.weight", {c.vocab_size, D}, init_std, /*prefixed=*/false), {});
  }
  return m;
}

}  // namespace


ArchitectureInfo gpt2_architecture() {
  ArchitectureInfo info;
  info.name = "gpt2";
  info.prefix = "transformer.";
  info.probe = "wte.weight";
  info.blocks = "h.";
  info.layers_key = "n_layer";
  info.build = [](const HfConfig& config, WeightSource& src) { return build(config, src); };
  info.load = [](const HfConfig& config, const formats::CheckpointTensors& ckpt) {
    auto src = checkpoint_weights(config, ckpt, "transformer.", "wte.weight");
    return build(config, *src);
  };
  info.init = [](const HfConfig& config, uint64_t seed) {
    auto src = random_weights(seed, "transformer.");
    return build(config, *src);
  };
  return info;
}

}  // namespace compressor::model
