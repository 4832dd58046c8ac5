// The model every pass works on: a LibTorch module run one transformer block at a time, plus tables
// of its linear weights (LinearSlot), its norm weights (NormSlot) and, per block, which linears read
// the same input (input groups), so statistics and scale folding work per group.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "compressor/model/batch.h"
#include "formats/hf_config.h"
#include "compressor/model/quantized_weight.h"
#include "compressor/model/tensor_role.h"
#include "compressor/quant/int_codec.h"

namespace compressor::model {

// config.json is read in formats/ (the runtime reads it too, without LibTorch).
using formats::HfConfig;
using formats::load_hf_config;
using formats::parse_hf_config;

// One linear (or embedding / head) weight. `weight` is [out_features, in_features] and shares
// storage with the module's parameter, so a pass that edits it in place edits the network.
// Checkpoints whose layout differs (GPT-2's Conv1D stores [in, out]) are transposed on load
// and back on save by the architecture.
struct LinearSlot {
  std::string name;  // checkpoint name without ".weight", e.g. "transformer.h.0.attn.c_attn"
  TensorRole role = TensorRole::Other;
  int block = -1;    // transformer block index; -1 outside the blocks
  torch::Tensor weight;
  std::optional<torch::Tensor> bias;
  // Bool [out, in], true = kept. Undefined while the weight is dense. Later passes and training
  // keep pruned weights at zero through it.
  torch::Tensor mask;
  // Set by a quantization pass: the codes `weight` is the dequantization of. Cleared by
  // set_weight(), since codes of an older weight would be stale.
  std::optional<QuantizedWeight> quantized;
  // A dynamic input-activation scheme (W8A8's int8 per token, FP8_DYNAMIC's): every forward
  // fake-quantizes the linear's input with it (model/fake_quant.h). Unset: inputs stay float.
  std::optional<quant::QuantArgs> input_quant;
  // A static input scheme's calibrated scale (and zero point): the one every input is quantized
  // with (FP8, static W8A8). Set exactly when input_quant is static.
  std::optional<quant::IntQParams> input_qparams;
  // Bumped by every change of the weight, so statistics taken from it know they are stale.
  uint64_t generation = 0;

  int64_t out_features() const { return weight.size(0); }
  int64_t in_features() const { return weight.size(1); }
  bool is_linear() const {  // a matmul inside a block (not embedding, head or norm)
    return role != TensorRole::Embedding && role != TensorRole::LmHead && role != TensorRole::Norm;
  }
  // Writes `w` ([out, in]) into the weight in place (the module sees it) and bumps the generation.
  void set_weight(const torch::Tensor& w);
  // Call after editing `weight` in place by other means.
  void touch() {
    quantized.reset();
    ++generation;
  }
};

// A LayerNorm / RMSNorm weight (and LayerNorm bias), shared with the module like a slot's weight,
// so a per-channel scale can be folded into it.
struct NormSlot {
  std::string name;  // checkpoint name without ".weight", e.g. "model.layers.0.input_layernorm"
  int block = -1;
  torch::Tensor weight;  // [hidden]
  torch::Tensor bias;    // [hidden]; undefined for RMSNorm
};

// Linears that read one tensor: ln1 -> q, k, v (or GPT-2's c_attn); attention output -> o;
// ln2 -> gate, up (c_fc); up -> down. They share one Hessian and one set of channel statistics.
struct InputGroup {
  std::string name;               // "attn_in", "attn_out", "mlp_in", "mlp_out"
  std::vector<size_t> slots;      // indices into Model::slots(); the first one is the group's leader
  std::optional<size_t> norm;     // index into Model::norms() of the norm that produces the input
  std::optional<size_t> producer; // index of the linear whose output is the input (v -> o, up -> down)
  // Where a per-input-channel scale s can be folded so that the float model computes the same
  // function (inputs divided by s, the group's weight columns multiplied by s; SmoothQuant, AWQ):
  // `fold_norm`: into the norm's weight and bias, true only when the norm's output feeds this group
  // alone (pre-norm blocks; post-norm BERT's LayerNorms also feed the residual).
  // `fold_producer`: into rows [fold_row_offset, fold_row_offset + in) of the producer's weight and
  // bias, true only when the input is linear in those rows per channel (attention's values without
  // grouped-query sharing, SwiGLU's up; not through GELU).
  bool fold_norm = false;
  bool fold_producer = false;
  int64_t fold_row_offset = 0;
};

class Model;

// One block's slots, norms and input groups.
struct BlockView {
  int index = 0;
  Model* model = nullptr;  // the model the block belongs to
  std::vector<LinearSlot*> linears;
  std::vector<NormSlot*> norms;
  std::vector<InputGroup> groups;
  // Parallel to `groups`, resolved: each group's slots and the norm producing its input (or null).
  std::vector<std::vector<LinearSlot*>> group_slots;
  std::vector<NormSlot*> group_norm;
  std::vector<LinearSlot*> group_producer;  // the linear producing each group's input (or null)
};

// What a block's later segments read from its earlier ones (see Model::run_segment).
struct SegmentCarry {
  torch::Tensor residual;
};

// Observer called with the input of a linear slot during forward (calibration statistics).
using LinearInputHook = std::function<void(const LinearSlot&, const torch::Tensor& input)>;

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string architecture() const = 0;   // "gpt2", "bert", "llama"
  virtual bool is_causal_lm() const = 0;
  virtual int64_t max_positions() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t hidden_size() const = 0;
  int num_blocks() const { return static_cast<int>(layout_.size()); }

