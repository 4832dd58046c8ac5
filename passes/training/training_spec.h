// What a training pass asks the pipeline to run (Pass::training()). The passes sit beside the
// trainer (distill/), not above it, so a pass cannot call it: it describes the run, and the
// pipeline runs distill::Trainer with the teacher, the data and the checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace compressor::passes {

struct TrainingSpec {
  // Optimisation (distill::TrainerOptions).
  int64_t steps = 100;
  int64_t batch = 8;
  int64_t grad_accum = 1;
  int64_t seq_len = 256;
  double lr = 1e-4;
  int64_t warmup_steps = 0;
  std::string schedule = "cosine";
  double min_lr_ratio = 0.0;
  double weight_decay = 0.0;
  double grad_clip = 1.0;
  int64_t eval_every = 0;
  int64_t checkpoint_every = 0;
  int64_t early_stop_patience = 0;

  // The loss: alpha · CE(labels) + (1 − alpha) · T² · KL(teacher ‖ student), plus hidden_weight ·
  // the mean over blocks of the MSE between each block's output in student and teacher.
  double alpha = 0.5;
  double temperature = 2.0;
  double hidden_weight = 0.0;
  // Weight of MiniLM's attention loss: KL(teacher ‖ student) between the last block's attention
  // distributions, averaged over heads and positions (both need the same head count).
  double attention_weight = 0.0;

  // The teacher: a checkpoint directory (relative to the recipe); empty: the model as loaded, before
  // any stage changed it. Its vocabulary and tokenizer must be the student's.
  std::string teacher;
  // The student: the session's model as it is, or (student_layers / student_every) only some of its
  // blocks, initialised from them (DistilBERT), and with student_init "random" a fresh model of that
  // depth (the from-scratch baseline). Later stages work on the student.
  std::vector<std::string> student_layers;  // block indices as the recipe wrote them
  int64_t student_every = 0;                // every k-th block from block 0; 0: off
  std::string student_init = "teacher";     // "teacher" | "random"
  // Teacher logits: 0 runs the teacher every step; k > 0 computes its top k logits per position
  // once for every training window and keeps them on disk (the KD term is then over those k ids).
  int64_t teacher_top_k = 0;
  // Positions whose logits are made at once (0: the whole micro-batch): bounds the memory of the
  // vocabulary-sized tensors; the loss and its gradient stay the whole micro-batch's.
  int64_t logit_chunk = 0;
  // Activation checkpointing (distill/checkpoint.h): the student's blocks keep only their inputs
  // for the backward pass and run again there; memory for one more forward per block.
  bool gradient_checkpointing = false;

  // Training text (a path as the recipe wrote it, resolved against the recipe's directory; empty:
  // the calibration source) and the windows at its end held out for validation.
  std::string dataset;
  int64_t validation_windows = 16;
};

// A `qat` pass: the linears it selects (quantized by an earlier stage) train through fake
// quantization inside the stage's training pass, and freeze back into codes at its end.
struct QatSpec {
  bool learn_scales = false;  // LSQ: the scales train too
};

// A `gmp` pass: the linears it selects are pruned gradually, by magnitude, on a cubic schedule
// inside the stage's training pass (distill/gmp.h).
struct GmpSpec {
  double init_sparsity = 0.0;
  double final_sparsity = 0.5;
  int64_t start_step = 0;
  int64_t end_step = -1;  // -1: the training pass's last step
  int64_t update_every = 10;
};

}  // namespace compressor::passes
