// The runtime's activations: float32 matrices [rows, cols], row-major, 64-byte aligned so that SIMD
// kernels load whole vectors. Activations are all [tokens, width]; nothing else is needed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace compressor::runtime {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::size_t kAlignment = 64;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, bytes == 0 ? kAlignment : bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const noexcept { return false; }
};

using FloatVector = std::vector<float, AlignedAllocator<float>>;

struct Matrix {
  int64_t rows = 0, cols = 0;
  FloatVector data;

  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), data(static_cast<std::size_t>(r * c), 0.0f) {}
  float* row(int64_t r) { return data.data() + r * cols; }
  const float* row(int64_t r) const { return data.data() + r * cols; }
};

// Rows [begin, begin + n) of x, copied.
inline Matrix rows_of(const Matrix& x, int64_t begin, int64_t n) {
  Matrix out(n, x.cols);
  std::copy(x.row(begin), x.row(begin) + n * x.cols, out.data.begin());
  return out;
}

// x += y, element by element (same shape): the residual connections.
inline void add_rows(Matrix& x, const Matrix& y) {
  for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] += y.data[i];
}

}  // namespace compressor::runtime
