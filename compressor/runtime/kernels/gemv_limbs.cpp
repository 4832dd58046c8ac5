#include "compressor/runtime/kernels/gemv_limbs.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/cpu_isa.h"
#include "compressor/runtime/kernels/gemv_avx512.h"
#include "compressor/runtime/kernels/linear_ref.h"
#include "compressor/runtime/kernels/token_count.h"

namespace compressor::runtime {

namespace {

constexpr float kLimbRange = 127.0f * 65536;  // the token's largest |x| becomes this integer
constexpr int64_t kVector = 64;               // bytes in one vpdpbusd operand
constexpr int64_t kPrefetchBytes = 2048;

int64_t unit_cols(const LinearWeight& w) { return w.layout.scale_cols == 1 ? w.cols : w.layout.group_size; }

// How a weight's codes meet a prepared token. Each step ("chunk") multiplies 64 bytes of a row's
// codes: 128 4-bit codes (low nibbles: even columns, high: odd) or 64 8-bit ones; lane j of the
// vpdpbusd sums covers 8 or 4 of its columns. A prepared chunk holds the token's three limbs for
// those columns (4-bit: each limb as an even and an odd vector), then its corrections: 4-bit, one
// vector of lane sums Σ v; 8-bit, one per limb (Σ l, kept apart so each limb's sums stay small),
// and when a scale unit spans several chunks its first chunk holds the sums of all of them (the
// 8-bit kernel adds a unit's chunks up in int32 and converts once); negated and times the symmetric
// offset (8 or 128) when the weight is symmetric.
// Scale units smaller than a chunk ("split": 8 to 64 columns) give each lane its unit's scale;
// larger ones (multiples of the chunk, or the row) span whole chunks.
struct Geometry {
  int bits;
  int64_t chunk_cols, limb_vectors, corrections, chunk_bytes;
  int64_t stride, row_bytes, chunks, token_bytes;
  int64_t unit, units_in_row, chunks_per_unit;
  bool split;
  int64_t correction_span;  // chunks one stored correction covers (8-bit units of whole chunks: the unit's)
  int per_chunk;      // units in a chunk when split
  __m512i lane_unit;  // lane -> unit among them

  explicit Geometry(const LinearWeight& w)
      : bits(w.args.num_bits),
        chunk_cols(bits == 4 ? 128 : 64),
        limb_vectors(bits == 4 ? 2 : 1),
        corrections(bits == 4 ? 1 : 3),
        chunk_bytes((3 * limb_vectors + corrections) * kVector),
        stride(quant::packed_words(w.cols, bits) * 4),
        row_bytes(bits == 4 ? (w.cols + 1) / 2 : w.cols),
        chunks((w.cols + chunk_cols - 1) / chunk_cols),
        token_bytes(chunks * chunk_bytes),
        unit(unit_cols(w)),
        units_in_row((w.cols + unit - 1) / unit),
        chunks_per_unit((unit + chunk_cols - 1) / chunk_cols),
        split(unit < chunk_cols && unit != w.cols),
        correction_span(bits == 8 && !split ? chunks_per_unit : 1),
        per_chunk(split ? static_cast<int>(chunk_cols / unit) : 1) {
    alignas(64) int32_t lanes[16];
    const int64_t lanes_per_unit = split ? unit / (chunk_cols / 16) : 16;
    for (int j = 0; j < 16; ++j) lanes[j] = static_cast<int32_t>(j / lanes_per_unit);
    lane_unit = _mm512_load_si512(lanes);
  }
};

// Columns 2i (even) or 2i + 1 (odd) of 32 floats a ‖ b.
__m512 evens(__m512 a, __m512 b) {
  return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
}
__m512 odds(__m512 a, __m512 b) {
  return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
}

// 16 integers v (|v| ≤ kLimbRange) as three signed bytes each, v = l0·2^16 + l1·2^8 + l2, limb l
// stored at limbs + l · limb_stride.
void store_limbs(__m512i v, uint8_t* limbs, int64_t limb_stride) {
  for (int l = 2; l >= 0; --l) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(limbs + limb_stride * l), _mm512_cvtepi32_epi8(v));
    const __m512i low = _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24);  // the byte just stored, signed
    v = _mm512_srai_epi32(_mm512_sub_epi32(v, low), 8);                   // exact: v - low is a multiple of 256
  }
}

