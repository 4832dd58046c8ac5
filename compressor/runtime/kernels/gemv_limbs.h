// W4A16 and W8A16 decode with integer dot products (AVX-512 VNNI's vpdpbusd) at float32's precision.
//
// Weight-only schemes keep float activations, so their GEMV cannot multiply int8 by int8 as W8A8
// does. Instead each token is written once as integers v = round(x / s_x) with
// s_x = max|x| / (127 · 2^16), exact in three signed bytes ("limbs", v = l0 · 2^16 + l1 · 2^8 + l2):
// 24-bit fixed point on the token's largest value, the same absolute rounding as float32 has on
// that value. vpdpbusd then multiplies the stored codes u (unsigned: q + 8 for 4 bits, q + 128
// for 8) by each limb, 64 weights per instruction, and
//   Σ (u − Z) · v = (Σ u·l0) · 2^16 + (Σ u·l1) · 2^8 + Σ u·l2 − Z · Σ v   (Z = offset + zero point)
// is summed exactly in int32 (4-bit: per 128 columns, combined in int32; 8-bit: per limb over a
// scale unit, combined in float), scaled by the unit's s_w, and at the row's end by s_x.
// Against gemv_avx512's float FMAs (about 6 instructions per 16 weights, bound near 7 GB/s per
// thread for int4) this is about 14 per 128 int4 weights, 1 per 21 int8 ones.
//
// The unpacking needs no shuffles: byte i of a 4-bit row holds codes 2i (low nibble) and 2i + 1
// (high), so the low nibbles of 64 bytes are the even columns of 128 and the high nibbles the odd
// ones; the token's limbs are laid out even/odd per 128 columns to match.
#pragma once

#include <cstdint>
#include <vector>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// Whether this CPU has AVX-512 VNNI, BW and GFNI and `w` is a weight this kernel runs: 4- or 8-bit
// pack-quantized codes without an input scheme or g_idx, whose scale units (groups, or whole rows)
// are the row, a multiple of 128 (4-bit) / 64 (8-bit) columns, or a power of two from 8 (4-bit) /
// 4 (8-bit) up to those. Any width.
bool gemv_limbs_supports(const LinearWeight& w);

// x: [n ≤ kMaxGemvTokens, w.cols] -> y: [n, w.rows]. A token with no finite nonzero largest value
// (all zeros, or inf/NaN) runs through gemv_avx512 instead, which gives what float arithmetic gives.
void gemv_limbs(const LinearWeight& w, const Matrix& x, Matrix& y);

// Several weights that read the same input (q, k and v; gate and up) in one call: the token is
// prepared once and every weight's rows are shared out in one parallel loop, where separate calls
// would prepare it once each and let the threads meet (and wait for each other) once each. Whether
// gemv_limbs_group can run `ws`: each is supported and they share bits, width, scale unit and
// symmetry (so one prepared token serves them all).
bool gemv_limbs_group_supports(const std::vector<const LinearWeight*>& ws);
// ys[i] = x · ws[i]ᵀ (+ bias) for each i; the same results as gemv_limbs on each.
void gemv_limbs_group(const std::vector<const LinearWeight*>& ws, const Matrix& x, const std::vector<Matrix*>& ys);

}  // namespace compressor::runtime
