// What `compressor calibrate --stats` writes: per input group of every block (the tensor a set of
// linears reads), the numbers that decide how a model will quantize and prune, computed from the
// calibration statistics without storing activations.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "calibration/statistics.h"
#include "compressor/model/model.h"

namespace compressor::calibration {

// What a report needs collected: channel sums of squares, abs-max and the given percentiles.
Requirements report_requirements(const std::vector<double>& percentiles);

// Channels whose largest |x| over the calibration rows is at most this fraction of the group's
// largest channel count as dead: they carry no signal (a pruned producer, a dead neuron), so their
// weights can go and a Hessian over them is singular.
inline constexpr double kDeadChannelFraction = 1e-6;

// One JSON object per input group, in block order:
//   {block, group, linears, rows, channels,
//    abs_max, abs_max_channel, abs_percentiles {"99": v, ...},
//    channel_abs_max {min, median, max}, outlier_ratio (max / median channel abs-max),
//    channel_rms {min, median, max},
//    hessian {trace, diag_min, diag_max}      (H = 2/n·XᵀX; its diagonal is 2/n·Σx_j²),
//    dead_channels, dead_channel_indices (the first 64)}
nlohmann::json activation_report(const model::Model& model, const std::vector<BlockStats>& blocks,
                                 const std::vector<double>& percentiles);

}  // namespace compressor::calibration