// One token into `out` (g.token_bytes, columns past the width as zeros); its scale s_x. False when
// the largest |x| is not finite (or too small to invert).
bool prepare_token(const Geometry& g, bool symmetric, const float* x, int64_t cols, uint8_t* out, float& scale) {
  __m512 amax = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + c)));
  const __mmask16 tail = static_cast<__mmask16>((1u << (cols - c)) - 1);
  amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail, x + c)));
  const float largest = _mm512_reduce_max_ps(amax);
  // Past float's range for 1 / s_x (below ~1e-30) the float kernel takes it: nothing to gain there.
  if (!std::isfinite(largest) || (largest != 0 && largest < 1e-30f)) return false;
  scale = largest / kLimbRange;
  const __m512 inv = _mm512_set1_ps(largest == 0 ? 0.0f : kLimbRange / largest);
  const __m512i top = _mm512_set1_epi32(static_cast<int32_t>(kLimbRange));
  const __m512i bottom = _mm512_set1_epi32(-static_cast<int32_t>(kLimbRange));
  auto to_int = [&](__m512 f) { return _mm512_min_epi32(top, _mm512_max_epi32(bottom, _mm512_cvtps_epi32(f))); };
  const __m512i ones = _mm512_set1_epi8(1);
  const int64_t limb_stride = g.limb_vectors * kVector;
  for (int64_t k = 0; k < g.chunks; ++k) {
    uint8_t* dst = out + k * g.chunk_bytes;
    const float* src = x + k * g.chunk_cols;
    __m512 f[8];
    for (int i = 0; i < g.chunk_cols / 16; ++i) {
      const int64_t left = cols - k * g.chunk_cols - 16 * i;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << left) - 1);
      f[i] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, src + 16 * i), inv);
    }
    if (g.bits == 4) {
      for (int i = 0; i < 4; ++i) {
        store_limbs(to_int(evens(f[2 * i], f[2 * i + 1])), dst + 16 * i, limb_stride);
        store_limbs(to_int(odds(f[2 * i], f[2 * i + 1])), dst + kVector + 16 * i, limb_stride);
      }
    } else {
      for (int i = 0; i < 4; ++i) store_limbs(to_int(f[i]), dst + 16 * i, limb_stride);
    }
    // Lane sums as vpdpbusd takes them from codes all 1.
    __m512i sums[3];
    for (int l = 0; l < 3; ++l) {
      sums[l] = _mm512_setzero_si512();
      for (int64_t p = 0; p < g.limb_vectors; ++p) {
        sums[l] = _mm512_dpbusd_epi32(sums[l], ones, _mm512_loadu_si512(dst + limb_stride * l + kVector * p));
      }
    }
    auto* corrections = dst + 3 * limb_stride;
    if (g.bits == 4) {  // Σ v (|·| ≤ 8 · kLimbRange)
      _mm512_storeu_si512(corrections, _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(sums[0], 16), _mm512_slli_epi32(sums[1], 8)), sums[2]));
    } else {  // Σ l per limb, added into the unit's first chunk
      auto* first = out + (k - k % g.correction_span) * g.chunk_bytes + 3 * limb_stride;
      for (int l = 0; l < 3; ++l) {
        auto* at = first + kVector * l;
        _mm512_storeu_si512(at, first == corrections ? sums[l] : _mm512_add_epi32(_mm512_loadu_si512(at), sums[l]));
      }
    }
  }
  if (symmetric) {  // −offset · Σ
    const int shift = g.bits == 4 ? 3 : 7;
    for (int64_t k = 0; k < g.chunks; k += g.correction_span) {
      auto* corrections = out + k * g.chunk_bytes + 3 * limb_stride;
      for (int64_t l = 0; l < g.corrections; ++l) {
        auto* at = corrections + kVector * l;
        _mm512_storeu_si512(at, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_loadu_si512(at), shift)));
      }
    }
  }
  return true;
}

