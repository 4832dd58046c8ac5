#include "compressor/model/model.h"

#include "compressor/base/error.h"
#include "compressor/base/shape.h"
#include "compressor/model/fake_quant.h"

namespace compressor::model {

void LinearSlot::set_weight(const torch::Tensor& w) {
  torch::NoGradGuard no_grad;
  if (w.sizes() != weight.sizes()) {
    throw InternalError(name, "set_weight: shape " + base::shape_string(w.sizes()) + " for a weight of " +
                                  base::shape_string(weight.sizes()));
  }
  weight.copy_(w);
  quantized.reset();
  ++generation;
}

LinearSlot* Model::find_slot(const std::string& name) {
  for (auto& s : slots_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

BlockView Model::block(int i) {
  if (i < 0 || i >= num_blocks()) {
    throw InternalError(architecture(), "block " + std::to_string(i) + " of " + std::to_string(num_blocks()));
  }
  BlockView v;
  v.index = i;
  v.model = this;
  for (auto& s : slots_) {
    if (s.block == i) v.linears.push_back(&s);
  }
  for (auto& n : norms_) {
    if (n.block == i) v.norms.push_back(&n);
  }
  v.groups = layout_[static_cast<size_t>(i)].groups;
  for (const auto& g : v.groups) {
    std::vector<LinearSlot*> members;
    for (size_t k : g.slots) members.push_back(&slots_.at(k));
    v.group_slots.push_back(std::move(members));
    v.group_norm.push_back(g.norm ? &norms_.at(*g.norm) : nullptr);
    v.group_producer.push_back(g.producer ? &slots_.at(*g.producer) : nullptr);
  }
  return v;
}

torch::Tensor Model::hidden_states(const Batch& batch, BlockInputs* inputs) const {
  BlockInputs local;
  BlockInputs& in = inputs ? *inputs : local;
  auto x = embed(batch, &in);
  for (int i = 0; i < num_blocks(); ++i) x = run_block(i, x, in);
  return x;
}

torch::Tensor Model::run_block(int i, const torch::Tensor& hidden, const BlockInputs& inputs) const {
  SegmentCarry carry;
  torch::Tensor t = hidden;
  const size_t segments = input_groups(i).size() + 1;
  for (size_t g = 0; g < segments; ++g) t = run_segment(i, g, hidden, t, carry, inputs);
  return t;
}

torch::Tensor Model::forward(const Batch& batch) const { return head(hidden_states(batch, nullptr)); }

torch::Tensor Model::lm_head(const torch::Tensor& hidden, const torch::Tensor& rows, size_t head_slot,
                             const std::function<torch::Tensor(const torch::Tensor&)>& final_norm) const {
  auto flat = hidden.reshape({-1, hidden.size(-1)});
  if (rows.defined()) flat = flat.index_select(0, rows);
  auto logits = linear(head_slot, final_norm(flat));
  if (rows.defined()) return logits;
  auto shape = hidden.sizes().vec();
  shape.back() = logits.size(-1);
  return logits.view(shape);
}

void Model::check_batch(const Batch& batch, const std::string& context_key) const {
  const auto arch = architecture();
  const auto& ids = batch.input_ids;
  if (!ids.defined() || ids.dim() != 2) throw BadInput(arch, "input_ids must be [batch, time]");
  const int64_t T = ids.size(1);
  if (T > max_positions()) {
    throw BadInput(arch, "sequence of " + std::to_string(T) + " tokens exceeds " + context_key + " " +
                             std::to_string(max_positions()));
  }
  if (ids.numel() > 0 && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= vocab_size())) {
    throw BadInput(arch, "token ids must be in [0, " + std::to_string(vocab_size()) + ")");
  }
  for (const auto* t : {&batch.attention_mask, &batch.token_type_ids}) {
    if (t->defined() && t->sizes() != ids.sizes()) {
      throw BadInput(arch, std::string(t == &batch.attention_mask ? "attention_mask" : "token_type_ids") + " is " +
                               base::shape_string(t->sizes()) + ", input_ids " + base::shape_string(ids.sizes()));
    }
  }
}

void Model::apply_masks() {
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    if (s.mask.defined()) {
      s.weight.mul_(s.mask);
      s.touch();
    }
  }
}

torch::Tensor Model::add_tensor(const std::string& checkpoint_name, torch::Tensor t, bool transposed) {
  std::string key = checkpoint_name;  // torch parameter names may not contain dots
  for (char& ch : key) {
    if (ch == '.') ch = '_';
  }
  auto registered = module_->register_parameter(key, std::move(t));
  stored_.push_back({checkpoint_name, registered, transposed});
  return registered;
}

size_t Model::add_slot(const std::string& name, TensorRole role, int block, torch::Tensor weight, torch::Tensor bias,
                       bool transposed) {
  LinearSlot s;
  s.name = name;
  s.role = role;
  s.block = block;
  s.weight = add_tensor(name + ".weight", std::move(weight), transposed);
  if (bias.defined()) s.bias = add_tensor(name + ".bias", std::move(bias));
  slots_.push_back(std::move(s));
  return slots_.size() - 1;
}

size_t Model::add_norm(const std::string& name, int block, torch::Tensor weight, torch::Tensor bias) {
  NormSlot n;
  n.name = name;
  n.block = block;
  n.weight = add_tensor(name + ".weight", std::move(weight));
  if (bias.defined()) n.bias = add_tensor(name + ".bias", std::move(bias));
  norms_.push_back(std::move(n));
  return norms_.size() - 1;
}

void Model::add_block_groups(std::vector<InputGroup> groups) { layout_.push_back({std::move(groups)}); }

namespace {
// `t` (a parameter or mask) replaced in place by its rows / columns `keep`.
void shrink(torch::Tensor& t, int64_t dim, const torch::Tensor& keep) {
  torch::NoGradGuard no_grad;
  auto kept = t.index_select(dim, keep).contiguous();
  t.set_(kept);
}
}  // namespace

void Model::keep_rows(size_t slot, const torch::Tensor& keep) {
  auto& s = slots_.at(slot);
  if (s.quantized) throw InternalError(s.name, "rows removed from a quantized weight");
  shrink(s.weight, 0, keep);
  if (s.bias) shrink(*s.bias, 0, keep);
  if (s.mask.defined()) shrink(s.mask, 0, keep);
  s.touch();
}

void Model::keep_columns(size_t slot, const torch::Tensor& keep) {
  auto& s = slots_.at(slot);
  if (s.quantized) throw InternalError(s.name, "columns removed from a quantized weight");
  shrink(s.weight, 1, keep);
  if (s.mask.defined()) shrink(s.mask, 1, keep);
  s.touch();
}

const InputGroup& Model::group_named(int block, const std::string& name) const {
  for (const auto& g : input_groups(block)) {
    if (g.name == name) return g;
  }
  throw InternalError(architecture(), "block " + std::to_string(block) + " has no input group " + name);
}

namespace {
// Ascending indices of [0, n) without `removed` (each in range, no repeats).
torch::Tensor kept_indices(int64_t n, const std::vector<int64_t>& removed, const std::string& what) {
  std::vector<char> gone(static_cast<size_t>(n), 0);
  for (int64_t r : removed) {
    if (r < 0 || r >= n || gone[static_cast<size_t>(r)]) {
      throw InternalError(what, "index " + std::to_string(r) + " of " + std::to_string(n) + " removed twice or out of range");
    }
    gone[static_cast<size_t>(r)] = 1;
  }
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i) {
    if (!gone[static_cast<size_t>(i)]) keep.push_back(i);
  }
  if (keep.empty()) throw InternalError(what, "every one of " + std::to_string(n) + " removed");
  return torch::tensor(keep, torch::kInt64);
}

// The row indices of `units` consecutive blocks of `width` rows each, for the kept units.
torch::Tensor expand_units(const torch::Tensor& kept_units, int64_t width) {
  return (kept_units.unsqueeze(1) * width + torch::arange(width, torch::kInt64).unsqueeze(0)).reshape({-1});
}
}  // namespace