  // Token (+ position, segment) embeddings [B, T, hidden]; fills `inputs` with what every block of
  // this batch reads. Ids outside the vocabulary or a batch longer than the context are BadInput.
  virtual torch::Tensor embed(const Batch& batch, BlockInputs* inputs) const = 0;
  // Block `i` on hidden states [B, T, hidden]: its segments chained (run_segment).
  torch::Tensor run_block(int i, const torch::Tensor& hidden, const BlockInputs& inputs) const;
  // Block `i` split at its input groups. Segment g < input_groups(i).size() maps the previous
  // segment's result (`previous`; for g = 0 the block input `hidden`) to the input of group g,
  // applying the linears of the groups before it; the last segment (g = number of groups) returns
  // the block's output. `carry` holds what a later segment reads from an earlier one (the residual
  // stream). A sweep that compresses one group at a time (true-sequential GPTQ) runs every batch
  // through segment g, compresses group g, then runs segment g + 1, so each group's statistics see
  // the block's earlier groups already compressed, in one forward per block.
  virtual torch::Tensor run_segment(int i, size_t segment, const torch::Tensor& hidden, const torch::Tensor& previous,
                                    SegmentCarry& carry, const BlockInputs& inputs) const = 0;
  // What follows the blocks (final norm and LM head for a causal LM, nothing for an encoder) on the
  // rows asked: `rows` indexes the flattened [B·T] rows of `hidden`; undefined = every row, in the
  // shape of hidden. A causal LM returns logits ([R, vocab] or [B, T, vocab]), an encoder hidden states.
  virtual torch::Tensor head(const torch::Tensor& hidden, const torch::Tensor& rows = {}) const = 0;

  // embed -> every block -> head: the only loop over blocks.
  torch::Tensor forward(const Batch& batch) const;
  torch::Tensor forward(const torch::Tensor& input_ids) const { return forward(Batch{input_ids, {}, {}}); }
  // embed -> every block (the hidden states head() reads).
  torch::Tensor hidden_states(const Batch& batch, BlockInputs* inputs) const;

  // Every tensor under its checkpoint name and layout, as a Hugging Face loader expects it, in
  // the order the architecture registered them.
  // Every linear runs on float inputs from now on: activation rounding (W8A8, FP8) is off and the
  // weights alone are executed (validate's weights-only check, bench's float32 baseline).
  void drop_activation_quantization();

  std::vector<std::pair<std::string, torch::Tensor>> checkpoint_tensors() const;
  // The codes of quantized slots by checkpoint weight name ("x.weight"), and the linear modules
  // (lm_head included) left dense: what the artifact writes packed, and its quantization_config.
  std::map<std::string, const QuantizedWeight*> quantized_weights() const;
  std::vector<std::string> dense_linear_modules() const;

  const HfConfig& config() const { return config_; }
  std::vector<LinearSlot>& slots() { return slots_; }
  const std::vector<LinearSlot>& slots() const { return slots_; }
  std::vector<NormSlot>& norms() { return norms_; }
  const std::vector<NormSlot>& norms() const { return norms_; }
  LinearSlot* find_slot(const std::string& name);
  BlockView block(int i);
  // Input groups of block i (indices into slots()).
  const std::vector<InputGroup>& input_groups(int i) const { return layout_.at(static_cast<size_t>(i)).groups; }
  torch::nn::Module& module() { return *module_; }

