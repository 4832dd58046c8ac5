#include "compressor/quant/gguf_blocks.h"

#include "compressor/quant/float_formats.h"

#include <cstring>

// Blocks are stored little-endian and we read their f16/u32 fields with memcpy.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "GGUF dequantization assumes a little-endian host"
#endif

namespace compressor::quant::gguf {

namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

float load_f16(const uint8_t* p) { return fp16_to_fp32(load_u16(p)); }

// The 12 scale bytes of Q4_K / Q5_K hold eight 6-bit scales and eight 6-bit mins:
//   bytes 0..3 : scale j (bits 0..5), bits 6..7 = high bits of scale j+4
//   bytes 4..7 : min j   (bits 0..5), bits 6..7 = high bits of min j+4
//   bytes 8..11: low nibble = low 4 bits of scale j+4, high nibble = low 4 bits of min j+4
void scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

}  // namespace


// F32: 4-byte little-endian IEEE floats.
void dequantize_f32(const uint8_t* src, float* dst, std::size_t n) { std::memcpy(dst, src, n * 4); }

// F16: 2-byte IEEE half floats.
void dequantize_f16(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = load_f16(src + 2 * i);
}

// BF16: the upper 16 bits of a float32.
void dequantize_bf16(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(load_u16(src + 2 * i));
}

// Q8_0, 34 bytes per 32 values: f16 d; int8 qs[32].  x[i] = qs[i] * d.
void dequantize_q8_0(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQK; ++b, src += 34, dst += kQK) {
    const float d = load_f16(src);
    const auto* qs = reinterpret_cast<const int8_t*>(src + 2);
    for (std::size_t i = 0; i < kQK; ++i) dst[i] = static_cast<float>(qs[i]) * d;
  }
}

// Q4_0, 18 bytes per 32 values: f16 d; uint8 qs[16]. Value i < 16 is the low nibble of qs[i],
// value i + 16 the high nibble; x = (q - 8) * d.
void dequantize_q4_0(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQK; ++b, src += 18, dst += kQK) {
    const float d = load_f16(src);
    const uint8_t* qs = src + 2;
    for (std::size_t i = 0; i < kQK / 2; ++i) {
      dst[i] = d * static_cast<float>((qs[i] & 0xF) - 8);
      dst[i + 16] = d * static_cast<float>((qs[i] >> 4) - 8);
    }
  }
}

// Q4_1, 20 bytes per 32 values: f16 d; f16 m; uint8 qs[16] (nibbles as Q4_0); x = q * d + m.
void dequantize_q4_1(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQK; ++b, src += 20, dst += kQK) {
    const float d = load_f16(src);
    const float m = load_f16(src + 2);
    const uint8_t* qs = src + 4;
    for (std::size_t i = 0; i < kQK / 2; ++i) {
      dst[i] = d * static_cast<float>(qs[i] & 0xF) + m;
      dst[i + 16] = d * static_cast<float>(qs[i] >> 4) + m;
    }
  }
}

// Q5_0, 22 bytes per 32 values: f16 d; uint32 qh (bit i = 5th bit of value i); uint8 qs[16]
// (low 4 bits, nibbles as Q4_0); x = (q - 16) * d.
void dequantize_q5_0(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQK; ++b, src += 22, dst += kQK) {
    const float d = load_f16(src);
    const uint32_t qh = load_u32(src + 2);
    const uint8_t* qs = src + 6;
    for (std::size_t i = 0; i < kQK / 2; ++i) {
      const int lo = static_cast<int>((qs[i] & 0xF) | (((qh >> i) & 1u) << 4)) - 16;
      const int hi = static_cast<int>((qs[i] >> 4) | (((qh >> (i + 16)) & 1u) << 4)) - 16;
      dst[i] = d * static_cast<float>(lo);
      dst[i + 16] = d * static_cast<float>(hi);
    }
  }
}