int64_t Model::mlp_neurons(int block) const { return slots_.at(group_named(block, "mlp_out").slots.front()).in_features(); }

void Model::remove_neurons(int block, const std::vector<int64_t>& neurons) {
  if (neurons.empty()) return;
  const auto keep = kept_indices(mlp_neurons(block), neurons, architecture() + " block " + std::to_string(block) + " neurons");
  for (size_t s : group_named(block, "mlp_in").slots) keep_rows(s, keep);
  for (size_t s : group_named(block, "mlp_out").slots) keep_columns(s, keep);
  shapes_changed();
}

void Model::remove_heads(int block, const std::vector<int64_t>& heads) {
  const auto why = head_removal_unsupported();
  if (!why.empty()) throw BadInput(architecture(), why);
  if (heads.empty()) return;
  const auto a = attention_heads(block);
  const std::string what = architecture() + " block " + std::to_string(block) + " heads";
  const auto keep_q = kept_indices(a.heads, heads, what);
  // Query head h reads key/value head h / (heads / kv_heads); that head stays while any reader does.
  const int64_t per_kv = a.heads / a.kv_heads;
  std::vector<int64_t> readers(static_cast<size_t>(a.kv_heads), 0), dead_kv;
  for (int64_t h : std::vector<int64_t>(keep_q.data_ptr<int64_t>(), keep_q.data_ptr<int64_t>() + keep_q.numel())) {
    ++readers[static_cast<size_t>(h / per_kv)];
  }
  int64_t group_size = 0;
  for (int64_t g = 0; g < a.kv_heads; ++g) {
    const int64_t n = readers[static_cast<size_t>(g)];
    if (n == 0) {
      dead_kv.push_back(g);
    } else if (group_size != 0 && n != group_size) {
      throw InternalError(what, "key/value groups left with " + std::to_string(group_size) + " and " +
                                    std::to_string(n) + " query heads");
    } else {
      group_size = n;
    }
  }
  const auto q_rows = expand_units(keep_q, a.head_dim);
  const auto& in = group_named(block, "attn_in");
  const auto& out = group_named(block, "attn_out");
  // attn_in's leader is q, then k and v (each [heads · head_dim, hidden]).
  if (in.slots.size() != 3) throw InternalError(what, "expected separate q, k and v linears");
  keep_rows(in.slots[0], q_rows);
  if (!dead_kv.empty()) {
    const auto kv_rows = expand_units(kept_indices(a.kv_heads, dead_kv, what), a.head_dim);
    keep_rows(in.slots[1], kv_rows);
    keep_rows(in.slots[2], kv_rows);
  }
  for (size_t s : out.slots) keep_columns(s, q_rows);
  shapes_changed();
}

