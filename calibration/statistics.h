// Statistics of the inputs of a block's linears, one set per input group (linears that read the
// same tensor share it), streamed over the calibration rows without storing activations.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "calibration/block_probe.h"
#include "compressor/model/model.h"

namespace compressor::calibration {

// What a data-aware pass needs measured.
struct Requirements {
  bool channel_norms = false;  // Σ x_j² per input channel (Wanda, AWQ)
  bool abs_max = false;        // max |x_j| per input channel (SmoothQuant)
  bool abs_mean = false;       // Σ |x_j| per input channel (AWQ's activation magnitude)
  bool range = false;          // min and max x_j per input channel (static activation scales)
  bool hessian = false;        // Σ x xᵀ per group (SparseGPT, GPTQ)
  bool hessian_fp64 = false;   // accumulate Σ x xᵀ in float64 instead of float32
  // Percentiles of |x| over each group's elements (each in (0, 100]): per batch, exact with linear
  // interpolation between order statistics (numpy's default); over batches, their mean weighted
  // by rows. Exact over the union would need every activation kept.
  std::vector<double> abs_percentiles;
  // Keep this many calibration sequences whole at each block's input (BlockStats::probe), for a
  // pass that runs candidates through the block's segments (AWQ's module objective). 0: none.
  int64_t probe_samples = 0;
  // Keep every sample_stride-th real row of each group's input (GroupStats::row_sample), so a
  // compressed layer's output error can be measured on real inputs. 0: none.
  int64_t sample_stride = 0;

  bool any() const {
    return channel_norms || abs_max || abs_mean || range || hessian || !abs_percentiles.empty() || probe_samples > 0 ||
           sample_stride > 0;
  }
  Requirements& merge(const Requirements& o);
};

// One input group's statistics over `rows` real (non-padding) rows.
struct GroupStats {
  int64_t rows = 0;
  torch::Tensor sum_squares;  // float64 [in]
  torch::Tensor abs_max;      // float32 [in]
  torch::Tensor abs_sum;      // float64 [in]: Σ |x_j|
  torch::Tensor min_value;    // float32 [in]: min x_j
  torch::Tensor max_value;    // float32 [in]: max x_j
  // float32 or float64 [in, in]: the upper triangle (diagonal included) of Σ x xᵀ; below the
  // diagonal stays zero. syrk computes one triangle, half the flops of a GEMM; hessian() mirrors it.
  torch::Tensor xtx_upper;
  torch::Tensor percentile_sum;  // float64 [P]: Σ over batches of rows · percentile, per abs_percentiles
  // float32 [k, in]: the real rows whose index (counted over every batch) is a multiple of
  // Requirements::sample_stride.
  torch::Tensor row_sample;

  // ‖X_j‖₂ per input channel, float32 [in].
  torch::Tensor channel_norms() const;
  // H = 2/n · Σ x xᵀ, in the accumulation dtype [in, in].
  torch::Tensor hessian() const;
  // The diagonal of H, 2/n · Σ x_j², from the channel sums alone (float64 [in]).
  torch::Tensor hessian_diagonal() const;
  // Requirements::abs_percentiles, in that order (float64 [P]).
  torch::Tensor abs_percentiles() const;
  // mean |x_j| per input channel, float32 [in].
  torch::Tensor channel_abs_mean() const;

  // The statistics of the inputs divided by `s` per channel (x_j / s_j): what a fold of s into the
  // producer (SmoothQuant, AWQ) does to them, exactly, so later passes of the same sweep see the
  // inputs they will get. Percentiles of all elements cannot follow a per-channel scale; they are
  // dropped (reading them afterwards is an InternalError).
  void scale_inputs(const torch::Tensor& s);
  // The statistics of input channels `keep` (int64, ascending) only: what removing the others
  // (structured pruning's heads and neurons) leaves. A kept sub-block of the upper triangle is
  // the upper triangle of the kept channels. Percentiles are dropped as scale_inputs drops them.
  void keep_inputs(const torch::Tensor& keep);
};

struct BlockStats {
  int block = 0;
  std::vector<GroupStats> groups;  // parallel to Model::input_groups(block)
  std::map<const model::LinearSlot*, size_t> group_of;
  // Set by the sequential drivers when Requirements::probe_samples > 0.
  std::shared_ptr<const BlockProbe> probe;

  // The statistics of the group `slot` belongs to; InternalError when it belongs to none.
  const GroupStats& of(const model::LinearSlot& slot) const;
  GroupStats& of(const model::LinearSlot& slot);
};

// Adds the rows of `x` ([..., in], real rows only) to `g`.
void accumulate(GroupStats& g, const torch::Tensor& x, const Requirements& req);

}  // namespace compressor::calibration
