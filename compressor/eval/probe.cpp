#include "compressor/eval/probe.h"

#include <algorithm>

#include "compressor/base/error.h"
#include "compressor/base/atomic_file.h"

namespace compressor::eval {

LabelledText read_labelled_tsv(const std::filesystem::path& path, const std::vector<std::string>& known) {
  const std::string content = base::read_text_file(path, "labelled text");
  LabelledText out;
  out.labels = known;
  size_t pos = 0;
  int line_no = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    const std::string line = content.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    const std::string where = path.string() + ":" + std::to_string(line_no);
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) {
      throw BadInput(where, "expected 'label<TAB>text'");
    }
    const std::string label = line.substr(0, tab);
    auto it = std::find(out.labels.begin(), out.labels.end(), label);
    if (it == out.labels.end()) {
      if (!known.empty()) throw BadInput(where, "label '" + label + "' does not occur in the training data");
      out.labels.push_back(label);
      it = out.labels.end() - 1;
    }
    out.y.push_back(it - out.labels.begin());
    out.text.push_back(line.substr(tab + 1));
  }
  if (out.y.empty()) throw BadInput(path.string(), "no labelled lines");
  return out;
}

torch::Tensor LinearProbe::logits(const torch::Tensor& X) const {
  return torch::addmm(b_, X.to(torch::kFloat64), W_);
}

torch::Tensor LinearProbe::objective(const torch::Tensor& X, const torch::Tensor& y) const {
  return torch::cross_entropy_loss(logits(X), y) + 0.5 * l2_ * W_.pow(2).sum();
}

void LinearProbe::fit(const torch::Tensor& X, const torch::Tensor& y, int64_t classes, double l2, int max_iter) {
  if (X.dim() != 2 || y.dim() != 1 || X.size(0) != y.size(0)) throw InternalError("probe", "X [N, D] and y [N] expected");
  l2_ = l2;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  W_ = torch::zeros({X.size(1), classes}, opts).requires_grad_(true);
  b_ = torch::zeros({classes}, opts).requires_grad_(true);
  const auto X64 = X.to(torch::kFloat64).detach();
  torch::optim::LBFGS opt({W_, b_}, torch::optim::LBFGSOptions(1.0)
                                        .max_iter(max_iter)
                                        .tolerance_grad(1e-10)
                                        .tolerance_change(1e-14)
                                        .line_search_fn("strong_wolfe"));
  opt.step([&] {
    opt.zero_grad();
    auto loss = objective(X64, y);
    loss.backward();
    return loss;
  });
  W_ = W_.detach();
  b_ = b_.detach();
}

torch::Tensor LinearProbe::gradient_norm(const torch::Tensor& X, const torch::Tensor& y) const {
  auto W = W_.clone().requires_grad_(true), b = b_.clone().requires_grad_(true);
  auto loss = torch::cross_entropy_loss(torch::addmm(b, X.to(torch::kFloat64), W), y) + 0.5 * l2_ * W.pow(2).sum();
  auto grads = torch::autograd::grad({loss}, {W, b});
  return torch::cat({grads[0].reshape({-1}), grads[1]}).norm();
}

double accuracy(const torch::Tensor& predicted, const torch::Tensor& y) {
  return predicted.eq(y).to(torch::kFloat64).mean().item<double>();
}

}  // namespace compressor::eval
