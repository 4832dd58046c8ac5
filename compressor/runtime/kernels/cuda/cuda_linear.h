// One linear layer executed on a CUDA device, for every encoding the CPU kernels execute: float32,
// float16 and bfloat16 weights, integer codes (packed 2–8 bits with group, channel or tensor scales,
// symmetric or with zero points, activation-ordered groups; int8 bytes) and FP8 E4M3, with the
// input quantized on the device as the weight's activation scheme says (W8A8 and FP8 dynamic per
// token or tensor, static). The weight goes to the device as stored (nothing dequantized on the
// host); each kernel decodes elements with element_codec.h, the scalar references' arithmetic.
// Built only when CMake finds nvcc (COMPRESSOR_HAVE_CUDA); its tests skip where no GPU answers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "compressor/runtime/kernels/cuda/device_kernels.h"
#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime::cuda {

// A device allocation, freed with its owner.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer() { device_free(ptr_); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr, o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // A buffer holding a copy of host memory.
  static DeviceBuffer upload(const void* host, size_t bytes);
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class DeviceLinear {
 public:
  // Uploads `w`. BadInput naming the tensor for a weight or activation scheme the device kernels
  // do not execute (the same ones the CPU reference refuses); InternalError for a CUDA failure.
  explicit DeviceLinear(const LinearWeight& w);

  int64_t rows() const { return view_.rows; }
  int64_t cols() const { return view_.cols; }
  const std::string& name() const { return name_; }
  // Device memory the weight holds (codes, scales, zero points, indices, bias, code sums).
  size_t device_bytes() const;

  // y[n, rows] = q(x[n, cols]) · Wᵀ + b with x and y in device memory; `scratch` holds
  // scratch_bytes(n) bytes of device memory. Asynchronous on the default stream.
  size_t scratch_bytes(int64_t n) const { return linear_scratch_bytes(view_, input_, n); }
  void forward(const float* x, int64_t n, float* y, void* scratch) const;
  // The weight decoded into out[rows, cols] (device), in the stored column order.
  void dequantize(float* out) const;
  // The stored weight, and where its stored columns came from (null: in order), for the ops that
  // read it as a table (the embedding lookup).
  const WeightView& view() const { return view_; }
  const int32_t* input_order() const { return input_.input_order; }
  // Whether forward multiplies integer codes (W8A8 with __dp4a) rather than dequantized floats.
  bool integer_product() const { return cuda::integer_product(view_, input_); }

 private:
  std::string name_;
  WeightView view_;
  InputView input_;
  DeviceBuffer data_, scale_, zero_point_, g_idx_, input_order_, bias_, code_sums_;
};

// Host-memory wrappers for tests and benches: copy in, run, copy back (synchronous).
Matrix linear(const DeviceLinear& w, const Matrix& x);
Matrix dequantize(const DeviceLinear& w);

}  // namespace compressor::runtime::cuda
