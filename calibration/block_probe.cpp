#include "calibration/block_probe.h"

namespace compressor::calibration {

BlockProbe::BlockProbe(const model::Model& model, int block, std::vector<ProbeBatch> batches)
    : model_(model), block_(block), batches_(std::move(batches)) {}

std::vector<BlockProbe::GroupInput> BlockProbe::group_inputs(size_t g) const {
  torch::NoGradGuard no_grad;
  std::vector<GroupInput> out;
  out.reserve(batches_.size());
  for (const auto& b : batches_) {
    GroupInput in;
    in.x = b.hidden;
    for (size_t s = 0; s <= g; ++s) in.x = model_.run_segment(block_, s, b.hidden, in.x, in.carry, b.inputs);
    out.push_back(std::move(in));
  }
  return out;
}

torch::Tensor BlockProbe::run_segment(size_t b, size_t segment, const torch::Tensor& previous,
                                      model::SegmentCarry carry) const {
  torch::NoGradGuard no_grad;
  const auto& batch = batches_.at(b);
  return model_.run_segment(block_, segment, batch.hidden, previous, carry, batch.inputs);
}

int64_t BlockProbe::real_rows() const {
  int64_t n = 0;
  for (const auto& b : batches_) n += b.rows.defined() ? b.rows.sum().item<int64_t>() : b.hidden.size(0) * b.hidden.size(1);
  return n;
}

}  // namespace compressor::calibration
