// A decoder-only language model executed from an artifact as stored (GPT-2 and Llama, Hugging Face
// names and config.json): dense weights widened to float32, quantized weights kept packed and run
// by the kernels (kernels/). No LibTorch: see DESIGN.md ("The runtime does not link LibTorch").
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"
#include "compressor/runtime/op_profile.h"
#include "compressor/runtime/ops/attention.h"

namespace compressor::runtime {

struct DecoderConfig {
  std::string architecture;  // "gpt2" | "llama"
  int64_t vocab_size = 0, hidden_size = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int64_t intermediate_size = 0, max_positions = 0;
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;  // llama
  bool gelu_tanh = true;        // gpt2: gelu_new (tanh) or exact gelu
  std::vector<int32_t> eos_token_ids;  // config.json's eos_token_id (one id or a list); may be empty
};

struct DecoderLayer {
  FloatVector norm1_weight, norm1_bias, norm2_weight, norm2_bias;  // biases: GPT-2 only
  // GPT-2 stores q, k, v as one fused c_attn; Llama as q_proj, k_proj, v_proj.
  std::optional<LinearWeight> qkv;
  std::optional<LinearWeight> q, k, v;
  LinearWeight out;
  std::optional<LinearWeight> gate;  // Llama's SwiGLU gate
  LinearWeight up;                   // GPT-2's c_fc, Llama's up_proj
  LinearWeight down;                 // GPT-2's mlp.c_proj, Llama's down_proj
};

class Decoder {
 public:
  // Reads DIR/config.json and DIR/model.safetensors (an artifact or a plain Hugging Face
  // checkpoint). An artifact's manifest is verified first (format_version, every tensor's SHA-256).
  // BadInput naming the file and key or tensor for what it cannot execute.
  static std::unique_ptr<Decoder> load(const std::filesystem::path& dir);

  const DecoderConfig& config() const { return config_; }

  // The key/value cache of one sequence and how many positions it holds; `profile`, when set,
  // receives the time of every op forward() runs for this sequence.
  struct State {
    std::vector<ops::LayerCache> layers;
    int64_t length = 0;
    OpProfile* profile = nullptr;
  };
  State new_state(int64_t capacity) const;

  // Runs `n` tokens after the state's positions, appends their keys and values, and returns their
  // hidden states after the final norm: [n, hidden_size]. BadInput when the sequence would pass
  // the cache's capacity or the model's context, or a token is outside the vocabulary.
  Matrix forward(const int32_t* tokens, int64_t n, State& state) const;

  // One sequence's share of a batched forward: `n` tokens run after `state`'s positions.
  struct Segment {
    const int32_t* tokens = nullptr;
    int64_t n = 0;
    State* state = nullptr;
  };
  // Several sequences (of any lengths) at once: their rows are stacked in segment order through
  // every norm, linear and activation, so each weight is read once for all of them, while
  // positions, rotary, the cache and attention stay each sequence's own. Returns [Σ n, hidden];
  // op times go to the first segment's profile. BadInput as forward(), or when a state appears twice.
  Matrix forward(const std::vector<Segment>& segments) const;
  // Logits [rows, vocab_size] of hidden states (timed as Op::head into `profile` when given).
  Matrix logits(const Matrix& hidden, OpProfile* profile = nullptr) const;
  // Logits [1, vocab_size] of the last row of hidden states: the next token's, as decoding needs.
  Matrix last_logits(const Matrix& hidden, OpProfile* profile = nullptr) const;
  // Logits [segments, vocab_size] of each segment's last row in forward(segments)'s hidden states:
  // every sequence's next token.
  Matrix last_logits(const Matrix& hidden, const std::vector<Segment>& segments, OpProfile* profile = nullptr) const;

  // Every linear runs on float inputs from now on: W8A8's and FP8's activation rounding is off and
  // the weights alone are executed. For checks that isolate the weights (`compressor validate`).
  void drop_activation_quantization();

  // Every linear weight (embedding, each layer's, the head when untied), in load order.
  std::vector<const LinearWeight*> linear_weights() const;

  // The weights as loaded, for exporters (gguf_export.h).
  const LinearWeight& embedding() const { return embed_; }
  const FloatVector& positions() const { return positions_; }  // GPT-2 only, else empty
  const std::vector<DecoderLayer>& layers() const { return layers_; }
  const FloatVector& final_norm_weight() const { return final_norm_weight_; }
  const FloatVector& final_norm_bias() const { return final_norm_bias_; }  // GPT-2 only
  const std::optional<LinearWeight>& lm_head() const { return lm_head_; }

 private:
  Decoder() = default;
  void attention_block(const DecoderLayer& layer, size_t index, const std::vector<Segment>& segments, Matrix& x,
                       OpProfile* profile) const;
  // Rotary (Llama), the cache and attention of one sequence's rows; returns the attended rows.
  Matrix attend(Matrix& q, Matrix& k, const Matrix& v, ops::LayerCache& cache, int64_t first_pos,
                OpProfile* profile) const;
  void mlp_block(const DecoderLayer& layer, Matrix& x, OpProfile* profile) const;

  DecoderConfig config_;
  LinearWeight embed_;                 // [vocab, hidden]: token embedding, and the head when tied
  FloatVector positions_;              // GPT-2's learned positions [max_positions, hidden]
  std::vector<DecoderLayer> layers_;
  FloatVector final_norm_weight_, final_norm_bias_;
  std::optional<LinearWeight> lm_head_;  // untied (or separately quantized) head
};

}  // namespace compressor::runtime