// One row against N prepared tokens. Each chunk's sums are exact in int32 and converted to float
// once; the zero-point term starts the accumulator that vpdpbusd adds to (no instruction of its
// own). Two rows per pass, sharing each token's limb loads, measured no faster: the dot products
// bound it, not the loads.
template <int Bits, int N, bool Symmetric, bool Split>
void row_kernel(const LinearWeight& w, const Geometry& g, const uint8_t* prepared, const float* token_scale, Matrix& y,
                int64_t r) {
  // 512-bit vector instructions issue on two ports only, so each one counts: each byte's high nibble
  // comes down in one vgf2p8affineqb (the bit matrix of ">> 4"), and each int32 is shifted left 8
  // bits by a byte shuffle (the top byte drops, as a shift drops it).
  const __m512i nibble = _mm512_set1_epi8(0x0F), shift_right_4 = _mm512_set1_epi64(0x1020408000000000);
  const __m512i up_one_byte = _mm512_set4_epi32(0x0E0D0C80, 0x0A090880, 0x06050480, 0x02010080);
  constexpr int32_t kOffset = Bits == 4 ? 8 : 128;  // the stored code is q + kOffset
  const auto* row = reinterpret_cast<const uint8_t*>(w.packed) + r * g.stride;
  const float* scale = w.scale.data() + w.layout.unit(r, 0);
  const int32_t* zero = Symmetric ? nullptr : w.zero_point.data() + w.layout.unit(r, 0);
  __m512 total[N];
  for (int t = 0; t < N; ++t) total[t] = _mm512_setzero_ps();
  constexpr int kSets = Bits == 8 && N <= 2 ? 2 : 1;
  __m512i sums[kSets][Bits == 8 ? N : 1][3];  // 8-bit: each token's per-limb sums over the unit so far
  __m512 sw = _mm512_setzero_ps();
  __m512i negative_z = _mm512_setzero_si512();  // −(kOffset + zero point)
  int64_t chunks_left_in_unit = 0;
  for (int64_t k = 0; k < g.chunks; ++k) {
    const int64_t at = k * kVector;
    // Into L2 for 8-bit codes, L1 for 4-bit: measured best for each (80-92% against 70-81% of the DRAM
    // bandwidth for int8 per channel; int4 g128 no better in L2), bench_runtime_gemv.
    _mm_prefetch(reinterpret_cast<const char*>(row + at + kPrefetchBytes), Bits == 8 ? _MM_HINT_T1 : _MM_HINT_T0);
    const __m512i b = at + kVector <= g.row_bytes
                          ? _mm512_loadu_si512(row + at)
                          : _mm512_maskz_loadu_epi8((__mmask64(1) << (g.row_bytes - at)) - 1, row + at);
    if (Split) {  // this chunk's units, spread over its lanes
      const int64_t u = k * g.per_chunk;
      const __mmask16 units = static_cast<__mmask16>((1u << std::min<int64_t>(g.per_chunk, g.units_in_row - u)) - 1);
      sw = _mm512_permutexvar_ps(g.lane_unit, _mm512_maskz_loadu_ps(units, scale + u));
      if (!Symmetric) {
        const __m512i z = _mm512_permutexvar_epi32(g.lane_unit, _mm512_maskz_loadu_epi32(units, zero + u));
        negative_z = _mm512_sub_epi32(_mm512_set1_epi32(-kOffset), z);
      }
    } else if (chunks_left_in_unit-- == 0) {  // a new unit: its scale for every lane
      chunks_left_in_unit = g.chunks_per_unit - 1;
      sw = _mm512_set1_ps(*scale++);
      if (!Symmetric) negative_z = _mm512_set1_epi32(-kOffset - *zero++);
    }
    auto start = [&](const uint8_t* correction) {
      const __m512i c = _mm512_loadu_si512(correction);
      return Symmetric ? c : _mm512_mullo_epi32(negative_z, c);
    };
    if constexpr (Bits == 4) {
      const __m512i lo = _mm512_and_si512(b, nibble), hi = _mm512_gf2p8affine_epi64_epi8(b, shift_right_4, 0);
      for (int t = 0; t < N; ++t) {
        const uint8_t* p = prepared + t * g.token_bytes + k * g.chunk_bytes;
        __m512i a[3];
        for (int l = 0; l < 3; ++l) {
          a[l] = l == 2 ? start(p + 6 * kVector) : _mm512_setzero_si512();
          a[l] = _mm512_dpbusd_epi32(a[l], lo, _mm512_loadu_si512(p + 2 * kVector * l));
          a[l] = _mm512_dpbusd_epi32(a[l], hi, _mm512_loadu_si512(p + 2 * kVector * l + kVector));
        }
        // Σ (u − Z)·v = (a0 · 2^8 + a1) · 2^8 + a2, |·| < 2^31: 8 codes of at most 15 times |v| ≤ 127 · 2^16.
        const __m512i a01 = _mm512_add_epi32(_mm512_shuffle_epi8(a[0], up_one_byte), a[1]);
        const __m512i d = _mm512_add_epi32(_mm512_shuffle_epi8(a01, up_one_byte), a[2]);
        total[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sw, total[t]);
      }
    } else {
      // A unit's chunks add up in int32 (its first chunk holds the whole unit's zero-point term),
      // converted once per unit: per chunk, the conversions would cost as much as the dot products.
      // With few tokens, alternate chunks go to two sets of sums: one set would wait out vpdpbusd's
      // latency at every chunk.
      const bool unit_starts = Split || chunks_left_in_unit == g.chunks_per_unit - 1;
      const bool unit_ends = Split || chunks_left_in_unit == 0 || k + 1 == g.chunks;
      for (int t = 0; t < N; ++t) {
        const uint8_t* p = prepared + t * g.token_bytes + k * g.chunk_bytes;
        for (int l = 0; l < 3; ++l) {
          if (unit_starts) {
            sums[0][t][l] = start(p + 3 * kVector + kVector * l);
            for (int s = 1; s < kSets; ++s) sums[s][t][l] = _mm512_setzero_si512();
          }
          sums[0][t][l] = _mm512_dpbusd_epi32(sums[0][t][l], b, _mm512_loadu_si512(p + kVector * l));
          if (kSets == 2) std::swap(sums[0][t][l], sums[kSets - 1][t][l]);  // register renaming, no work
        }
        if (unit_ends) {
          __m512 f[3];
          for (int l = 0; l < 3; ++l) {
            __m512i whole = sums[0][t][l];
            for (int s = 1; s < kSets; ++s) whole = _mm512_add_epi32(whole, sums[s][t][l]);
            f[l] = _mm512_cvtepi32_ps(whole);
          }
          // Σ (u − Z)·l per limb is small; the whole Σ (u − Z)·v (up to 4 · 255 · 2^23 a lane) is not, in int32.
          const __m512 d = _mm512_fmadd_ps(f[0], _mm512_set1_ps(65536.0f), _mm512_fmadd_ps(f[1], _mm512_set1_ps(256.0f), f[2]));
          total[t] = _mm512_fmadd_ps(d, sw, total[t]);
        }
      }
    }
  }
  const float bias = w.bias.empty() ? 0.0f : w.bias[r];
  for (int t = 0; t < N; ++t) y.row(t)[r] = _mm512_reduce_add_ps(total[t]) * token_scale[t] + bias;
}

