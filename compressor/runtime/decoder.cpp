#include "compressor/runtime/decoder.h"

#include <cstring>

#include "compressor/base/error.h"
#include "compressor/runtime/checkpoint_loader.h"
#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/ops/activation.h"
#include "compressor/runtime/ops/norm.h"
#include "compressor/runtime/ops/rotary.h"
#include "formats/gpt2_config.h"
#include "formats/llama_config.h"

namespace compressor::runtime {

namespace fs = std::filesystem;

namespace {

// Columns [begin, begin + n) of x.
Matrix columns(const Matrix& x, int64_t begin, int64_t n) {
  Matrix out(x.rows, n);
  for (int64_t r = 0; r < x.rows; ++r) std::memcpy(out.row(r), x.row(r) + begin, static_cast<size_t>(n) * 4);
  return out;
}

}  // namespace

std::unique_ptr<Decoder> Decoder::load(const fs::path& dir) {
  auto ld = CheckpointLoader::open(dir);
  const auto& hf = ld.hf;
  std::unique_ptr<Decoder> m(new Decoder());
  auto& c = m->config_;
  if (hf.model_type == "gpt2") {
    const auto g = formats::parse_gpt2_config(hf);
    c = {"gpt2", g.vocab_size, g.n_embd, g.n_layer, g.n_head, g.n_head, g.n_embd / g.n_head, g.n_inner, g.n_positions,
         g.layer_norm_epsilon, 0.0, g.activation == "gelu_new", {}};
    ld.prefix = ld.file->contains("transformer.wte.weight") ? "transformer." : "";
    const int64_t D = c.hidden_size;
    m->embed_ = ld.linear("wte", c.vocab_size, D);
    m->positions_ = ld.matrix("wpe.weight", c.max_positions, D);
    for (int64_t i = 0; i < c.layers; ++i) {
      const std::string p = "h." + std::to_string(i) + ".";
      DecoderLayer l;
      l.norm1_weight = ld.vector(p + "ln_1.weight", D);
      l.norm1_bias = ld.vector(p + "ln_1.bias", D);
      l.norm2_weight = ld.vector(p + "ln_2.weight", D);
      l.norm2_bias = ld.vector(p + "ln_2.bias", D);
      l.qkv = ld.linear(p + "attn.c_attn", 3 * D, D, /*conv1d=*/true);
      l.out = ld.linear(p + "attn.c_proj", D, D, true);
      l.up = ld.linear(p + "mlp.c_fc", c.intermediate_size, D, true);
      l.down = ld.linear(p + "mlp.c_proj", D, c.intermediate_size, true);
      m->layers_.push_back(std::move(l));
    }
    m->final_norm_weight_ = ld.vector("ln_f.weight", D);
    m->final_norm_bias_ = ld.vector("ln_f.bias", D);
  } else if (hf.model_type == "llama") {
    const auto g = formats::parse_llama_config(hf);
    c = {"llama", g.vocab_size, g.hidden_size, g.num_hidden_layers, g.num_attention_heads, g.num_key_value_heads,
         g.head_dim, g.intermediate_size, g.max_position_embeddings, g.rms_norm_eps, g.rope_theta, false, {}};
    ld.prefix = ld.file->contains("model.embed_tokens.weight") ? "model." : "";
    const int64_t D = c.hidden_size, qd = c.heads * c.head_dim, kvd = c.kv_heads * c.head_dim;
    m->embed_ = ld.linear("embed_tokens", c.vocab_size, D);
    for (int64_t i = 0; i < c.layers; ++i) {
      const std::string p = "layers." + std::to_string(i) + ".";
      DecoderLayer l;
      l.norm1_weight = ld.vector(p + "input_layernorm.weight", D);
      l.norm2_weight = ld.vector(p + "post_attention_layernorm.weight", D);
      l.q = ld.linear(p + "self_attn.q_proj", qd, D);
      l.k = ld.linear(p + "self_attn.k_proj", kvd, D);
      l.v = ld.linear(p + "self_attn.v_proj", kvd, D);
      l.out = ld.linear(p + "self_attn.o_proj", D, qd);
      l.gate = ld.linear(p + "mlp.gate_proj", c.intermediate_size, D);
      l.up = ld.linear(p + "mlp.up_proj", c.intermediate_size, D);
      l.down = ld.linear(p + "mlp.down_proj", D, c.intermediate_size);
      m->layers_.push_back(std::move(l));
    }
    m->final_norm_weight_ = ld.vector("norm.weight", D);
  } else {
    throw BadInput(hf.file.string(), "key 'model_type': the runtime executes gpt2 and llama, not '" + hf.model_type + "'");
  }
  if (auto it = hf.raw.find("eos_token_id"); it != hf.raw.end() && !it->is_null()) {
    const auto ids = it->is_array() ? *it : nlohmann::json::array({*it});
    for (const auto& id : ids) {
      if (!id.is_number_integer()) throw BadInput(hf.file.string(), "key 'eos_token_id': expected token ids, got " + it->dump());
      c.eos_token_ids.push_back(id.get<int32_t>());
    }
  }
  // lm_head is unprefixed; present when untied, or when it was quantized apart from the embedding.
  if (ld.has_module("lm_head")) {
    CheckpointLoader head = ld;
    head.prefix.clear();
    m->lm_head_ = head.linear("lm_head", c.vocab_size, c.hidden_size);
  }
  return m;
}

std::vector<const LinearWeight*> Decoder::linear_weights() const {
  std::vector<const LinearWeight*> out = {&embed_};
  for (const auto& l : layers_) {
    for (const auto* w : {&l.qkv, &l.q, &l.k, &l.v}) {
      if (*w) out.push_back(&**w);
    }
    out.push_back(&l.out);
    if (l.gate) out.push_back(&*l.gate);
    out.push_back(&l.up);
    out.push_back(&l.down);
  }
  if (lm_head_) out.push_back(&*lm_head_);
  return out;
}

void Decoder::drop_activation_quantization() {
  // The weights are this object's own members; only the pointers linear_weights() gives are const.
  for (const LinearWeight* w : linear_weights()) {
    auto& mutable_w = const_cast<LinearWeight&>(*w);
    mutable_w.input_args.reset();
    mutable_w.input_qparams.reset();
  }
}

Decoder::State Decoder::new_state(int64_t capacity) const {
  State s;
  for (int64_t i = 0; i < config_.layers; ++i) s.layers.emplace_back(config_.kv_heads, capacity, config_.head_dim);
  return s;
}

Matrix Decoder::attend(Matrix& q, Matrix& k, const Matrix& v, ops::LayerCache& cache, int64_t first_pos,
                       OpProfile* profile) const {
  const auto& c = config_;
  if (c.architecture != "gpt2") {
    OpTimer t(profile, Op::rotary);
    ops::apply_rotary(q, c.heads, c.head_dim, first_pos, c.rope_theta);
    ops::apply_rotary(k, c.kv_heads, c.head_dim, first_pos, c.rope_theta);
  }
  OpTimer t(profile, Op::attention);
  cache.store(k, v, first_pos);
  if (kernel_set() == "ref") return ops::attention(q, cache, c.heads, first_pos);
  return q.rows == 1 ? ops::attention_blas(q, cache, c.heads, first_pos) : ops::attention_tiled(q, cache, c.heads, first_pos);
}

void Decoder::attention_block(const DecoderLayer& l, size_t index, const std::vector<Segment>& segments, Matrix& x,
                              OpProfile* profile) const {
  const auto& c = config_;
  Matrix h = x;
  {
    OpTimer t(profile, Op::norm);
    if (c.architecture == "gpt2") {
      ops::layer_norm(h, l.norm1_weight, l.norm1_bias, c.norm_eps);
    } else {
      ops::rms_norm(h, l.norm1_weight, c.norm_eps);
    }
  }
  Matrix q, k, v;
  if (l.qkv) {
    Matrix qkv;
    {
      OpTimer t(profile, Op::qkv);
      qkv = linear(*l.qkv, h);
    }
    OpTimer t(profile, Op::residual);
    q = columns(qkv, 0, c.hidden_size);
    k = columns(qkv, c.hidden_size, c.hidden_size);
    v = columns(qkv, 2 * c.hidden_size, c.hidden_size);
  } else {
    OpTimer t(profile, Op::qkv);
    linear_group({&*l.q, &*l.k, &*l.v}, h, {&q, &k, &v});
  }
  Matrix attended;
  if (segments.size() == 1) {
    attended = attend(q, k, v, segments[0].state->layers[index], segments[0].state->length, profile);
  } else {
    attended = Matrix(q.rows, q.cols);
    int64_t row = 0;
    for (const auto& s : segments) {
      Matrix qs = rows_of(q, row, s.n), ks = rows_of(k, row, s.n);
      const Matrix part = attend(qs, ks, rows_of(v, row, s.n), s.state->layers[index], s.state->length, profile);
      std::memcpy(attended.row(row), part.row(0), part.data.size() * 4);
      row += s.n;
    }
  }
  Matrix projected;
  {
    OpTimer t(profile, Op::attn_out);
    projected = linear(l.out, attended);
  }
  OpTimer t(profile, Op::residual);
  add_rows(x, projected);
}

void Decoder::mlp_block(const DecoderLayer& l, Matrix& x, OpProfile* profile) const {
  const auto& c = config_;
  Matrix h = x;
  {
    OpTimer t(profile, Op::norm);
    if (c.architecture == "gpt2") {
      ops::layer_norm(h, l.norm2_weight, l.norm2_bias, c.norm_eps);
    } else {
      ops::rms_norm(h, l.norm2_weight, c.norm_eps);
    }
  }
  Matrix a, up;
  {
    OpTimer t(profile, Op::mlp_in);
    if (l.gate) {
      linear_group({&*l.gate, &l.up}, h, {&a, &up});
    } else {
      a = linear(l.up, h);
    }
  }
  {
    OpTimer t(profile, Op::activation);
    if (l.gate) {
      ops::silu_mul(a, up);
    } else if (c.gelu_tanh) {
      ops::gelu_tanh(a);
    } else {
      ops::gelu_erf(a);
    }
  }
  Matrix down;
  {
    OpTimer t(profile, Op::mlp_down);
    down = linear(l.down, a);
  }
  OpTimer t(profile, Op::residual);
  add_rows(x, down);
}

Matrix Decoder::forward(const int32_t* tokens, int64_t n, State& state) const {
  return forward(std::vector<Segment>{{tokens, n, &state}});
}

Matrix Decoder::forward(const std::vector<Segment>& segments) const {
  const auto& c = config_;
  if (segments.empty()) throw BadInput("runtime", "no sequences to run");
  int64_t total = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    const int64_t first = s.state->length;
    const std::string which = segments.size() > 1 ? "sequence " + std::to_string(i) + ": " : "";
    if (s.n < 1) throw BadInput("runtime", which + "no tokens to run");
    if (s.state->layers.empty() || first + s.n > s.state->layers.front().capacity) {
      throw BadInput("runtime", which + std::to_string(first + s.n) + " positions exceed the cache of " +
                                    std::to_string(s.state->layers.empty() ? 0 : s.state->layers.front().capacity));
    }
    if (first + s.n > c.max_positions) {
      throw BadInput("runtime", which + std::to_string(first + s.n) + " positions exceed the model's context of " +
                                    std::to_string(c.max_positions));
    }
    for (size_t j = 0; j < i; ++j) {
      if (segments[j].state == s.state) throw BadInput("runtime", which + "shares its state with sequence " + std::to_string(j));
    }
    for (int64_t t = 0; t < s.n; ++t) {
      if (s.tokens[t] < 0 || s.tokens[t] >= c.vocab_size) {
        throw BadInput("runtime", which + "token " + std::to_string(s.tokens[t]) + " is outside the vocabulary of " +
                                      std::to_string(c.vocab_size));
      }
    }
    total += s.n;
  }
  Matrix x(total, c.hidden_size);
  OpProfile* profile = segments.front().state->profile;
  std::optional<OpTimer> embedding_timer(std::in_place, profile, Op::embedding);
  int64_t row = 0;
  for (const auto& s : segments) {
    for (int64_t t = 0; t < s.n; ++t, ++row) {
      embed_.embedding_row(s.tokens[t], x.row(row));
      if (!positions_.empty()) {
        const float* p = positions_.data() + (s.state->length + t) * c.hidden_size;
        for (int64_t j = 0; j < c.hidden_size; ++j) x.row(row)[j] += p[j];
      }
    }
  }
  embedding_timer.reset();
  for (int64_t i = 0; i < c.layers; ++i) {
    attention_block(layers_[i], static_cast<size_t>(i), segments, x, profile);
    mlp_block(layers_[i], x, profile);
  }
  for (const auto& s : segments) s.state->length += s.n;
  OpTimer norm_timer(profile, Op::norm);
  if (c.architecture == "gpt2") {
    ops::layer_norm(x, final_norm_weight_, final_norm_bias_, c.norm_eps);
  } else {
    ops::rms_norm(x, final_norm_weight_, c.norm_eps);
  }
  return x;
}

Matrix Decoder::logits(const Matrix& hidden, OpProfile* profile) const {
  OpTimer t(profile, Op::head);
  return linear(lm_head_ ? *lm_head_ : embed_, hidden);
}

Matrix Decoder::last_logits(const Matrix& hidden, OpProfile* profile) const {
  return logits(rows_of(hidden, hidden.rows - 1, 1), profile);
}

Matrix Decoder::last_logits(const Matrix& hidden, const std::vector<Segment>& segments, OpProfile* profile) const {
  Matrix last(static_cast<int64_t>(segments.size()), hidden.cols);
  int64_t end = 0;
  for (size_t s = 0; s < segments.size(); ++s) {
    end += segments[s].n;
    std::memcpy(last.row(static_cast<int64_t>(s)), hidden.row(end - 1), static_cast<size_t>(hidden.cols) * 4);
  }
  return logits(last, profile);
}

}  // namespace compressor::runtime
