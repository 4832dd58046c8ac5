#include "compressor/model/weight_source.h"

#include <cstring>
#include <optional>

#include "compressor/base/error.h"
#include "compressor/base/finite.h"
#include "compressor/base/shape.h"
#include "compressor/model/architecture.h"
#include "formats/compressed_tensors.h"
#include "formats/sparse_layout.h"

namespace compressor::model {

namespace {

class CheckpointWeights final : public WeightSource {
 public:
  CheckpointWeights(const HfConfig& config, const formats::CheckpointTensors& ckpt, const std::string& prefix,
                    const std::string& probe)
      : ckpt_(ckpt), config_file_(config.file.string()) {
    const bool bare = !ckpt.contains(prefix + probe) && ckpt.contains(probe);
    prefix_ = bare ? "" : prefix;
    if (auto it = config.raw.find("quantization_config"); it != config.raw.end() && !it->is_null()) {
      quantization_ = formats::parse_quantization_config(*it, config_file_ + ": quantization_config");
    }
  }
  bool has(const std::string& name) const override {
    return ckpt_.contains(prefix_ + name) || compressed_module(prefix_ + name).has_value() ||
           sparse_module(prefix_ + name).has_value();
  }
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape, double, bool prefixed) override {
    const std::string full = (prefixed ? prefix_ : "") + name;
    if (auto module = compressed_module(full)) return dequantized(*module, shape, /*transposed=*/false);
    if (auto module = sparse_module(full)) return sparse(*module, shape, /*transposed=*/false);
    return load_weight(ckpt_, full, shape);
  }
  torch::Tensor get_transposed(const std::string& name, const std::vector<int64_t>& shape, double) override {
    if (auto module = compressed_module(prefix_ + name)) return dequantized(*module, shape, /*transposed=*/true);
    if (auto module = sparse_module(prefix_ + name)) return sparse(*module, shape, /*transposed=*/true);
    return load_weight(ckpt_, prefix_ + name, shape, /*transpose=*/true);
  }

 private:
  static std::optional<std::string> module_of(const std::string& name) {
    static const std::string suffix = ".weight";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return std::nullopt;
    }
    return name.substr(0, name.size() - suffix.size());
  }

  // "x.weight" of a float weight stored in a sparse layout (x.compressed + x.bitmask): "x".
  std::optional<std::string> sparse_module(const std::string& name) const {
    auto module = module_of(name);
    if (!module || ckpt_.contains(name) || !formats::has_sparse_weight(ckpt_.parts(), *module)) return std::nullopt;
    return module;
  }

  // The float32 weight of a sparse-layout module, [out, in] as stored (so, like a compressed
  // weight, already in the layout get_transposed returns).
  torch::Tensor sparse(const std::string& module, const std::vector<int64_t>& shape, bool transposed) const {
    using formats::DType;
    const auto d = formats::sparse_decompress(ckpt_.parts(), module, {DType::F32, DType::F16, DType::BF16},
                                              ckpt_.root().string());
    const std::vector<int64_t> stored{d.rows, d.cols};
    const std::vector<int64_t> expected = transposed ? std::vector<int64_t>{shape.at(1), shape.at(0)} : shape;
    if (stored != expected) {
      throw BadInput(ckpt_.root().string(), "sparse weight '" + module + "' is " + base::shape_string(stored) +
                                                " [out, in], the config implies " + base::shape_string(expected));
    }
    auto w = torch::empty(stored, formats::to_torch(d.dtype));
    std::memcpy(w.data_ptr(), d.bytes.data(), d.bytes.size());
    w = w.to(torch::kFloat32);
    if (!base::all_finite(w)) throw BadInput(ckpt_.root().string(), "sparse weight '" + module + "' holds NaN or Inf");
    return w;
  }