// Every row of every weight (blocks of 16 rows, the weights one after another) over the threads.
template <int Bits, int N>
void run_bits(const std::vector<const LinearWeight*>& ws, const Geometry& g, const uint8_t* prepared,
              const float* scale, const std::vector<Matrix*>& ys) {
  const bool symmetric = ws.front()->zero_point.empty();
  auto kernel = symmetric ? (g.split ? row_kernel<Bits, N, true, true> : row_kernel<Bits, N, true, false>)
                          : (g.split ? row_kernel<Bits, N, false, true> : row_kernel<Bits, N, false, false>);
  std::vector<int64_t> first_block(ws.size() + 1, 0);  // weight i's blocks: [first_block[i], first_block[i + 1])
  for (size_t i = 0; i < ws.size(); ++i) first_block[i + 1] = first_block[i] + (ws[i]->rows + 15) / 16;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < first_block.back(); ++b) {
    const size_t i = static_cast<size_t>(std::upper_bound(first_block.begin(), first_block.end(), b) - first_block.begin() - 1);
    const LinearWeight& w = *ws[i];
    const int64_t r0 = (b - first_block[i]) * 16;
    for (int64_t r = r0; r < std::min(w.rows, r0 + 16); ++r) kernel(w, g, prepared, scale, *ys[i], r);
  }
}

