// Linear probe: how much of a labelled task frozen features (sentence embeddings) linearly
// separate. Multinomial logistic regression with L2 on the weights, fitted by full-batch L-BFGS
// in float64, so the fit is deterministic and reaches the optimum (the gradient vanishes there;
// the tests check that condition rather than a particular number).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace compressor::eval {

struct LabelledText {
  std::vector<std::string> labels;  // class names, in order of first appearance in the train file
  std::vector<int64_t> y;           // class index per row
  std::vector<std::string> text;
};

// "label<TAB>text" per line. Malformed lines are BadInput naming the file and line. Labels not in
// `known` (when non-empty) are BadInput too, so a test file cannot invent a class.
LabelledText read_labelled_tsv(const std::filesystem::path& path, const std::vector<std::string>& known = {});

class LinearProbe {
 public:
  // X [N, D] (any float dtype), y [N] int64 in [0, classes).
  void fit(const torch::Tensor& X, const torch::Tensor& y, int64_t classes, double l2 = 1e-3, int max_iter = 500);
  torch::Tensor logits(const torch::Tensor& X) const;  // [N, classes], float64
  torch::Tensor predict(const torch::Tensor& X) const { return logits(X).argmax(1); }
  // Gradient of the objective at the fitted weights (for the optimality check in tests).
  torch::Tensor gradient_norm(const torch::Tensor& X, const torch::Tensor& y) const;

 private:
  torch::Tensor objective(const torch::Tensor& X, const torch::Tensor& y) const;
  torch::Tensor W_, b_;  // [D, classes], [classes], float64
  double l2_ = 0;
};

double accuracy(const torch::Tensor& predicted, const torch::Tensor& y);

}  // namespace compressor::eval
