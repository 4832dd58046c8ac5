// The model every pass works on: a LibTorch module plus a table of its linear weights.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "compressor/model/hf_config.h"
#include "compressor/model/tensor_role.h"

namespace compressor::model {

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

  int64_t out_features() const { return weight.size(0); }
  int64_t in_features() const { return weight.size(1); }
  bool is_linear() const {  // a matmul inside a block (not embedding, head or norm)
    return role != TensorRole::Embedding && role != TensorRole::LmHead && role != TensorRole::Norm;
  }
};

// Observer called with the input of a linear slot during forward (calibration statistics).
using LinearInputHook = std::function<void(const LinearSlot&, const torch::Tensor& input)>;

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string architecture() const = 0;   // "gpt2", "bert"
  virtual bool is_causal_lm() const = 0;
  // input_ids [batch, time] int64 -> logits [batch, time, vocab] for a causal LM, or the last
  // hidden states [batch, time, hidden] for an encoder.
  virtual torch::Tensor forward(const torch::Tensor& input_ids) = 0;
  virtual int64_t max_positions() const = 0;
  virtual int64_t vocab_size() const = 0;

  // Every tensor under its checkpoint name and layout, as a Hugging Face loader expects it, in
  // the order the architecture registered them.
  std::vector<std::pair<std::string, torch::Tensor>> checkpoint_tensors() const;

  const HfConfig& config() const { return config_; }
  std::vector<LinearSlot>& slots() { return slots_; }
  const std::vector<LinearSlot>& slots() const { return slots_; }
  LinearSlot* find_slot(const std::string& name);
  torch::nn::Module& module() { return *module_; }

  void set_linear_input_hook(LinearInputHook hook) { hook_ = std::move(hook); }
  // Slots' masks re-applied (pruned weights back to exactly zero), e.g. after an optimizer step.
  void apply_masks();

 protected:
  // Linear through a slot: y = x W^T + b, calling the input hook first when one is set.
  torch::Tensor linear(const LinearSlot& slot, const torch::Tensor& x) const;

  // Registers `t` as a module parameter (so optimisers see it) under its checkpoint name and
  // returns it. `transposed`: the checkpoint stores it as t.t() (GPT-2's Conv1D [in, out]).
  torch::Tensor add_tensor(const std::string& checkpoint_name, torch::Tensor t, bool transposed = false);
  // A slot named `name` (checkpoint name without ".weight") with weight [out, in] and optional bias.
  size_t add_slot(const std::string& name, TensorRole role, int block, torch::Tensor weight, torch::Tensor bias,
                  bool transposed = false);

  HfConfig config_;
  std::shared_ptr<torch::nn::Module> module_;
  std::vector<LinearSlot> slots_;
  LinearInputHook hook_;

 private:
  struct Stored {
    std::string name;
    torch::Tensor tensor;  // the parameter itself: in-place edits show here
    bool transposed;
  };
  std::vector<Stored> stored_;
};

}  // namespace compressor::model
