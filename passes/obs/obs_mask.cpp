#include "passes/obs/obs_mask.h"

namespace compressor::passes::obs {

namespace {

int64_t column(const std::vector<int64_t>& order, int64_t i) { return order.empty() ? i : order[static_cast<size_t>(i)]; }

}  // namespace

std::vector<uint8_t> pruned_from_keep(const torch::Tensor& keep, int64_t rows, int64_t cols,
                                      const std::vector<int64_t>& order) {
  std::vector<uint8_t> pruned(static_cast<size_t>(cols * rows), 0);
  if (!keep.defined()) return pruned;
  const auto k = keep.to(torch::kBool).contiguous();
  const bool* kp = k.data_ptr<bool>();
  for (int64_t i = 0; i < cols; ++i) {
    const int64_t c = column(order, i);
    for (int64_t r = 0; r < rows; ++r) pruned[static_cast<size_t>(i * rows + r)] = kp[r * cols + c] ? 0 : 1;
  }
  return pruned;
}

torch::Tensor keep_from_pruned(const std::vector<uint8_t>& pruned, int64_t rows, int64_t cols,
                               const std::vector<int64_t>& order) {
  auto keep = torch::empty({rows, cols}, torch::kBool);
  bool* kp = keep.data_ptr<bool>();
  for (int64_t i = 0; i < cols; ++i) {
    const int64_t c = column(order, i);
    for (int64_t r = 0; r < rows; ++r) kp[r * cols + c] = pruned[static_cast<size_t>(i * rows + r)] == 0;
  }
  return keep;
}

}  // namespace compressor::passes::obs
