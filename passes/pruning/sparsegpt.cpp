#include "passes/pruning/sparsegpt.h"

#include <algorithm>
#include <vector>

#include "compressor/base/error.h"
#include "passes/obs/column_sweep.h"
#include "passes/pruning/mask.h"

namespace compressor::passes {

namespace {

// Which weights the sweep prunes, in the sweep's [cols, rows] layout: 1 = pruned.
template <typename T>
struct MaskPolicy {
  const T* W;   // [cols, rows], current
  const T* U;   // [cols, cols]
  int64_t cols, rows;
  const SparseGptOptions& o;
  std::vector<uint8_t>& pruned;  // forced (an earlier mask) on entry

  // OBS saliency of element (column i, row r); an earlier pruning comes first (−1).
  double score(int64_t i, int64_t r) const {
    if (pruned[static_cast<size_t>(i * rows + r)]) return -1.0;
    const double w = static_cast<double>(W[i * rows + r]), d = static_cast<double>(U[i * cols + i]);
    return w * w / (d * d);
  }

  void block_start(int64_t i1, int64_t i2) {
    if (!o.structure.unstructured()) return;
    const int64_t n = (i2 - i1) * rows;
    const int64_t k = prune_count(o.sparsity, n);
    if (k <= 0) return;
    std::vector<std::pair<double, int64_t>> s(static_cast<size_t>(n));  // (score, i · rows + r)
    for (int64_t i = i1; i < i2; ++i) {
      for (int64_t r = 0; r < rows; ++r) s[static_cast<size_t>((i - i1) * rows + r)] = {score(i, r), i * rows + r};
    }
    // The k lowest scores; of equal scores the later column (then row) goes first.
    const auto lower = [](const std::pair<double, int64_t>& a, const std::pair<double, int64_t>& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    };
    std::nth_element(s.begin(), s.begin() + (k - 1), s.end(), lower);
    for (int64_t j = 0; j < k; ++j) pruned[static_cast<size_t>(s[static_cast<size_t>(j)].second)] = 1;
  }

  void column_start(int64_t i, int64_t r0, int64_t r1) {
    const int64_t m = o.structure.m;
    if (o.structure.unstructured() || i % m != 0) return;
    const int64_t drop = m - o.structure.n;
    std::vector<std::pair<double, int64_t>> s(static_cast<size_t>(m));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t j = 0; j < m; ++j) s[static_cast<size_t>(j)] = {score(i + j, r), i + j};
      std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second > b.second;
      });
      // Earlier prunings count towards the M − N (they score −1, so they come first).
      for (int64_t j = 0; j < drop; ++j) pruned[static_cast<size_t>(s[static_cast<size_t>(j)].second * rows + r)] = 1;
    }
  }

  T replace(int64_t i, int64_t r, T w) const { return pruned[static_cast<size_t>(i * rows + r)] ? T(0) : w; }
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
  std::vector<uint8_t> pruned(static_cast<size_t>(cols * rows), 0);
  if (keep.defined()) {
    const auto k = keep.to(torch::kBool).t().contiguous();
    const bool* kp = k.data_ptr<bool>();
    for (size_t i = 0; i < pruned.size(); ++i) pruned[i] = kp[i] ? 0 : 1;
  }

  SparseGptResult result;
  const auto prepared = obs::prepare(h, wt, o.dampening_frac, tensor);
  result.dead_columns = prepared.dead_columns;
  result.dampening_frac = prepared.dampening_frac;
  const torch::Tensor& u = prepared.u;
  // N:M groups must not straddle two blocks: the next block's columns are updated only at its start.
  int64_t block = std::max<int64_t>(1, o.block_size);
  if (!o.structure.unstructured()) block = std::max(o.structure.m, block / o.structure.m * o.structure.m);
  MaskPolicy<T> policy{wt.data_ptr<T>(), u.data_ptr<T>(), cols, rows, o, pruned};
  result.loss = obs::sweep<T>(wt, u, block, policy);

  result.weight = wt.t().to(torch::kFloat32).contiguous();
  auto keep_t = torch::empty({cols, rows}, torch::kBool);
  bool* kp = keep_t.data_ptr<bool>();
  for (size_t i = 0; i < pruned.size(); ++i) kp[i] = pruned[i] == 0;
  result.keep = keep_t.t().contiguous();
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