  // Structured pruning (passes/pruning/structured.h) removes whole attention heads and MLP neurons,
  // physically: the rows of the linears producing them and the columns of the linear reading them
  // (weights, biases, masks) shrink in place, and config.json's counts follow once every block
  // holds the same number (one count is all a Hugging Face config can say).
  struct AttentionHeads {
    int64_t heads = 0, kv_heads = 0, head_dim = 0;  // block's current query and key/value heads
  };
  virtual AttentionHeads attention_heads(int block) const = 0;
  // Why this architecture's heads cannot be removed; empty when they can.
  virtual std::string head_removal_unsupported() const { return {}; }
  // Removes query heads `heads` (indices among block's current heads) with their rows of q and
  // columns of o; a key/value head goes with them once no query head reads it any more.
  virtual void remove_heads(int block, const std::vector<int64_t>& heads);
  // Removes MLP neurons `neurons` (indices among the block's current ones): rows of the mlp_in
  // group's linears (gate, up; c_fc; intermediate.dense), columns of mlp_out's (down).
  void remove_neurons(int block, const std::vector<int64_t>& neurons);
  // The slots of block i's input group `name` ("attn_out", "mlp_in", ...); InternalError if absent.
  const InputGroup& group_named(int block, const std::string& name) const;
  // The block's current MLP width.
  int64_t mlp_neurons(int block) const;

  void set_linear_input_hook(LinearInputHook hook) { hook_ = std::move(hook); }
  // Slots' masks re-applied (pruned weights back to exactly zero), e.g. after an optimizer step.
  void apply_masks();

 protected:
  // Linear through a slot: y = x W^T + b, calling the input hook first when one is set.
  torch::Tensor linear(const LinearSlot& slot, const torch::Tensor& x) const;
  torch::Tensor linear(size_t slot, const torch::Tensor& x) const { return linear(slots_[slot], x); }
  // head() of a causal LM: `final_norm` then the LM head slot on the rows asked (see head()).
  torch::Tensor lm_head(const torch::Tensor& hidden, const torch::Tensor& rows, size_t head_slot,
                        const std::function<torch::Tensor(const torch::Tensor&)>& final_norm) const;
  // BadInput (named after the architecture) unless ids are [B, T] within the vocabulary and context,
  // and attention_mask / token_type_ids (when given) have the same shape.
  // `context_key` names the config key of the context length in the message.
  void check_batch(const Batch& batch, const std::string& context_key) const;

  // Registers `t` as a module parameter (so optimisers see it) under its checkpoint name and
  // returns it. `transposed`: the checkpoint stores it as t.t() (GPT-2's Conv1D [in, out]).
  torch::Tensor add_tensor(const std::string& checkpoint_name, torch::Tensor t, bool transposed = false);
  // A slot named `name` (checkpoint name without ".weight") with weight [out, in] and optional bias.
  size_t add_slot(const std::string& name, TensorRole role, int block, torch::Tensor weight, torch::Tensor bias,
                  bool transposed = false);
  // A norm named `name` with weight [hidden] and optional bias, registered like add_tensor.
  size_t add_norm(const std::string& name, int block, torch::Tensor weight, torch::Tensor bias);
  // Block i's input groups; slots and norms of the block are found by their block index.
  void add_block_groups(std::vector<InputGroup> groups);
  // Keeps rows `keep` (int64 indices, ascending) of slot's weight, bias and mask, or its columns:
  // the tensors shrink in place, so the module's parameters are the smaller ones.
  void keep_rows(size_t slot, const torch::Tensor& keep);
  void keep_columns(size_t slot, const torch::Tensor& keep);
  // After remove_heads / remove_neurons: the architecture writes the new counts into config_ (and
  // its parsed config) when every block agrees.
  virtual void shapes_changed() = 0;

  HfConfig config_;
  std::shared_ptr<torch::nn::Module> module_;
  std::vector<LinearSlot> slots_;
  std::vector<NormSlot> norms_;
  LinearInputHook hook_;

 private:
  struct Stored {
    std::string name;
    torch::Tensor tensor;  // the parameter itself: in-place edits show here
    bool transposed;
  };
  struct BlockLayout {
    std::vector<InputGroup> groups;
  };
  std::vector<Stored> stored_;
  std::vector<BlockLayout> layout_;
};

}  // namespace compressor::model
