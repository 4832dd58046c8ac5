#include "distill/losses.h"

#include <cmath>
#include <string>

#include "compressor/base/error.h"
#include "compressor/base/shape.h"

namespace compressor::distill {

namespace {

void require(bool ok, const std::string& what, const std::string& detail) {
  if (!ok) throw InternalError(what, detail);
}

std::string shape_of(const torch::Tensor& t) { return base::shape_string(t.sizes()); }

// Mean of the per-position values `v` over the positions `mask` keeps.
torch::Tensor masked_mean(const torch::Tensor& v, const torch::Tensor& mask, const char* what) {
  if (!mask.defined()) return v.mean();
  require(mask.sizes() == v.sizes(), what, "mask " + shape_of(mask) + " does not match the positions " + shape_of(v));
  const auto keep = (mask != 0).to(v.scalar_type());
  const double kept = keep.sum().item<double>();
  require(kept > 0, what, "the mask keeps no position");
  return (v * keep).sum() / kept;
}

}  // namespace

torch::Tensor soft_target_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                               double temperature, const torch::Tensor& mask) {
  require(temperature > 0 && std::isfinite(temperature), "soft_target_loss", "temperature must be > 0");
  require(student_logits.sizes() == teacher_logits.sizes(), "soft_target_loss",
          "student logits " + shape_of(student_logits) + " and teacher logits " + shape_of(teacher_logits) +
              " differ (a different vocabulary?)");
  const auto log_s = torch::log_softmax(student_logits.to(torch::kFloat) / temperature, -1);
  const auto log_t = torch::log_softmax(teacher_logits.detach().to(torch::kFloat) / temperature, -1);
  const auto kl = (log_t.exp() * (log_t - log_s)).sum(-1);
  return masked_mean(kl, mask, "soft_target_loss") * (temperature * temperature);
}

TopLogits top_logits(const torch::Tensor& logits, int64_t k) {
  require(k >= 1 && k <= logits.size(-1), "top_logits", "k = " + std::to_string(k) + " outside the vocabulary");
  auto [values, indices] = logits.detach().to(torch::kFloat).topk(k, -1);
  return {values, indices};
}

torch::Tensor sparse_soft_target_loss(const torch::Tensor& student_logits, const TopLogits& teacher, double temperature,
                                      const torch::Tensor& mask) {
  require(temperature > 0 && std::isfinite(temperature), "sparse_soft_target_loss", "temperature must be > 0");
  require(teacher.values.sizes() == teacher.indices.sizes() &&
              teacher.values.sizes().slice(0, teacher.values.dim() - 1) ==
                  student_logits.sizes().slice(0, student_logits.dim() - 1),
          "sparse_soft_target_loss",
          "teacher top-k " + shape_of(teacher.values) + " does not match the student logits " + shape_of(student_logits));
  const auto log_s = torch::log_softmax(student_logits.to(torch::kFloat) / temperature, -1).gather(-1, teacher.indices);
  const auto log_t = torch::log_softmax(teacher.values.detach().to(torch::kFloat) / temperature, -1);
  const auto kl = (log_t.exp() * (log_t - log_s)).sum(-1);
  return masked_mean(kl, mask, "sparse_soft_target_loss") * (temperature * temperature);
}

torch::Tensor hard_label_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& mask) {
  require(labels.dim() + 1 == logits.dim() && labels.sizes() == logits.sizes().slice(0, labels.dim()), "hard_label_loss",
          "labels " + shape_of(labels) + " do not match logits " + shape_of(logits));
  const auto log_p = torch::log_softmax(logits.to(torch::kFloat), -1);
  const auto nll = -log_p.gather(-1, labels.unsqueeze(-1)).squeeze(-1);
  return masked_mean(nll, mask, "hard_label_loss");
}

MixedLoss mixed_distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                  const torch::Tensor& labels, double alpha, double temperature,
                                  const torch::Tensor& mask) {
  require(alpha >= 0 && alpha <= 1, "mixed_distillation_loss", "alpha must lie in [0, 1]");
  MixedLoss l;
  l.ce = hard_label_loss(student_logits, labels, mask);
  l.kd = soft_target_loss(student_logits, teacher_logits, temperature, mask);
  l.total = alpha * l.ce + (1 - alpha) * l.kd;
  return l;
}

torch::Tensor hidden_state_loss(const torch::Tensor& student_hidden, const torch::Tensor& teacher_hidden,
                                const torch::Tensor& mask) {
  require(student_hidden.sizes() == teacher_hidden.sizes(), "hidden_state_loss",
          "student " + shape_of(student_hidden) + " and teacher " + shape_of(teacher_hidden) +
              " hidden states differ (project the student's first)");
  const auto d = student_hidden.to(torch::kFloat) - teacher_hidden.detach().to(torch::kFloat);
  return masked_mean(d.pow(2).mean(-1), mask, "hidden_state_loss");
}

HiddenProjection::HiddenProjection(int64_t student_width, int64_t teacher_width, uint64_t seed)
    : student_width_(student_width), teacher_width_(teacher_width) {
  require(student_width > 0 && teacher_width > 0, "HiddenProjection", "widths must be positive");
  if (student_width == teacher_width) return;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  weight_ = (torch::randn({teacher_width, student_width}, gen, torch::kFloat) /
             std::sqrt(static_cast<double>(student_width)))
                .set_requires_grad(true);
}

torch::Tensor HiddenProjection::operator()(const torch::Tensor& student_hidden) const {
  require(student_hidden.size(-1) == student_width_, "HiddenProjection",
          "hidden states of width " + std::to_string(student_hidden.size(-1)) + ", expected " +
              std::to_string(student_width_));
  if (!weight_.defined()) return student_hidden;
  return torch::matmul(student_hidden.to(torch::kFloat), weight_.t());
}

std::vector<torch::Tensor> HiddenProjection::parameters() const {
  if (!weight_.defined()) return {};
  return {weight_};
}

torch::Tensor attention_map_loss(const torch::Tensor& student_probs, const torch::Tensor& teacher_probs,
                                 const torch::Tensor& mask, double floor) {
  require(student_probs.dim() == 4 && student_probs.sizes() == teacher_probs.sizes(), "attention_map_loss",
          "attention maps must both be [batch, heads, queries, keys]; student " + shape_of(student_probs) +
              ", teacher " + shape_of(teacher_probs));
  require(floor > 0, "attention_map_loss", "floor must be > 0");
  const auto t = teacher_probs.detach().to(torch::kFloat);
  const auto log_s = student_probs.to(torch::kFloat).clamp_min(floor).log();
  // xlogy: a key the teacher gives probability 0 contributes 0, not 0·log 0 = NaN.
  const auto kl = (torch::xlogy(t, t) - t * log_s).sum(-1).mean(1);  // [batch, queries]
  return masked_mean(kl, mask, "attention_map_loss");
}

}  // namespace compressor::distill
