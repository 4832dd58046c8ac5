// Scalar reference integer quantization, compressed-tensors' arithmetic step for step (float32,
// torch.round's ties-to-even), so codes written here are the codes its loaders expect. Optimized
// and tensor versions (passes, runtime kernels) are tested against these.
#pragma once

#include <cstdint>

#include "compressor/quant/quant_args.h"

namespace compressor::quant {

struct IntQParams {
  float scale = 1;         // already rounded to the storage dtype: quantize with what is stored
  int32_t zero_point = 0;  // 0 when symmetric
};

// Value `x` rounded through the scale storage dtype (f16/bf16) and back to float32.
float round_to_dtype(float x, ScaleDtype d);

// A scale as stored: a zero scale (an all-zero unit) becomes float32's epsilon, as in
// compressed-tensors, then it is rounded to `d`; one that rounds to 0 in f16 takes epsilon's f16 value.
float stored_scale(float scale, ScaleDtype d);

// calculate_qparams for one reduction unit: min is clamped to ≤ 0 and max to ≥ 0 (zero must be
// exact); symmetric scale = max(|min|, |max|) / ((qmax - qmin) / 2); asymmetric scale =
// (max - min) / (qmax - qmin) and zero_point = clamp(round(qmin - min / scale), qmin, qmax). The
// scale is then stored_scale(scale, d).
IntQParams int_qparams(float min, float max, int num_bits, bool symmetric, ScaleDtype d = ScaleDtype::f32);

// clamp(round(x / scale + zero_point), qmin, qmax).
int8_t quantize_int(float x, const IntQParams& p, int num_bits);
// (q - zero_point) · scale.
float dequantize_int(int8_t q, const IntQParams& p);

}  // namespace compressor::quant
