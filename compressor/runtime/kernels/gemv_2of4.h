// W4A16 decode of 2:4-sparse int4 weights as stored: half the codes and one mask bit per weight
// move, 3.125 bits per weight with g128 float16 scales against the dense encoding's 4.125.
//
// The token is prepared as gemv_limbs prepares it (three signed bytes per value, 24-bit fixed point
// on its largest value, so the result is float32's up to rounding), in column order. Each chunk of
// 128 columns stores its 64 kept codes (4-bit, q + 8) and its 128-bit mask (LinearWeight's
// packed_2of4 storage). vpexpandb (AVX-512 VBMI2) puts the kept codes back where the mask says,
// the code of zero (8) elsewhere, and vpdpbusd multiplies the 64 columns by each limb:
//   Σ (u − 8) · v = (Σ u·l0 · 2^8 + Σ u·l1) · 2^8 + Σ u·l2 − 8 · Σ v,
// the last term the token's own, whatever the mask. Pruned columns cost dot-product lanes but no
// memory: decode is bound by the bytes it reads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime {

// Columns per chunk of the packed_2of4 storage, and its bytes: 64 kept codes, then the mask.
inline constexpr int64_t k2of4ChunkCols = 128;
inline constexpr int64_t k2of4ChunkBytes = 32 + 16;

// The packed_2of4 storage of a 4-bit weight from its kept codes (`kept` [rows, cols/2] signed
// codes, row-major, as the artifact packs them) and its mask ([rows, ceil(cols/8)], two bits in
// every four): [rows, ceil(cols/128)] chunks. A last partial chunk is padded with the code of zero
// and an empty mask.
std::shared_ptr<const std::vector<uint8_t>> pack_2of4_chunks(const int8_t* kept, const uint8_t* mask, int64_t rows,
                                                             int64_t cols);
// Row r's codes from that storage into out[cols] (pruned: 0); the scalar reference of the layout.
void unpack_2of4_row(const uint8_t* chunks, int64_t r, int64_t cols, int8_t* out);
// The same with vpexpandb where the CPU has AVX-512 VBMI2 (what dequantizing for a prompt's sgemm
// reads), the reference elsewhere.
void decode_2of4_row(const uint8_t* chunks, int64_t r, int64_t cols, int8_t* out);

// Whether this CPU has AVX-512 VBMI2, VNNI and BW, and `w` is packed_2of4 (4-bit), symmetric,
// without an input scheme or g_idx, with one scale per row or groups of 64 or a multiple of 128.
bool gemv_2of4_supports(const LinearWeight& w);

// x: [n ≤ kMaxGemvTokens, w.cols] -> y: [n, w.rows]. A token without a finite nonzero largest value
// runs through the reference instead.
void gemv_2of4(const LinearWeight& w, const Matrix& x, Matrix& y);

}  // namespace compressor::runtime
