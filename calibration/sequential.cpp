#include "calibration/sequential.h"

#include <spdlog/spdlog.h>

#include <chrono>
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

// The first `n` cached sequences at the current block's input, for the passes that run candidates
// through the block (BlockProbe). Views of the cache where it holds the block's input until the
// block is compressed (`copy` false: sequential and true-sequential sweeps, which overwrite it only
// when propagating); copies where the capture pass overwrites it first (one-pass mode).
std::shared_ptr<const BlockProbe> make_probe(const model::Model& model, int block, const std::vector<CachedBatch>& cache,
                                             int64_t n, bool copy) {
  if (n <= 0) return nullptr;
  std::vector<ProbeBatch> batches;
  for (const auto& c : cache) {
    if (n <= 0) break;
    const int64_t take = std::min(n, c.hidden.size(0));
    ProbeBatch p;
    p.hidden = c.hidden.slice(0, 0, take);
    if (copy) p.hidden = p.hidden.clone();
    p.inputs = c.inputs;
    if (p.inputs.key_mask.defined()) p.inputs.key_mask = p.inputs.key_mask.slice(0, 0, take);
    if (c.rows.defined()) p.rows = c.rows.slice(0, 0, take);
    batches.push_back(std::move(p));
    n -= take;
  }
  return std::make_shared<const BlockProbe>(model, block, std::move(batches));
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
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  for (int i = 0; i < blocks; ++i) {
    const auto t_capture = Clock::now();
    auto probe = make_probe(model, i, cache, req.probe_samples, /*copy=*/!options.sequential);
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
    stats.probe = std::move(probe);
    check_finite(stats, model);
    const double capture_s = seconds_since(t_capture);
    const auto t_compress = Clock::now();
    auto view = model.block(i);
    compress(view, stats);
    const double compress_s = seconds_since(t_compress);
    const auto t_propagate = Clock::now();
    if (options.sequential && i + 1 < blocks) {
      // Written into the cached tensors, which therefore never move: reallocating them between
      // the block's transients is what fragments the heap (bench_calibration --mode sequential).
      for (auto& c : cache) c.hidden.copy_(model.run_block(i, c.hidden, c.inputs));
    }
    release_freed_memory();
    spdlog::debug("{}: block {}: capture {:.2f} s, compress {:.2f} s, propagate {:.2f} s", options.label, i, capture_s,
                  compress_s, seconds_since(t_propagate));
  }
  return cached_bytes;
}

int64_t run_sequential_per_group(model::Model& model, const torch::Tensor& samples, const torch::Tensor& mask,
                                 const Requirements& req, const SequentialOptions& options,
                                 const CompressGroupFn& compress) {
  torch::NoGradGuard no_grad;
  auto cache = embed_all(model, samples, mask, options.batch_size);
  int64_t cached_bytes = 0;
  for (const auto& c : cache) cached_bytes += c.hidden.numel() * static_cast<int64_t>(c.hidden.element_size());
  spdlog::info("{}: {} samples x {} tokens, block inputs cached in {:.1f} MiB (true-sequential mode)", options.label,
               samples.size(0), samples.size(1), static_cast<double>(cached_bytes) / (1 << 20));
  const int blocks = model.num_blocks();
  int64_t steps = 0, done = 0;
  for (int i = 0; i < blocks; ++i) {
    steps += static_cast<int64_t>(model.input_groups(i).size() + 1) * static_cast<int64_t>(cache.size());
  }
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < blocks; ++i) {
    const auto t_block = Clock::now();
    const auto& groups = model.input_groups(i);
    // Per batch, the result of the first `applied` segments (0: the block input itself). A group
    // input wider than the hidden state (SwiGLU's or GELU's output, [N, T, intermediate] over the
    // whole calibration set) is kept only within options.wide_input_cache_bytes; otherwise the
    // segment that makes it runs again, with the same weights, for the segment after it. That
    // costs those linears twice and keeps memory at hidden-width tensors.
    std::vector<torch::Tensor> kept(cache.size());
    std::vector<model::SegmentCarry> carry(cache.size());
    size_t applied = 0;
    auto advance = [&](size_t b, size_t through) {  // segments [applied, through] on batch b
      auto& c = cache[b];
      torch::Tensor t = applied == 0 ? c.hidden : kept[b];
      for (size_t s = applied; s <= through; ++s) t = model.run_segment(i, s, c.hidden, t, carry[b], c.inputs);
      return t;
    };
    auto view = model.block(i);
    const auto probe = make_probe(model, i, cache, req.probe_samples, /*copy=*/false);
    ObserverScope scope(model, i, req, /*hook=*/false);
    for (size_t g = 0; g < groups.size(); ++g) {
      const int64_t width = model.slots()[groups[g].slots.front()].in_features();
      const bool keep = width <= model.hidden_size() ||
                        samples.numel() * width * static_cast<int64_t>(sizeof(float)) <= options.wide_input_cache_bytes;
      for (size_t b = 0; b < cache.size(); ++b) {
        auto input = advance(b, g);
        scope.set_rows(cache[b].rows);
        scope.observe_group(g, input);
        if (keep) kept[b] = std::move(input);
        if (options.progress) options.progress(options.label, ++done, steps);
      }
      if (keep) applied = g + 1;
      auto stats = scope.take();
      stats.probe = probe;  // at the block's input: its group inputs follow the groups compressed so far
      check_finite(stats, model);
      compress(view, stats, g);
    }
    for (size_t b = 0; b < cache.size(); ++b) {
      // Written into the cached tensors, which never move (see run_sequential); the last block's
      // outputs are never read.
      if (i + 1 < blocks) cache[b].hidden.copy_(advance(b, groups.size()));
      kept[b] = torch::Tensor();
      carry[b] = model::SegmentCarry{};
      if (options.progress) options.progress(options.label, ++done, steps);
    }
    release_freed_memory();
    spdlog::debug("{}: block {}: {:.2f} s", options.label, i,
                  std::chrono::duration<double>(Clock::now() - t_block).count());
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
