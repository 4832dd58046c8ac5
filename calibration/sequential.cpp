#include "calibration/sequential.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "calibration/observer.h"
#include "compressor/base/error.h"

namespace compressor::calibration {

namespace {

// glibc keeps the freed blocks of a block's working set (its mmap threshold grows to the largest
// freed tensor, so later tensors come from the heap, which is trimmed only at its top). Given back
// between blocks, they do not pile up across the sweep (bench_calibration --mode sequential).
void release_freed_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

struct CachedBatch {
  torch::Tensor hidden;        // [b, T, hidden]: the current block's inputs
  model::BlockInputs inputs;   // mask, rotary tables: the same for every block
  torch::Tensor rows;          // bool [b, T] real rows, undefined without padding
};

std::vector<CachedBatch> embed_all(const model::Model& model, const torch::Tensor& samples, const torch::Tensor& mask,
                                   int64_t batch_size) {
  if (samples.dim() != 2) throw InternalError("calibration", "samples must be [N, T]");
  std::vector<CachedBatch> cache;
  const int64_t n = samples.size(0), b = std::max<int64_t>(batch_size, 1);
  for (int64_t i = 0; i < n; i += b) {
    const int64_t e = std::min(n, i + b);
    model::Batch batch{samples.slice(0, i, e), mask.defined() ? mask.slice(0, i, e) : torch::Tensor(), {}};
    CachedBatch c;
    c.hidden = model.embed(batch, &c.inputs);
    c.rows = c.inputs.key_mask;
    cache.push_back(std::move(c));
  }
  return cache;
}

void check_finite(const BlockStats& stats, const model::Model& model) {
  const auto& groups = model.input_groups(stats.block);
  for (size_t g = 0; g < stats.groups.size(); ++g) {
    const auto& s = stats.groups[g];
    for (const auto* t : {&s.sum_squares, &s.abs_max, &s.abs_sum, &s.min_value, &s.max_value, &s.xtx_upper}) {
      if (t->defined() && !torch::isfinite(*t).all().item<bool>()) {
        throw BadInput("calibration", "block " + std::to_string(stats.block) + " input group '" + groups[g].name +
                                          "' (" + model.slots()[groups[g].slots.front()].name +
                                          "): NaN or Inf in the calibration activations");
      }
    }
  }
}

}  // namespace

int64_t run_sequential(model::Model& model, const torch::Tensor& samples, const torch::Tensor& mask,
                       const Requirements& req, const SequentialOptions& options, const CompressBlockFn& compress) {
  torch::NoGradGuard no_grad;
  auto cache = embed_all(model, samples, mask, options.batch_size);
  int64_t cached_bytes = 0;
  for (const auto& c : cache) cached_bytes += c.hidden.numel() * static_cast<int64_t>(c.hidden.element_size());
  spdlog::info("{}: {} samples x {} tokens, block inputs cached in {:.1f} MiB ({} mode)", options.label,
               samples.size(0), samples.size(1), static_cast<double>(cached_bytes) / (1 << 20),
               options.sequential ? "sequential" : "one-pass");
  const int blocks = model.num_blocks();
  const int64_t steps = static_cast<int64_t>(blocks) * static_cast<int64_t>(cache.size());
  int64_t done = 0;
  for (int i = 0; i < blocks; ++i) {
    BlockStats stats;
    {
      ObserverScope scope(model, i, req);
      for (auto& c : cache) {
        scope.set_rows(c.rows);
        auto out = model.run_block(i, c.hidden, c.inputs);
        if (!options.sequential) c.hidden.copy_(out);  // dense outputs feed block i+1
        if (options.progress) options.progress(options.label, ++done, steps);
      }
      stats = scope.take();
    }
    check_finite(stats, model);
    auto view = model.block(i);
    compress(view, stats);
    if (options.sequential && i + 1 < blocks) {
      // Written into the cached tensors, which therefore never move: reallocating them between
      // the block's transients is what fragments the heap (bench_calibration --mode sequential).
      for (auto& c : cache) c.hidden.copy_(model.run_block(i, c.hidden, c.inputs));
    }
    release_freed_memory();
  }
  return cached_bytes;
}

std::vector<BlockStats> collect_dense_stats(model::Model& model, const torch::Tensor& samples, const torch::Tensor& mask,
                                            const Requirements& req, int64_t batch_size) {
  std::vector<BlockStats> out;
  SequentialOptions o;
  o.sequential = false;
  o.batch_size = batch_size;
  run_sequential(model, samples, mask, req, o, [&](model::BlockView&, const BlockStats& s) { out.push_back(s); });
  return out;
}

}  // namespace compressor::calibration
