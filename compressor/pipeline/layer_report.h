// What each pass did to each layer, for the artifact's manifest ("layers"): the fraction of zero
// weights after the pass and, for a calibrated pass, the layer's relative output error on the
// inputs it was calibrated on,
//
//   reconstruction_error = ‖W X − Ŵ X'‖² / ‖W X‖²
//
// W and X the weight and inputs before the pass, Ŵ and X' after it (a fold such as AWQ's or
// SmoothQuant's changes both; their product is what the layer computes). X is the row sample of
// the calibration statistics (Requirements::sample_stride): every k-th real row, about
// kErrorRows of them, so every method is measured on the same rows at a small fraction of a
// forward's cost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "calibration/statistics.h"
#include "compressor/model/model.h"

namespace compressor::pipeline {

// About this many calibration rows per input group measure the error.
inline constexpr int64_t kErrorRows = 1024;

// The sample stride that leaves about kErrorRows of `real_rows` (at least 1).
int64_t error_sample_stride(int64_t real_rows);

struct LayerRecord {
  std::string stage, pass, slot;
  double sparsity = 0;
  std::optional<double> reconstruction_error;  // calibrated passes only
  int64_t error_rows = 0;                      // rows it was measured on
};

// The slots a data-aware pass is about to compress, their weights and sampled inputs as they are
// now (one block's weights at most); record() compares them with the result.
class LayerSnapshot {
 public:
  LayerSnapshot(const std::vector<model::LinearSlot*>& slots, const calibration::BlockStats& stats);
  // One record per slot, appended to `out`.
  void record(const std::string& stage, const std::string& pass, const calibration::BlockStats& stats,
              std::vector<LayerRecord>& out) const;

 private:
  struct Entry {
    model::LinearSlot* slot;
    torch::Tensor weight;  // before the pass
    torch::Tensor inputs;  // the slot's group's row sample before the pass (undefined: none)
  };
  std::vector<Entry> entries_;
};

// A data-free pass: the sparsity of each slot after it, no error.
void record_sparsity(const std::string& stage, const std::string& pass, const std::vector<model::LinearSlot*>& slots,
                     std::vector<LayerRecord>& out);

// {"slot": [{"stage", "pass", "sparsity", "reconstruction_error", "error_rows"}, ...], ...} in
// the order the passes ran.
nlohmann::json layers_json(const std::vector<LayerRecord>& records);

}  // namespace compressor::pipeline
