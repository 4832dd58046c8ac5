// The CUDA side of the runtime's linear layer: plain descriptors of a weight and an activation
// scheme in device memory, and the host functions that launch the kernels on them (device_kernels.cu).
// Nothing here includes CUDA's headers, so g++ code (cuda_linear.cpp, the tests) includes it; every
// pointer in a descriptor is a device pointer. Functions throw std::runtime_error naming the CUDA
// call and error; DeviceLinear (cuda_linear.h) turns that into the project's errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace compressor::runtime::cuda {

enum class ElementKind : int32_t {
  f32,       // float32 [rows, cols]
  f16,       // IEEE binary16 [rows, cols]
  bf16,      // bfloat16 [rows, cols]
  packed,    // compressed-tensors' pack-quantized int32 words [rows, words_per_row], num_bits codes
  int_bytes, // int8 codes [rows, cols]
  fp8_e4m3,  // FP8 E4M3 bytes [rows, cols], times the unit's scale
};

// A weight as stored, y = x · Wᵀ + b with W's element (r, c) = decode(r, c) (element_codec.h):
// floats as they are, integer codes as (q − zero_point) · scale, FP8 as value · scale, with the
// scale (and zero point) of unit (r, c) = (scale_rows == 1 ? 0 : r) · scale_cols +
// (scale_cols == 1 ? 0 : g_idx ? g_idx[c] : c / group_size), quant::WeightLayout::unit's rule.
struct WeightView {
  ElementKind kind = ElementKind::f32;
  int64_t rows = 0, cols = 0;
  const void* data = nullptr;
  int64_t words_per_row = 0;  // packed
  int32_t num_bits = 8;       // packed and int_bytes
  const float* scale = nullptr;         // quantized kinds: [scale_rows, scale_cols]
  const int32_t* zero_point = nullptr;  // same shape, or null when symmetric
  int64_t scale_rows = 1, scale_cols = 1, group_size = 0;
  const int32_t* g_idx = nullptr;       // [cols] or null
  const float* bias = nullptr;          // [rows] or null
  const int32_t* code_sums = nullptr;   // int_bytes with 8 bits: each row's Σ codes (the integer GEMM's zero-point term)
};

// How the input is quantized and dequantized before the product, as the fake-quant model does
// (linear_ref.h quantize_input): not at all; integer or FP8 with one range per token (row) or per
// tensor taken from the input; or integer / FP8 with static parameters from the calibration.
enum class InputScheme : int32_t { none, int_token, int_tensor, int_static, fp8_token, fp8_tensor, fp8_static };

struct InputView {
  InputScheme scheme = InputScheme::none;
  int32_t num_bits = 8;
  bool symmetric = true;
  float static_scale = 1;  // *_static
  int32_t static_zero_point = 0;
  const int32_t* input_order = nullptr;  // [cols] or null: column i of the product reads x's column input_order[i]
};

// Device memory and copies (synchronous on the default stream).
int device_count() noexcept;  // 0 when no driver or GPU answers
std::string device_description(int device);
void* device_alloc(size_t bytes);
void device_free(void* p) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_on_device(void* dst, const void* src, size_t bytes);
void device_synchronize();

// Scratch the linear needs for an input of n rows: the prepared input [n, cols] when the scheme
// or the column order changes it, plus [n] ranges. Bytes.
size_t linear_scratch_bytes(const WeightView& w, const InputView& in, int64_t n);

// y[n, w.rows] = q(x[n, w.cols]) · Wᵀ + b. `scratch` holds linear_scratch_bytes(w, in, n) bytes
// (null when that is 0). n ≤ 8 runs the GEMV kernel (one warp per output row, every token at once),
// larger n the tiled GEMM that decodes each weight tile into shared memory. W8A8 (int8 codes with
// one scale per row or tensor and no zero point, 8-bit integer inputs, a width that is a multiple
// of 4) multiplies the codes as integers instead (__dp4a, exact int32 sums), scaling once per output.
void launch_linear(const WeightView& w, const InputView& in, const float* x, int64_t n, float* y, void* scratch);

// Whether launch_linear takes the integer path for this weight and input scheme.
bool integer_product(const WeightView& w, const InputView& in);

// out[w.rows, w.cols] = W, decoded (the FP8 and integer dequantization kernels).
void launch_dequantize(const WeightView& w, float* out);

}  // namespace compressor::runtime::cuda
