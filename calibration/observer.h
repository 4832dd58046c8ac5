// An observer scope: while it lives, the inputs of one block's linears are streamed into that
// block's statistics (one set per input group, from the group's first linear, padding rows
// excluded). RAII: the model's hook is removed when the scope ends, even by an exception.
#pragma once

#include <torch/torch.h>

#include "calibration/statistics.h"
#include "compressor/model/model.h"

namespace compressor::calibration {

class ObserverScope {
 public:
  // `hook`: observe every linear's input as the block runs; without it, only what observe_group is given.
  ObserverScope(model::Model& model, int block, Requirements req, bool hook = true);
  ~ObserverScope();
  ObserverScope(const ObserverScope&) = delete;
  ObserverScope& operator=(const ObserverScope&) = delete;

  // The real rows (bool [B, T]) of the batch about to run; undefined = every row.
  void set_rows(const torch::Tensor& real_rows);
  // Streams `x` ([..., in]) into group g's statistics, as the group's leader would see it.
  void observe_group(size_t g, const torch::Tensor& x);
  // The statistics so far (the scope keeps observing into an empty set).
  BlockStats take();

 private:
  void observe(const model::LinearSlot& slot, const torch::Tensor& x);
  model::Model& model_;
  bool hooked_;
  Requirements req_;
  BlockStats stats_;
  std::map<const model::LinearSlot*, size_t> leader_of_;  // group leaders only
  torch::Tensor row_index_;                               // flattened indices of real rows
};

}  // namespace compressor::calibration
