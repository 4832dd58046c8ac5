// Distillation losses (Hinton et al. 2015; TinyBERT's hidden-state loss; MiniLM's attention
// loss). Every loss averages over the positions `mask` keeps (a tensor of the logits' leading
// shape, nonzero = scored; undefined = every position), so padded positions never count, and
// each is a differentiable scalar in the student's graph: the teacher's tensors are detached.
//
// Shapes and options are checked here (InternalError: the pipeline validates recipes before
// anything trains, with the recipe location; reaching these checks is a bug of ours).
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace compressor::distill {

// T² · KL(softmax(teacher/T) ‖ softmax(student/T)), summed over the vocabulary and averaged over
// the kept positions. The T² keeps the soft targets' gradient scale independent of T (Hinton §2).
torch::Tensor soft_target_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                               double temperature, const torch::Tensor& mask = {});

// The teacher's k largest logits per position and their vocabulary ids ([..., k] each), what a
// teacher-logit cache keeps instead of the whole vocabulary.
struct TopLogits {
  torch::Tensor values;   // float
  torch::Tensor indices;  // int64
};
TopLogits top_logits(const torch::Tensor& logits, int64_t k);

// soft_target_loss against a teacher known by its top k logits only: the teacher distribution is
// softmax(values/T) renormalised over those k ids, the student's log-probabilities are its full
// log_softmax(student/T) read at them, so T² · Σ_k p_t (log p_t − log p_s). With k = the vocabulary
// it is soft_target_loss exactly; with fewer ids it drops the teacher's tail (the sparse KD of
// cached-logit distillation).
torch::Tensor sparse_soft_target_loss(const torch::Tensor& student_logits, const TopLogits& teacher, double temperature,
                                      const torch::Tensor& mask = {});

// Cross-entropy of the labels (int64, the logits' leading shape) under the student's logits.
torch::Tensor hard_label_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& mask = {});

struct MixedLoss {
  torch::Tensor total;  // alpha · ce + (1 − alpha) · kd
  torch::Tensor ce;     // hard_label_loss
  torch::Tensor kd;     // soft_target_loss (already scaled by T²)
};
// alpha in [0, 1]: 1 trains on the labels alone, 0 on the teacher alone.
MixedLoss mixed_distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                  const torch::Tensor& labels, double alpha, double temperature,
                                  const torch::Tensor& mask = {});

// Mean squared error between hidden states [..., width], averaged over the kept positions and the
// width. Both must have the same width: a narrower student goes through a HiddenProjection first.
torch::Tensor hidden_state_loss(const torch::Tensor& student_hidden, const torch::Tensor& teacher_hidden,
                                const torch::Tensor& mask = {});

// A learned map from the student's hidden width to the teacher's (TinyBERT's W_h), trained with
// the student. Identity, and without parameters, when the widths agree.
class HiddenProjection {
 public:
  // Initialised N(0, 1/student_width) from `seed`, so runs with one seed start alike.
  HiddenProjection(int64_t student_width, int64_t teacher_width, uint64_t seed);
  torch::Tensor operator()(const torch::Tensor& student_hidden) const;
  // Empty when the widths agree; else the one [teacher_width, student_width] matrix to optimise.
  std::vector<torch::Tensor> parameters() const;

 private:
  int64_t student_width_, teacher_width_;
  torch::Tensor weight_;
};

// KL(teacher ‖ student) between attention distributions [batch, heads, queries, keys] (each row a
// probability distribution over the keys), summed over the keys and averaged over heads and the
// kept query positions (mask [batch, queries]), as MiniLM's self-attention distribution loss.
// A student probability below `floor` is taken as `floor`, so a key the student masks out but the
// teacher attends to costs a large finite amount instead of infinity.
torch::Tensor attention_map_loss(const torch::Tensor& student_probs, const torch::Tensor& teacher_probs,
                                 const torch::Tensor& mask = {}, double floor = 1e-12);

}  // namespace compressor::distill