  // "x.weight" of a module stored compressed: "x". (int- and float-quantized modules keep their
  // codes under "x.weight" itself, so the weight_scale beside it is what tells.)
  std::optional<std::string> compressed_module(const std::string& name) const {
    static const std::string suffix = ".weight";
    if (!quantization_ || name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return std::nullopt;
    }
    std::string module = name.substr(0, name.size() - suffix.size());
    if (!formats::has_compressed_weight(ckpt_, module)) return std::nullopt;
    return module;
  }

  // The float32 [out, in] weight of a compressed module. Compressed weights are always [out, in]
  // (nn.Linear's layout), so one that the architecture stores transposed (GPT-2's Conv1D, shape
  // [in, out]) is already in the layout get_transposed returns.
  torch::Tensor dequantized(const std::string& module, const std::vector<int64_t>& shape, bool transposed) const {
    const auto* group = quantization_->group_for(module);
    if (!group) {
      throw BadInput(config_file_, "tensor '" + module + ".weight_scale' is stored but no group of quantization_config "
                                   "targets '" + module + "'");
    }
    const auto q = formats::decompress(ckpt_, module, group->scheme);
    const std::vector<int64_t> stored{q.rows(), q.cols()};
    const std::vector<int64_t> expected = transposed ? std::vector<int64_t>{shape.at(1), shape.at(0)} : shape;
    if (stored != expected) {
      throw BadInput(ckpt_.root().string(), "compressed weight '" + module + "' is " + base::shape_string(stored) +
                                                " [out, in], the config implies " + base::shape_string(expected));
    }
    auto w = formats::dequantize(q);
    if (!base::all_finite(w)) throw BadInput(ckpt_.root().string(), "compressed weight '" + module + "' decodes to NaN or Inf");
    return w;
  }

  const formats::CheckpointTensors& ckpt_;
  std::string config_file_;
  std::optional<formats::QuantizationConfig> quantization_;
};

class TensorWeights final : public WeightSource {
 public:
  TensorWeights(std::map<std::string, torch::Tensor> tensors, const std::string& prefix, const std::string& probe)
      : tensors_(std::move(tensors)) {
    const bool bare = !tensors_.count(prefix + probe) && tensors_.count(probe);
    prefix_ = bare ? "" : prefix;
  }
  bool has(const std::string& name) const override { return tensors_.count(prefix_ + name) != 0; }
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape, double, bool prefixed) override {
    const std::string full = (prefixed ? prefix_ : "") + name;
    const auto it = tensors_.find(full);
    if (it == tensors_.end()) throw InternalError("model", "tensor '" + full + "' is not among the model's own");
    if (it->second.sizes() != at::IntArrayRef(shape)) {
      throw InternalError("model", "tensor '" + full + "' is " + base::shape_string(it->second.sizes()) + ", the config implies " +
                                       base::shape_string(shape));
    }
    return it->second;
  }

 private:
  std::map<std::string, torch::Tensor> tensors_;
};

class RandomWeights final : public WeightSource {
 public:
  RandomWeights(uint64_t seed, const std::string& prefix) : gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
    prefix_ = prefix;
  }
  bool has(const std::string&) const override { return true; }
  torch::Tensor get(const std::string&, const std::vector<int64_t>& shape, double init_std, bool) override {
    if (init_std < 0) return torch::ones(shape);
    if (init_std == 0) return torch::zeros(shape);
    return at::normal(0.0, init_std, shape, gen_);
  }

 private:
  at::Generator gen_;
};

}  // namespace

std::unique_ptr<WeightSource> checkpoint_weights(const HfConfig& config, const formats::CheckpointTensors& ckpt,
                                                 const std::string& prefix, const std::string& probe) {
  return std::make_unique<CheckpointWeights>(config, ckpt, prefix, probe);
}

std::unique_ptr<WeightSource> tensor_weights(std::map<std::string, torch::Tensor> tensors, const std::string& prefix,
                                             const std::string& probe) {
  return std::make_unique<TensorWeights>(std::move(tensors), prefix, probe);
}

std::unique_ptr<WeightSource> random_weights(uint64_t seed, const std::string& prefix) {
  return std::make_unique<RandomWeights>(seed, prefix);
}

}  // namespace compressor::model