template <int N>
void run(const std::vector<const LinearWeight*>& ws, const Geometry& g, const uint8_t* prepared, const float* scale,
         const std::vector<Matrix*>& ys) {
  if (g.bits == 4) return run_bits<4, N>(ws, g, prepared, scale, ys);
  run_bits<8, N>(ws, g, prepared, scale, ys);
}

}  // namespace

bool gemv_limbs_supports(const LinearWeight& w) {
  static const bool cpu = isa_allows(Isa::avx512) && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("gfni");
  if (!cpu || w.storage != WeightStorage::packed || w.input_args || w.layout.g_idx) return false;
  if (w.args.num_bits != 4 && w.args.num_bits != 8) return false;
  const int64_t unit = unit_cols(w), chunk_cols = w.args.num_bits == 4 ? 128 : 64;
  if (unit == w.cols) return true;  // one unit per row (channel, tensor), any width
  // Split units hold whole lanes (chunk_cols / 16 columns each).
  if (unit < chunk_cols) return chunk_cols % unit == 0 && unit % (chunk_cols / 16) == 0;
  return unit % chunk_cols == 0;
}

bool gemv_limbs_group_supports(const std::vector<const LinearWeight*>& ws) {
  if (ws.empty()) return false;
  const LinearWeight& a = *ws.front();
  for (const LinearWeight* w : ws) {
    if (!gemv_limbs_supports(*w) || w->cols != a.cols || w->args.num_bits != a.args.num_bits ||
        unit_cols(*w) != unit_cols(a) || w->zero_point.empty() != a.zero_point.empty()) {
      return false;
    }
  }
  return true;
}

void gemv_limbs_group(const std::vector<const LinearWeight*>& ws, const Matrix& x, const std::vector<Matrix*>& ys) {
  const LinearWeight& first = *ws.front();
  if (x.rows < 1 || x.rows > kMaxGemvTokens || x.cols != first.cols || ys.size() != ws.size()) {
    throw InternalError("gemv_limbs", first.name + ": " + std::to_string(x.rows) + " tokens of " +
                                          std::to_string(x.cols) + " columns for " + std::to_string(ws.size()) + " weights");
  }
  const Geometry g(first);
  thread_local std::vector<uint8_t, AlignedAllocator<uint8_t>> prepared;
  prepared.resize(static_cast<size_t>(x.rows * g.token_bytes));
  float scale[kMaxGemvTokens];
  for (int64_t t = 0; t < x.rows; ++t) {
    if (!prepare_token(g, first.zero_point.empty(), x.row(t), x.cols, prepared.data() + t * g.token_bytes, scale[t])) {
      for (size_t i = 0; i < ws.size(); ++i) {
        gemv_avx512_supports(*ws[i]) ? gemv_avx512(*ws[i], x, *ys[i]) : linear_ref(*ws[i], x, *ys[i]);
      }
      return;
    }
  }
  for (size_t i = 0; i < ws.size(); ++i) *ys[i] = Matrix(x.rows, ws[i]->rows);
  with_token_count(x.rows, [&](auto n) {
    constexpr int N = decltype(n)::value;
    run<N>(ws, g, prepared.data(), scale, ys);
  });
}

void gemv_limbs(const LinearWeight& w, const Matrix& x, Matrix& y) { gemv_limbs_group({&w}, x, {&y}); }

}  // namespace compressor::runtime
