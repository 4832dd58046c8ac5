// The sequential driver: compress a model one block at a time on calibration data, the way GPTQ,
// SparseGPT and llm-compressor's sequential pipeline do, so memory is one block's working set plus
// the cached block inputs, never the whole model's activations.
//
//   embed every sample once            -> cached inputs of block 0 ([N, T, hidden] float32)
//   for block i:
//     capture   cached inputs -> block i with observers on -> BlockStats (outputs dropped)
//     compress  the callback edits block i's weights from those statistics
//     propagate cached inputs -> compressed block i, observers off -> inputs of block i+1
//
// With `sequential` false the statistics of every block come from the dense model instead (what
// the Wanda paper does): capture and propagate are one forward of the dense block i, then block i
// is compressed; its compressed outputs are never used. One forward per block instead of two.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <torch/torch.h>

#include "calibration/statistics.h"
#include "compressor/model/model.h"

namespace compressor::calibration {

struct SequentialOptions {
  bool sequential = true;
  int64_t batch_size = 8;  // samples per forward
  // True-sequential sweep: a group input wider than the hidden state (SwiGLU's or GELU's output)
  // is held for every sample when it takes at most this many bytes, so the block's output needs
  // only its last linear; larger, it is made again (see run_sequential_per_group).
  int64_t wide_input_cache_bytes = int64_t{1} << 30;
  std::string label = "calibrate";
  std::function<void(const std::string&, int64_t, int64_t)> progress;  // (label, done, total)
};

// `stats` may be edited: a pass that folds a scale into a group updates its statistics (GroupStats::scale_inputs)
// for the passes after it in the same sweep.
using CompressBlockFn = std::function<void(model::BlockView& block, BlockStats& stats)>;

// `samples` int64 [N, T]; `mask` [N, T] (nonzero = real token) or undefined. Statistics skip padded
// rows. NaN or Inf in a block's inputs or statistics is an Error naming the block and group.
// Returns the bytes of the cached block inputs (for reports).
int64_t run_sequential(model::Model& model, const torch::Tensor& samples, const torch::Tensor& mask,
                       const Requirements& req, const SequentialOptions& options, const CompressBlockFn& compress);

// The true-sequential driver (GPTQ's `--true-sequential`, GPTQModel's default): within each block,
// the input groups are captured and compressed in order, each group's statistics taken with the
// groups before it already compressed, through Model::run_segment:
//
//   for block i, for group g: cached state -> segment g -> group g's input (statistics of group g only)
//                             compress group g (the callback gets g)
//   cached state -> last segment -> inputs of block i+1
//
// One forward per block instead of capture + propagate, and what each linear is calibrated on is
// what it reads in the compressed model. Holds, besides the cached block inputs, a group input and
// the residual stream per sample. A group input wider than the hidden state is held only when all
// samples' take at most options.wide_input_cache_bytes; otherwise the segment that makes it runs
// again for the block's output (the MLP's first linears twice: a quarter of SmolLM2's forward).
using CompressGroupFn = std::function<void(model::BlockView& block, BlockStats& stats, size_t group)>;
int64_t run_sequential_per_group(model::Model& model, const torch::Tensor& samples, const torch::Tensor& mask,
                                 const Requirements& req, const SequentialOptions& options,
                                 const CompressGroupFn& compress);

// Every block's statistics from the dense model in one forward per batch (no compression): what
// run_sequential with sequential=false sees, and the reference the tests compare it with.
std::vector<BlockStats> collect_dense_stats(model::Model& model, const torch::Tensor& samples,
                                            const torch::Tensor& mask, const Requirements& req,
                                            int64_t batch_size = 8);

}  // namespace compressor::calibration
