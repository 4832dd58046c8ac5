// compressed-tensors' two sparse layouts (its `sparsity_config` formats up to 0.12; 0.19 reads
// neither any more), for a weight [rows, cols] of any element type, stored as bytes:
//
//   sparse-24-bitmask  module.compressed  the kept values [rows, cols/2] (two of every four)
//                      module.bitmask     uint8 [rows, ceil(cols/8)], bit c of row r (little bit
//                                         order, numpy.packbits(bitorder="little")) set where kept
//                      module.shape       int64 [2, 1] = [rows, cols]
//   sparse-bitmask     module.compressed  the non-zero values, row-major, 1-D
//                      module.bitmask     as above, set where non-zero
//                      module.shape       int64 [2] = [rows, cols]
//                      module.row_offsets int64 [rows], where each row starts in `compressed`
//
// compressed-tensors applies the sparse layout after quantization, to whatever is stored under
// module.weight: float weights, int8 codes (int-quantized), FP8 codes (float-quantized). Pack-
// quantized weights (int4) have no module.weight, so it never stacks the two; this toolkit does
// for 2:4 (module.weight_packed packs the kept codes [rows, cols/2], its weight_shape says so, and
// module.bitmask / module.shape place them), a layout only this toolkit reads (docs/artifact.md).
//
// Torch-free: the runtime reads these too.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "formats/safetensors_reader.h"

namespace compressor::formats {

enum class SparseFormat { dense, bitmask, two_four };

// "dense", "sparse-bitmask", "sparse-24-bitmask".
const char* sparse_format_name(SparseFormat f);
std::optional<SparseFormat> parse_sparse_format(const std::string& name);

// Bytes of a bitmask row: ceil(cols / 8).
inline int64_t bitmask_row_bytes(int64_t cols) { return (cols + 7) / 8; }

// Whether element `index` of `data` (`elem_size`-byte little-endian elements) is zero. `floating`:
// an IEEE-style float (f32, f16, bf16, FP8 E4M3), where -0 is zero too (pruning by multiplying with
// a mask leaves -0 wherever the weight was negative); it is stored as +0, the one change a round
// trip makes. Integers are zero only when every byte is.
bool element_is_zero(const uint8_t* data, int64_t index, size_t elem_size, bool floating);

// Whether every group of four adjacent elements of every row holds at most two non-zeros
// (cols a multiple of 4).
bool is_two_four(const uint8_t* data, int64_t rows, int64_t cols, size_t elem_size, bool floating);
int64_t count_nonzero(const uint8_t* data, int64_t rows, int64_t cols, size_t elem_size, bool floating);

// A weight in a sparse layout, as bytes.
struct SparseWeight {
  SparseFormat format = SparseFormat::dense;
  int64_t rows = 0, cols = 0;
  size_t elem_size = 0;
  std::vector<uint8_t> values;       // kept elements, row-major ([rows, cols/2] for 2:4)
  std::vector<uint8_t> bitmask;      // [rows, bitmask_row_bytes(cols)]
  std::vector<int64_t> row_offsets;  // sparse-bitmask only: [rows]
  int64_t kept() const { return elem_size ? static_cast<int64_t>(values.size() / elem_size) : 0; }
};

// Compresses `data`. For two_four the data must pass is_two_four (InternalError otherwise): each
// group keeps its non-zeros, then its first zeros until it keeps two.
// Zeros dropped, or kept as the filler of a 2:4 group, are stored as +0.
SparseWeight sparse_compress(const uint8_t* data, int64_t rows, int64_t cols, size_t elem_size, bool floating,
                             SparseFormat f);

// Stored bytes of `format` for a [rows, cols] weight with `kept` kept elements of elem_size
// bytes, all parts (shape and row offsets included): what the size check compares against.
int64_t sparse_stored_bytes(SparseFormat f, int64_t rows, int64_t cols, int64_t kept, size_t elem_size);

// One stored tensor as a reader sees it.
struct PartView {
  TensorInfo info;
  const uint8_t* data = nullptr;
  std::string where;  // "<file>: tensor '<name>'"
};
// Finds a tensor of the checkpoint by name; nullopt when absent.
using FindPart = std::function<std::optional<PartView>(const std::string& name)>;

// Whether `module` is stored in a sparse layout (it has module.bitmask).
bool has_sparse_weight(const FindPart& find, const std::string& module);

// module.shape: [rows, cols], checked (int64 or int32, [2] or [2, 1], positive).
std::pair<int64_t, int64_t> read_sparse_shape(const FindPart& find, const std::string& module, const std::string& file);

// module.bitmask of a 2:4 weight [rows, cols], checked: U8 (or I8) [rows, ceil(cols/8)], exactly
// two bits in every group of four, none past the last column; BadInput naming it (row and columns)
// otherwise. Its bytes, as mapped.
const uint8_t* two_four_mask(const FindPart& find, const std::string& module, int64_t rows, int64_t cols,
                             const std::string& file);

// Expands `kept` (kept_rows x kept_cols row-major elements of elem_size bytes, e.g. the unpacked
// codes of a pack-quantized 2:4 weight) to the dense [rows, cols] with module.bitmask; zeros
// elsewhere. BadInput naming module.bitmask unless it has the right shape and, for 2:4, exactly
// two bits in every group of four.
std::vector<uint8_t> expand_two_four(const FindPart& find, const std::string& module, const uint8_t* kept,
                                     int64_t rows, int64_t cols, size_t elem_size, const std::string& file);

// The dense [rows, cols] weight of a module stored as module.compressed (+ bitmask, shape, and
// row_offsets for sparse-bitmask), as bytes of compressed's dtype, which must be one of `dtypes`.
// BadInput naming the file and the part for anything missing, mis-shaped, of another dtype, or
// inconsistent (bit counts against values, row offsets against bit counts).
struct DenseBytes {
  DType dtype = DType::F32;
  SparseFormat format = SparseFormat::dense;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> bytes;
};
DenseBytes sparse_decompress(const FindPart& find, const std::string& module, const std::vector<DType>& dtypes,
                             const std::string& file);

}  // namespace compressor::formats