std::vector<std::pair<std::string, torch::Tensor>> Model::checkpoint_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.reserve(stored_.size());
  for (const auto& s : stored_) out.emplace_back(s.name, s.transposed ? s.tensor.detach().t() : s.tensor.detach());
  return out;
}

std::map<std::string, const QuantizedWeight*> Model::quantized_weights() const {
  std::map<std::string, const QuantizedWeight*> out;
  for (const auto& s : slots_) {
    if (s.quantized) out.emplace(s.name + ".weight", &*s.quantized);
  }
  return out;
}

std::vector<std::string> Model::dense_linear_modules() const {
  std::vector<std::string> out;
  for (const auto& s : slots_) {
    if ((s.is_linear() || s.role == TensorRole::LmHead) && !s.quantized) out.push_back(s.name);
  }
  return out;
}

void Model::drop_activation_quantization() {
  for (auto& slot : slots_) {
    slot.input_quant.reset();
    slot.input_qparams.reset();
  }
}

torch::Tensor Model::linear(const LinearSlot& slot, const torch::Tensor& x) const {
  if (hook_) hook_(slot, x);
  torch::Tensor in = x;
  if (slot.input_quant && slot.input_quant->dynamic) {
    in = fake_quantize_activation(x, *slot.input_quant);
  } else if (slot.input_quant) {
    if (!slot.input_qparams) throw InternalError(slot.name, "a static input scheme without its calibrated scale");
    in = fake_quantize_activation(x, *slot.input_quant, *slot.input_qparams);
  }
  // Training through a quantized input (QAT of W8A8): the straight-through estimator, so earlier
  // layers still get gradients. Only then: evaluation uses the fake-quantized values exactly.
  if (slot.input_quant && torch::GradMode::is_enabled() && x.requires_grad()) in = x + (in - x).detach();
  return torch::linear(in, slot.weight, slot.bias ? *slot.bias : torch::Tensor());
}

}  // namespace compressor::model
