#include "compressor/base/finite.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace compressor::base {

bool all_finite(const torch::Tensor& t) {
  TORCH_CHECK(t.scalar_type() == torch::kFloat32, "all_finite: expected float32, got ", t.scalar_type());
  const torch::Tensor c = t.contiguous();
  const float* p = c.data_ptr<float>();
  std::atomic<bool> finite{true};
  at::parallel_for(0, c.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    // NaN and ±Inf are exactly the floats whose exponent bits are all ones. An OR over the
    // chunk's "exponent all ones" flags vectorises; no early exit is needed for valid weights.
    uint32_t bad = 0;
    for (int64_t i = begin; i < end; ++i) {
      uint32_t u;
      std::memcpy(&u, p + i, sizeof u);
      bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
    }
    if (bad) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

}  // namespace compressor::base
