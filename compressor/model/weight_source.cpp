#include "compressor/model/weight_source.h"

#include "compressor/model/architecture.h"

namespace compressor::model {

namespace {

class CheckpointWeights final : public WeightSource {
 public:
  CheckpointWeights(const formats::CheckpointTensors& ckpt, const std::string& prefix, const std::string& probe)
      : ckpt_(ckpt) {
    const bool bare = !ckpt.contains(prefix + probe) && ckpt.contains(probe);
    prefix_ = bare ? "" : prefix;
  }
  bool has(const std::string& name) const override { return ckpt_.contains(prefix_ + name); }
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape, double, bool prefixed) override {
    return load_weight(ckpt_, (prefixed ? prefix_ : "") + name, shape);
  }
  torch::Tensor get_transposed(const std::string& name, const std::vector<int64_t>& shape, double) override {
    return load_weight(ckpt_, prefix_ + name, shape, /*transpose=*/true);
  }

 private:
  const formats::CheckpointTensors& ckpt_;
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

std::unique_ptr<WeightSource> checkpoint_weights(const formats::CheckpointTensors& ckpt, const std::string& prefix,
                                                 const std::string& probe) {
  return std::make_unique<CheckpointWeights>(ckpt, prefix, probe);
}

std::unique_ptr<WeightSource> random_weights(uint64_t seed, const std::string& prefix) {
  return std::make_unique<RandomWeights>(seed, prefix);
}

}  // namespace compressor::model
