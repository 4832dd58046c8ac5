// Where an architecture's tensors come from while it is built: a checkpoint, or a seeded random
// initialisation. Architectures ask by name without the checkpoint's prefix ("transformer.",
// "bert." or none, depending on who saved it) and get float32 tensors of the checkpoint's shape.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "formats/hf_config.h"
#include "formats/hf_checkpoint.h"

namespace compressor::model {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  const std::string& prefix() const { return prefix_; }
  virtual bool has(const std::string& name) const = 0;
  // `shape` as stored in the checkpoint. `init_std` only matters for random init: < 0 ones,
  // 0 zeros, > 0 normal(0, init_std). `prefixed` false for names outside the prefix (lm_head).
  virtual torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape, double init_std,
                            bool prefixed = true) = 0;
  // get(...) transposed and contiguous, for a 2-D tensor stored the other way round. A checkpoint
  // makes the copy straight from its mapping and then gives the mapped pages back.
  virtual torch::Tensor get_transposed(const std::string& name, const std::vector<int64_t>& shape, double init_std) {
    return get(name, shape, init_std).t().contiguous();
  }

 protected:
  std::string prefix_;
};

// The checkpoint's tensors. Its prefix is `prefix` when the checkpoint holds `probe` under it, ""
// when it holds `probe` bare, and `prefix` otherwise (so a missing tensor is reported under the
// name the family normally uses). A weight stored compressed (config.json's compressed-tensors
// quantization_config: weight_packed, weight_scale, ...) is read back dequantized to float32.
std::unique_ptr<WeightSource> checkpoint_weights(const formats::HfConfig& config, const formats::CheckpointTensors& ckpt,
                                                 const std::string& prefix, const std::string& probe);
// Tensors already in memory under their checkpoint names and layouts (Model::checkpoint_tensors()),
// with the prefix rule of checkpoint_weights. They are returned as they are (no copy): the model
// built from them shares their storage. A missing tensor or a wrong shape is an InternalError,
// since the caller made the map.
std::unique_ptr<WeightSource> tensor_weights(std::map<std::string, torch::Tensor> tensors, const std::string& prefix,
                                             const std::string& probe);
// Random tensors from `seed`; the model is later written under `prefix`.
std::unique_ptr<WeightSource> random_weights(uint64_t seed, const std::string& prefix);

}  // namespace compressor::model
