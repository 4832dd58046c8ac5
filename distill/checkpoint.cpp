#include "distill/checkpoint.h"

#include <utility>
#include <vector>

#include <torch/csrc/autograd/custom_function.h>

#include "compressor/base/error.h"

namespace compressor::distill {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What the backward needs to run the block again. `weights` are the tensors each linear of the
// block held at the forward: a QAT step installs fake-quantized weights for its forward only and
// puts the latents back before the backward, so the recompute puts these back for its own run.
struct Recompute : torch::CustomClassHolder {
  model::Model* model = nullptr;
  int block = 0;
  model::BlockInputs inputs;
  std::vector<std::pair<model::LinearSlot*, torch::Tensor>> weights;
  // Tensors requiring grad, in the order the Function takes them: first the linears' weights that
  // require grad (indices into `weights`), then biases and norm parameters (read by the block as
  // they are, so they need no swapping).
  std::vector<size_t> trained_weights;
  std::vector<torch::Tensor> others;

  // Runs the block with the weights of the forward in the slots and `swapped[i]` in place of
  // trained weight i; the slots get back what they held before, also when the block throws.
  torch::Tensor run(const torch::Tensor& x, const std::vector<torch::Tensor>& swapped) const {
    std::vector<torch::Tensor> held;
    held.reserve(weights.size());
    for (const auto& [slot, w] : weights) held.push_back(slot->weight);
    struct PutBack {
      const std::vector<std::pair<model::LinearSlot*, torch::Tensor>>& weights;
      std::vector<torch::Tensor>& held;
      ~PutBack() {
        for (size_t i = 0; i < weights.size(); ++i) weights[i].first->weight = held[i];
      }
    } put_back{weights, held};
    for (const auto& [slot, w] : weights) slot->weight = w;
    for (size_t i = 0; i < swapped.size(); ++i) weights[trained_weights[i]].first->weight = swapped[i];
    return model->run_block(block, x, inputs);
  }
};

struct BlockCheckpoint : torch::autograd::Function<BlockCheckpoint> {
  // `trained`: the tensors requiring grad the block reads (Recompute's order), inputs of this node
  // so their gradients flow on; `recompute`: the Recompute, as an IValue capsule.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden, torch::TensorList /*trained*/,
                               const c10::IValue& recompute) {
    ctx->save_for_backward({hidden});
    ctx->saved_data["recompute"] = recompute;
    const auto r = c10::static_intrusive_pointer_cast<Recompute>(recompute.toCapsule());
    // Function::apply runs this without grad: nothing of the block's forward is kept.
    return r->run(hidden, {});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto r = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["recompute"].toCapsule());
    const auto hidden = ctx->get_saved_variables().at(0);
    torch::AutoGradMode grad(true);
    // Leaves for the recompute: gradients stop at them and are handed to the outer graph.
    const auto x = hidden.detach().requires_grad_(hidden.requires_grad());
    std::vector<torch::Tensor> swapped;
    for (size_t i : r->trained_weights) swapped.push_back(r->weights[i].second.detach().requires_grad_(true));
    const auto y = r->run(x, swapped);
    std::vector<torch::Tensor> wrt;
    if (x.requires_grad()) wrt.push_back(x);
    wrt.insert(wrt.end(), swapped.begin(), swapped.end());
    wrt.insert(wrt.end(), r->others.begin(), r->others.end());
    std::vector<torch::Tensor> grads;
    if (!wrt.empty()) {
      grads = torch::autograd::grad({y}, wrt, {grad_output.at(0)}, /*retain_graph=*/false, /*create_graph=*/false,
                                    /*allow_unused=*/true);
    }
    // One gradient per forward argument: hidden, each trained tensor, and none for the capsule.
    variable_list out;
    size_t g = 0;
    out.push_back(x.requires_grad() ? grads[g++] : torch::Tensor());
    for (; g < grads.size(); ++g) out.push_back(grads[g]);
    out.emplace_back();
    return out;
  }
};

}  // namespace

torch::Tensor checkpointed_block(model::Model& m, int block, const torch::Tensor& hidden, const model::BlockInputs& inputs) {
  if (inputs.attention != nullptr) {
    throw InternalError("checkpointed_block", "attention probabilities cannot be captured through a checkpointed block");
  }
  auto r = c10::make_intrusive<Recompute>();
  r->model = &m;
  r->block = block;
  r->inputs = inputs;
  const auto view = m.block(block);
  std::vector<torch::Tensor> trained;
  for (auto* slot : view.linears) {
    if (slot->weight.requires_grad()) r->trained_weights.push_back(r->weights.size());
    r->weights.emplace_back(slot, slot->weight);
  }
  for (size_t i : r->trained_weights) trained.push_back(r->weights[i].second);
  auto add_other = [&](const torch::Tensor& t) {
    if (t.defined() && t.requires_grad()) r->others.push_back(t);
  };
  for (auto* slot : view.linears) add_other(slot->bias ? *slot->bias : torch::Tensor());
  for (auto* norm : view.norms) {
    add_other(norm->weight);
    add_other(norm->bias);
  }
  trained.insert(trained.end(), r->others.begin(), r->others.end());
  return BlockCheckpoint::apply(hidden, torch::TensorList(trained), c10::IValue::make_capsule(std::move(r)));
}

}  // namespace compressor::distill
