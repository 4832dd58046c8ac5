#include "compressor/model/student.h"

#include <map>
#include <optional>
#include <string>

#include "compressor/base/error.h"
#include "compressor/model/architecture.h"
#include "compressor/model/weight_source.h"

namespace compressor::model {

namespace {

HfConfig with_blocks(const HfConfig& config, const std::string& layers_key, size_t blocks) {
  auto raw = config.raw;
  raw[layers_key] = blocks;
  return parse_hf_config(raw.dump(), config.file);
}

// Renames checkpoint names of kept blocks to their new index; nullopt for a dropped block's.
class BlockRenamer {
 public:
  BlockRenamer(std::string block_prefix, const std::vector<int>& keep) : prefix_(std::move(block_prefix)) {
    for (size_t i = 0; i < keep.size(); ++i) index_[keep[i]] = static_cast<int>(i);
  }
  std::optional<std::string> operator()(const std::string& name) const {
    if (name.compare(0, prefix_.size(), prefix_) != 0) return name;  // outside the blocks
    const size_t dot = name.find('.', prefix_.size());
    const std::string number = name.substr(prefix_.size(), dot - prefix_.size());
    if (dot == std::string::npos || number.empty() || number.find_first_not_of("0123456789") != std::string::npos) {
      return name;
    }
    const auto it = index_.find(std::stoi(number));
    if (it == index_.end()) return std::nullopt;
    return prefix_ + std::to_string(it->second) + name.substr(dot);
  }

 private:
  std::string prefix_;
  std::map<int, int> index_;
};

}  // namespace

std::vector<int> every_kth_block(int blocks, int k) {
  if (k < 1) throw InternalError("every_kth_block", "k = " + std::to_string(k));
  std::vector<int> keep;
  for (int i = 0; i < blocks; i += k) keep.push_back(i);
  return keep;
}

std::unique_ptr<Model> keep_blocks(std::unique_ptr<Model> model, const std::vector<int>& keep) {
  if (keep.empty()) throw InternalError("keep_blocks", "no block kept");
  for (size_t i = 0; i < keep.size(); ++i) {
    if (keep[i] < 0 || keep[i] >= model->num_blocks() || (i > 0 && keep[i] <= keep[i - 1])) {
      throw InternalError("keep_blocks", "block list is not ascending within the model's " +
                                             std::to_string(model->num_blocks()) + " blocks");
    }
  }
  const auto& arch = architecture_info(model->architecture());
  std::map<std::string, torch::Tensor> all;
  for (auto& [name, t] : model->checkpoint_tensors()) all.emplace(name, t);
  const bool bare = !all.count(arch.prefix + arch.probe) && all.count(arch.probe);
  const BlockRenamer rename((bare ? "" : arch.prefix) + arch.blocks, keep);

  std::map<std::string, torch::Tensor> kept;
  for (auto& [name, t] : all) {
    if (auto to = rename(name)) kept.emplace(*to, t);
  }
  all.clear();
  // What passes put on a slot besides its weight travels with it.
  struct SlotState {
    torch::Tensor mask;
    std::optional<QuantizedWeight> quantized;
    std::optional<quant::QuantArgs> input_quant;
    std::optional<quant::IntQParams> input_qparams;
  };
  std::map<std::string, SlotState> states;
  for (auto& s : model->slots()) {
    if (auto to = rename(s.name)) states[*to] = {s.mask, s.quantized, s.input_quant, s.input_qparams};
  }
  const auto config = with_blocks(model->config(), arch.layers_key, keep.size());
  model.reset();  // the dropped blocks' tensors go now; the kept ones live on in `kept`

  auto src = tensor_weights(std::move(kept), arch.prefix, arch.probe);
  auto student = arch.build(config, *src);
  for (auto& s : student->slots()) {
    const auto it = states.find(s.name);
    if (it == states.end()) continue;
    s.mask = it->second.mask;
    s.quantized = it->second.quantized;
    s.input_quant = it->second.input_quant;
    s.input_qparams = it->second.input_qparams;
  }
  return student;
}

std::unique_ptr<Model> random_model_like(const Model& model, int blocks, uint64_t seed) {
  const auto& arch = architecture_info(model.architecture());
  return arch.init(with_blocks(model.config(), arch.layers_key, static_cast<size_t>(blocks)), seed);
}

}  // namespace compressor::model