// Q5_1, 24 bytes per 32 values: f16 d; f16 m; uint32 qh; uint8 qs[16]; x = q * d + m.
void dequantize_q5_1(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQK; ++b, src += 24, dst += kQK) {
    const float d = load_f16(src);
    const float m = load_f16(src + 2);
    const uint32_t qh = load_u32(src + 4);
    const uint8_t* qs = src + 8;
    for (std::size_t i = 0; i < kQK / 2; ++i) {
      const uint32_t lo = (qs[i] & 0xFu) | (((qh >> i) & 1u) << 4);
      const uint32_t hi = (qs[i] >> 4) | (((qh >> (i + 16)) & 1u) << 4);
      dst[i] = d * static_cast<float>(lo) + m;
      dst[i + 16] = d * static_cast<float>(hi) + m;
    }
  }
}

// Q4_K, 144 bytes per 256 values: f16 d; f16 dmin; uint8 scales[12] (eight 6-bit scale/min
// pairs, see scale_min_k4); uint8 qs[128]. Eight sub-blocks of 32; each 32 bytes of qs hold
// two sub-blocks (low nibbles = sub-block 2k, high nibbles = 2k+1).
// x = (d * sc) * q - (dmin * m).
void dequantize_q4_k(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQKK; ++b, src += 144) {
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const uint8_t* scales = src + 4;
    const uint8_t* q = src + 16;
    for (int j = 0; j < 8; j += 2, q += 32) {
      uint8_t sc, m;
      scale_min_k4(j, scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scale_min_k4(j + 1, scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// Q5_K, 176 bytes per 256 values: f16 d; f16 dmin; uint8 scales[12] (as Q4_K); uint8 qh[32];
// uint8 qs[128]. The 5th bit of value l of sub-block j is bit j of qh[l].
// x = (d * sc) * q - (dmin * m).
void dequantize_q5_k(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQKK; ++b, src += 176) {
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const uint8_t* scales = src + 4;
    const uint8_t* qh = src + 16;
    const uint8_t* ql = src + 48;
    for (int j = 0; j < 8; j += 2, ql += 32) {
      uint8_t sc, m;
      scale_min_k4(j, scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scale_min_k4(j + 1, scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) {
        const int q = (ql[l] & 0xF) | (((qh[l] >> j) & 1) << 4);
        *dst++ = d1 * static_cast<float>(q) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int q = (ql[l] >> 4) | (((qh[l] >> (j + 1)) & 1) << 4);
        *dst++ = d2 * static_cast<float>(q) - m2;
      }
    }
  }
}

// Q6_K, 210 bytes per 256 values: uint8 ql[128] (low 4 bits); uint8 qh[64] (high 2 bits);
// int8 scales[16] (one per 16 values); f16 d. Two halves of 128 values; in each, value
// l + 32*k (l < 32, k < 4) takes its low nibble from ql[l + 32*(k&1)] (low nibble for k < 2,
// high for k >= 2) and its high 2 bits from qh[l] bits 2k..2k+1; scale index l/16 + 2k.
// x = (d * scale) * (q - 32).
void dequantize_q6_k(const uint8_t* src, float* dst, std::size_t n) {
  for (std::size_t b = 0; b < n / kQKK; ++b, src += 210) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(src + 192);
    const float d = load_f16(src + 208);
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, dst += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        dst[l] = (d * static_cast<float>(sc[is + 0])) * static_cast<float>(q1);
        dst[l + 32] = (d * static_cast<float>(sc[is + 2])) * static_cast<float>(q2);
        dst[l + 64] = (d * static_cast<float>(sc[is + 4])) * static_cast<float>(q3);
        dst[l + 96] = (d * static_cast<float>(sc[is + 6])) * static_cast<float>(q4);
      }
    }
  }
}

// Q4_0 keeps q + 8 in a nibble: value i < 16 low nibble of qs[i], value i + 16 its high nibble.
void encode_q4_0_block(const int8_t* codes, uint16_t d, uint8_t* dst) {
  std::memcpy(dst, &d, 2);
  for (std::size_t i = 0; i < kQK / 2; ++i) {
    const auto lo = static_cast<uint8_t>(codes[i] + 8), hi = static_cast<uint8_t>(codes[i + 16] + 8);
    dst[2 + i] = static_cast<uint8_t>((lo & 0xF) | (hi << 4));
  }
}

void encode_q8_0_block(const int8_t* codes, uint16_t d, uint8_t* dst) {
  std::memcpy(dst, &d, 2);
  std::memcpy(dst + 2, codes, kQK);
}

}  // namespace compressor::quant::gguf
