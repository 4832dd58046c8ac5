#include "compressor/pipeline/loss_sources.h"

#include "compressor/base/error.h"
#include "compressor/eval/embedding.h"
#include "compressor/eval/probe.h"

namespace compressor::pipeline {

namespace {

class CausalLmLoss final : public calibration::LossSource {
 public:
  CausalLmLoss(const calibration::CalibrationSet& samples, std::string source)
      : ids_(samples.ids), mask_(samples.mask), source_(std::move(source)) {}
  int64_t size() const override { return ids_.size(0); }
  std::string describe() const override {
    return "next-token loss on " + std::to_string(size()) + " calibration samples of " + source_;
  }
  torch::Tensor loss(const model::Model& model, int64_t i) const override {
    model::Batch batch{ids_.narrow(0, i, 1), mask_.defined() ? mask_.narrow(0, i, 1) : torch::Tensor(), {}};
    const int64_t T = ids_.size(1);
    auto logits = model.forward(batch)[0].narrow(0, 0, T - 1);  // [T - 1, vocab]: predictions of tokens 1..T-1
    auto targets = ids_[i].narrow(0, 1, T - 1).clone();
    if (mask_.defined()) targets.masked_fill_(mask_[i].narrow(0, 1, T - 1).eq(0), -100);  // padding predicts nothing
    return torch::nn::functional::cross_entropy(
        logits.to(torch::kFloat32), targets, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  }

 private:
  torch::Tensor ids_, mask_;
  std::string source_;
};

class ProbeLoss final : public calibration::LossSource {
 public:
  ProbeLoss(model::Model& encoder, std::vector<torch::Tensor> ids, torch::Tensor y, int64_t classes, std::string source)
      : ids_(std::move(ids)), y_(std::move(y)), source_(std::move(source)) {
    std::vector<torch::Tensor> rows;
    rows.reserve(ids_.size());
    for (const auto& t : ids_) rows.push_back(eval::sentence_embedding(encoder, t));
    probe_.fit(torch::stack(rows), y_, classes);
  }
  int64_t size() const override { return static_cast<int64_t>(ids_.size()); }
  std::string describe() const override {
    return "probe loss on " + std::to_string(size()) + " labelled rows of " + source_;
  }
  torch::Tensor loss(const model::Model& model, int64_t i) const override {
    auto e = eval::sentence_embedding_with_grad(model, ids_.at(static_cast<size_t>(i)));
    return torch::nn::functional::cross_entropy(probe_.logits(e.unsqueeze(0)), y_.narrow(0, i, 1));
  }

 private:
  std::vector<torch::Tensor> ids_;
  torch::Tensor y_;
  std::string source_;
  eval::LinearProbe probe_;
};

}  // namespace

std::unique_ptr<calibration::LossSource> causal_lm_loss(const calibration::CalibrationSet& samples, std::string source) {
  if (samples.ids.size(1) < 2) throw BadInput(source, "a next-token loss needs samples of at least 2 tokens");
  return std::make_unique<CausalLmLoss>(samples, std::move(source));
}

std::unique_ptr<calibration::LossSource> probe_loss(model::Model& encoder, std::vector<torch::Tensor> ids,
                                                    torch::Tensor y, int64_t classes, std::string source) {
  return std::make_unique<ProbeLoss>(encoder, std::move(ids), std::move(y), classes, std::move(source));
}

}  // namespace compressor::pipeline
