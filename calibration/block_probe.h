// A few calibration sequences kept whole at one block's input, so that a pass can measure what a
// candidate change of a group's weights does to the output of the module around it (AWQ's
// objective in the authors' code and llm-compressor: the attention output for q/k/v, the MLP
// output for gate/up) by running the block's segments (Model::run_segment) on them. The
// statistics in BlockStats cannot answer that: the softmax and SwiGLU between a group and its
// module's output are not quadratic in the weights.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::calibration {

struct ProbeBatch {
  torch::Tensor hidden;       // [b, T, hidden]: the block's input (a view of the driver's cache where that
                              // holds it until the block is compressed, else a copy)
  model::BlockInputs inputs;  // mask and rotary tables of these sequences
  torch::Tensor rows;         // bool [b, T] real rows, undefined without padding
};

class BlockProbe {
 public:
  BlockProbe(const model::Model& model, int block, std::vector<ProbeBatch> batches);

  // Per batch, the input of group `g` under the block's current weights, and what the segments
  // after it read from the earlier ones.
  struct GroupInput {
    torch::Tensor x;
    model::SegmentCarry carry;
  };
  std::vector<GroupInput> group_inputs(size_t g) const;
  // Segment `segment` of the block on batch `b`, from `previous` (a copy of `carry` is passed, so
  // the caller's stays as it was for the next candidate).
  torch::Tensor run_segment(size_t b, size_t segment, const torch::Tensor& previous, model::SegmentCarry carry) const;

  const std::vector<ProbeBatch>& batches() const { return batches_; }
  int block() const { return block_; }
  // Σ over batches of the real rows (tokens).
  int64_t real_rows() const;

 private:
  const model::Model& model_;
  int block_;
  std::vector<ProbeBatch> batches_;
};

}  // namespace compressor::calibration
