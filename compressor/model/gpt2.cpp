#include "compressor/model/gpt2.h"

#include <cmath>
#include <limits>

#include "compressor/error.h"
#include "compressor/model/weight_source.h"

namespace compressor::model {

namespace {

struct Block {
  torch::Tensor ln1_w, ln1_b, ln2_w, ln2_b;
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

  torch::Tensor forward(const torch::Tensor& ids) override {
    const int64_t B = ids.size(0), T = ids.size(1);
    if (T > c_.n_positions) {
      throw BadInput("gpt2", "sequence of " + std::to_string(T) + " tokens exceeds n_positions " +
                                 std::to_string(c_.n_positions));
    }
    if (ids.numel() > 0 && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= c_.vocab_size)) {
      throw BadInput("gpt2", "token ids must be in [0, " + std::to_string(c_.vocab_size) + ")");
    }
    const auto& wte = slots_[wte_].weight;
    auto pos = torch::arange(T, torch::kLong);
    auto x = wte.index_select(0, ids.reshape({-1})).view({B, T, c_.n_embd}) + wpe_.index_select(0, pos);
    const int64_t H = c_.n_head, hd = c_.n_embd / H;
    auto causal = torch::ones({T, T}, torch::kBool).triu(1);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    for (const auto& blk : blocks_) {
      auto h = torch::layer_norm(x, {c_.n_embd}, blk.ln1_w, blk.ln1_b, c_.layer_norm_epsilon);
      auto qkv = linear(slots_[blk.attn], h).view({B, T, 3, H, hd}).permute({2, 0, 3, 1, 4});
      auto q = qkv[0], k = qkv[1], v = qkv[2];  // [B, H, T, hd]
      auto att = torch::matmul(q, k.transpose(-2, -1)).mul_(scale);
      att.masked_fill_(causal, -std::numeric_limits<float>::infinity());
      auto y = torch::matmul(torch::softmax(att, -1), v).transpose(1, 2).reshape({B, T, c_.n_embd});
      x = x + linear(slots_[blk.attn_out], y);
      h = torch::layer_norm(x, {c_.n_embd}, blk.ln2_w, blk.ln2_b, c_.layer_norm_epsilon);
      auto m = linear(slots_[blk.mlp_up], h);
      m = c_.activation == "gelu" ? torch::gelu(m) : torch::gelu(m, "tanh");
      x = x + linear(slots_[blk.mlp_down], m);
    }
    x = torch::layer_norm(x, {c_.n_embd}, lnf_w_, lnf_b_, c_.layer_norm_epsilon);
    const auto& head = lm_head_ ? slots_[*lm_head_] : slots_[wte_];
    return linear(head, x);
  }

  using Model::add_slot;
  using Model::add_tensor;

  Gpt2Config c_;
  size_t wte_ = 0;
  std::optional<size_t> lm_head_;
  torch::Tensor wpe_, lnf_w_, lnf_b_;
  std::vector<Block> blocks_;
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
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    const int blk = static_cast<int>(i);
    Block b;
    b.ln1_w = tensor(h + "ln_1.weight", {D}, -1);
    b.ln1_b = tensor(h + "ln_1.bias", {D}, 0);
    b.attn = conv(h + "attn.c_attn", TensorRole::AttnQKV, blk, D, 3 * D, init_std);
    b.attn_out = conv(h + "attn.c_proj", TensorRole::AttnOut, blk, D, D, proj_std);
    b.ln2_w = tensor(h + "ln_2.weight", {D}, -1);
    b.ln2_b = tensor(h + "ln_2.bias", {D}, 0);
    b.mlp_up = conv(h + "mlp.c_fc", TensorRole::MlpUp, blk, D, F, init_std);
    b.mlp_down = conv(h + "mlp.c_proj", TensorRole::MlpDown, blk, F, D, proj_std);
    m->blocks_.push_back(b);
  }
  m->lnf_w_ = tensor("ln_f.weight", {D}, -1);
  m->lnf_b_ = tensor("ln_f.bias", {D}, 0);
  if (!c.tie_word_embeddings) {
    m->lm_head_ = m->add_slot("lm_head", TensorRole::LmHead, -1,
                              src.get("lm_head.weight", {c.vocab_size, D}, init_std, /*prefixed=*/false), {});
  }
  return m;
}

}  // namespace

Gpt2Config parse_gpt2_config(const HfConfig& config) {
  Gpt2Config c;
  const std::string f = config.file.string();
  c.vocab_size = config.get_int("vocab_size");
  c.n_positions = config.get_int("n_positions", config.get_int("n_ctx", 1024));
  c.n_embd = config.get_int("n_embd");
  c.n_layer = config.get_int("n_layer");
  c.n_head = config.get_int("n_head");
  c.n_inner = config.get_int("n_inner", 4 * c.n_embd);
  c.layer_norm_epsilon = config.get_float("layer_norm_epsilon", 1e-5);
  c.activation = config.get_string("activation_function", "gelu_new");
  if (config.raw.contains("tie_word_embeddings") && config.raw["tie_word_embeddings"].is_boolean()) {
    c.tie_word_embeddings = config.raw["tie_word_embeddings"].get<bool>();
  }
  for (auto [key, v] : {std::pair{"vocab_size", c.vocab_size}, {"n_positions", c.n_positions},
                        {"n_embd", c.n_embd}, {"n_layer", c.n_layer}, {"n_head", c.n_head}, {"n_inner", c.n_inner}}) {
    if (v <= 0) throw BadInput(f, std::string("key '") + key + "' must be positive, got " + std::to_string(v));
  }
  if (c.n_embd % c.n_head != 0) {
    throw BadInput(f, "n_embd " + std::to_string(c.n_embd) + " is not divisible by n_head " + std::to_string(c.n_head));
  }
  if (c.activation != "gelu_new" && c.activation != "gelu") {
    throw BadInput(f, "key 'activation_function': '" + c.activation + "' is not supported (gelu_new, gelu)");
  }
  if (config.raw.value("scale_attn_by_inverse_layer_idx", false) || config.raw.value("reorder_and_upcast_attn", false)) {
    throw BadInput(f, "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported");
  }
  return c;
}

ArchitectureInfo gpt2_architecture() {
  ArchitectureInfo info;
  info.name = "gpt2";
  info.load = [](const HfConfig& config, const formats::CheckpointTensors& ckpt) {
    auto src = checkpoint_weights(ckpt, "transformer.", "wte.weight");
    return build(config, *src);
  };
  info.init = [](const HfConfig& config, uint64_t seed) {
    auto src = random_weights(seed, "transformer.");
    return build(config, *src);
  };
  return info;
}

}  // namespace compressor::model
