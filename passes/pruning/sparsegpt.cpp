#include "passes/pruning/sparsegpt.h"

#include <algorithm>
#include <vector>

#include "compressor/base/error.h"
#include "passes/obs/column_sweep.h"
#include "passes/obs/obs_mask.h"
#include "passes/pruning/mask.h"

namespace compressor::passes {

namespace {

// Pruning alone: a weight the mask picks becomes zero; the rest are left as the sweep updated them.
template <typename T>
struct PrunePolicy {
  obs::ObsMask<T> mask;
  void block_start(int64_t i1, int64_t i2) { mask.block_start(i1, i2); }
  void column_start(int64_t i, int64_t r0, int64_t r1) { mask.column_start(i, r0, r1); }
  T replace(int64_t i, int64_t r, T w) const { return mask.pruned(i, r) ? T(0) : w; }
};

template <typename T>
SparseGptResult run(const torch::Tensor& weight, const torch::Tensor& hessian, const torch::Tensor& keep,
                    const SparseGptOptions& o, const std::string& tensor) {
  torch::NoGradGuard no_grad;
  const torch::ScalarType dtype = std::is_same<T, double>::value ? torch::kFloat64 : torch::kFloat32;
  const int64_t rows = weight.size(0), cols = weight.size(1);
  if (hessian.dim() != 2 || hessian.size(0) != cols || hessian.size(1) != cols) {
    throw InternalError(tensor, "SparseGPT needs a [" + std::to_string(cols) + ", " + std::to_string(cols) + "] Hessian");
  }
  if (!o.structure.unstructured() && cols % o.structure.m != 0) {
    throw BadInput(tensor, "mask_structure " + o.structure.str() + ": M does not divide the input width " + std::to_string(cols));
  }
  if (!torch::isfinite(weight).all().item<bool>()) throw BadInput(tensor, "the weight has NaN or Inf values; cannot prune it");
  if (!torch::isfinite(hessian).all().item<bool>()) {
    throw BadInput(tensor, "its Hessian has NaN or Inf values (calibration inputs overflowed)");
  }
  auto h = hessian.to(torch::kFloat64).contiguous().clone();
  torch::Tensor wt = weight.detach().t().to(dtype).contiguous();  // [cols, rows]: a column per row of memory
  auto pruned = obs::pruned_from_keep(keep, rows, cols);

  SparseGptResult result;
  const auto prepared = obs::prepare(h, wt, o.dampening_frac, tensor);
  result.dead_columns = prepared.dead_columns;
  result.dampening_frac = prepared.dampening_frac;
  const torch::Tensor& u = prepared.u;
  // N:M groups must not straddle two blocks: the next block's columns are updated only at its start.
  int64_t block = std::max<int64_t>(1, o.block_size);
  if (!o.structure.unstructured()) block = std::max(o.structure.m, block / o.structure.m * o.structure.m);
  PrunePolicy<T> policy{obs::ObsMask<T>(wt.data_ptr<T>(), u.data_ptr<T>(), cols, rows, {o.sparsity, o.structure}, pruned)};
  result.loss = obs::sweep<T>(wt, u, block, policy);

  result.weight = wt.t().to(torch::kFloat32).contiguous();
  result.keep = obs::keep_from_pruned(pruned, rows, cols);
  return result;
}

}  // namespace

SparseGptResult sparsegpt_prune(const torch::Tensor& w, const torch::Tensor& hessian, const torch::Tensor& keep,
                                const SparseGptOptions& o, const std::string& tensor) {
  return run<float>(w, hessian, keep, o, tensor);
}

SparseGptResult sparsegpt_prune_f64(const torch::Tensor& w, const torch::Tensor& hessian, const torch::Tensor& keep,
                                    const SparseGptOptions& o, const std::string& tensor) {
  return run<double>(w, hessian, keep, o, tensor);
}

}  // namespace compressor::passes
