// Decoding one element of a stored weight on the device (WeightView, device_kernels.h): shared by
// the linear kernels and the embedding lookup. Device code only: included by .cu files.
#pragma once

#include <cstdint>

#include "compressor/runtime/kernels/cuda/cuda_check.cuh"
#include "compressor/runtime/kernels/cuda/device_kernels.h"
#include "compressor/runtime/kernels/cuda/element_codec.h"

namespace compressor::runtime::cuda {

__device__ __forceinline__ int64_t unit_of(const WeightView& w, int64_t r, int64_t c) {
  return (w.scale_rows == 1 ? 0 : r) * w.scale_cols +
         (w.scale_cols == 1 ? 0 : w.g_idx ? static_cast<int64_t>(w.g_idx[c]) : c / w.group_size);
}

// W[r, c] as stored, decoded: the scalar references' arithmetic (element_codec.h).
template <ElementKind K>
__device__ __forceinline__ float decode(const WeightView& w, int64_t r, int64_t c) {
  if constexpr (K == ElementKind::f32) {
    return static_cast<const float*>(w.data)[r * w.cols + c];
  } else if constexpr (K == ElementKind::f16) {
    return fp16_bits_to_float(static_cast<const uint16_t*>(w.data)[r * w.cols + c]);
  } else if constexpr (K == ElementKind::bf16) {
    return bf16_bits_to_float(static_cast<const uint16_t*>(w.data)[r * w.cols + c]);
  } else if constexpr (K == ElementKind::fp8_e4m3) {
    return fp8_e4m3_to_float(static_cast<const uint8_t*>(w.data)[r * w.cols + c]) * w.scale[unit_of(w, r, c)];
  } else {
    const int32_t q = K == ElementKind::packed
                          ? packed_code(static_cast<const uint32_t*>(w.data) + r * w.words_per_row, c, w.num_bits)
                          : static_cast<int32_t>(static_cast<const int8_t*>(w.data)[r * w.cols + c]);
    const int64_t u = unit_of(w, r, c);
    return dequantize_int(q, IntParams{w.scale[u], w.zero_point ? w.zero_point[u] : 0});
  }
}

}  // namespace compressor::runtime::cuda
