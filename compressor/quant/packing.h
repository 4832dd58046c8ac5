// compressed-tensors' pack-quantized layout (0.19, compressors/pack_quantized/helpers.py): each row
// of signed num_bits codes is offset by 2^(num_bits-1) into [0, 2^num_bits) and written as one dense
// little-endian bit stream of int32 words: code i occupies bits [i·b, i·b + b) of the row's stream,
// crossing a word boundary where it must (3, 5, 6, 7 bits). A row of n codes takes ceil(n·b / 32)
// words. For 4 and 8 bits this equals the older per-word layout (8 or 4 codes per word).
#pragma once

#include <cstdint>
#include <vector>

namespace compressor::quant {

inline int64_t packed_words(int64_t codes, int num_bits) { return (codes * num_bits + 31) / 32; }

// codes: row-major [rows, cols] in [-2^(b-1), 2^(b-1)); returns row-major [rows, packed_words(cols)].
std::vector<int32_t> pack_int32(const int8_t* codes, int64_t rows, int64_t cols, int num_bits);
// The inverse: `packed` is [rows, packed_words(cols)]; writes [rows, cols] codes to `out`.
void unpack_int32(const int32_t* packed, int64_t rows, int64_t cols, int num_bits, int8_t* out);

}  // namespace compressor::quant
