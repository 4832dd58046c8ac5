// One linear layer's weight as the artifact stores it, ready for the kernels: dense float32 and
// float16/bfloat16 [out, in] weights read in place from the mapped file (16-bit ones widened by the
// kernels as they read them, so a bf16 head streams half the bytes of an f32 one), GPT-2's Conv1D
// [in, out] transposed once at load (keeping its dtype),
// quantized ones kept as stored (packed int32 words, int8 or FP8 bytes viewed in the mapped file)
// with their scales widened to float32 and zero points unpacked. The kernels (kernels/) compute
// y = x · Wᵀ + b from this; dequantization is defined by compressor/quant's scalar references.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compressor/quant/encoding.h"
#include "compressor/quant/int_codec.h"
#include "compressor/quant/quant_args.h"
#include "compressor/runtime/matrix.h"
#include "formats/quantization_config.h"
#include "formats/safetensors_reader.h"

namespace compressor::runtime {

enum class WeightStorage {
  dense,      // `dense` float32 [rows, cols]
  dense16,    // `half` float16 or bfloat16 (`bf16`) [rows, cols], widened by the kernels
  packed,     // `packed` int32 [rows, packed_words(cols, bits)], compressed-tensors' pack-quantized
  int_bytes,  // `bytes` int8 codes [rows, cols] (int-quantized, e.g. W8A8)
  fp8_bytes,  // `bytes` FP8 E4M3 bit patterns [rows, cols] (float-quantized, naive-quantized)
  // 2:4 int4, `bytes` in kernels/gemv_2of4.h's chunks: each 128 columns' 64 kept codes and their
  // 128-bit mask (a pruned weight's code is 0). Half the codes move, plus one bit per weight. The
  // loader does not make it yet (a 2:4 artifact loads as `packed`: gemv_2of4 measured no faster
  // than the dense int4 kernel, docs/benchmarks.md); the kernels' tests and bench do.
  packed_2of4,
};

struct LinearWeight {
  std::string name;  // the module ("model.layers.0.mlp.down_proj") for messages
  int64_t rows = 0, cols = 0;
  WeightStorage storage = WeightStorage::dense;
  std::string encoding = "f32";  // the manifest's name: "f32", "int4_g128_sym", ...

  FloatVector dense;                // f32 weights converted at load (GPT-2's transposed Conv1D)
  const float* mapped = nullptr;    // or f32 weights stored as the kernels read them: the mapping, no copy
  const uint16_t* half = nullptr;   // dense16: in the mapping, or in `owned` (transposed or realigned)
  bool bf16 = false;                // dense16: bfloat16 (else IEEE float16)
  const int32_t* packed = nullptr;  // in the mapping kept alive by `file`
  const uint8_t* bytes = nullptr;
  quant::QuantArgs args;            // quantized storages only
  quant::WeightLayout layout;       // scale (and zero point) unit of each element (layout.g_idx: see input_order)
  // Activation-ordered groups (weight_g_idx) are executed by storing the columns sorted by group,
  // so each group is adjacent again and every kernel applies: `input_order` lists the original
  // column of each stored column, and runtime::linear gathers x's columns in that order first.
  // Empty when the columns are as the file stores them. `owned` keeps the sorted codes alive.
  std::vector<int32_t> input_order;
  std::shared_ptr<const void> owned;
  std::vector<float> scale;         // [scale_rows * scale_cols], float32
  std::vector<int32_t> zero_point;  // same shape, empty when symmetric
  std::vector<int32_t> code_sums;   // int_bytes 8-bit: each row's Σ codes (the integer kernels' zero-point term)

  // Dynamic activation quantization (W8A8, FP8_DYNAMIC) or a static calibrated input scale (FP8):
  // the input is quantized and dequantized exactly as the compressing run's fake-quant model does.
  std::optional<quant::QuantArgs> input_args;
  std::optional<quant::IntQParams> input_qparams;  // static input schemes only

  FloatVector bias;  // empty or [rows]
  std::shared_ptr<const formats::SafetensorsReader> file;

  bool quantized() const { return storage != WeightStorage::dense && storage != WeightStorage::dense16; }
  // The dense storage's [rows, cols] float32 weights, wherever they live.
  const float* dense_data() const { return mapped ? mapped : dense.data(); }
  // Row r dequantized into out[cols] with the scalar references (quant/int_codec, quant/float_formats),
  // in the stored column order (input_order's, when set): what the kernels multiply.
  void dequantize_row(int64_t r, float* out) const;
  // Row r in the model's column order: an embedding lookup.
  void embedding_row(int64_t r, float* out) const;
  // Row r's integer codes into out[cols] (packed, packed_2of4 and int_bytes storages only).
  void code_row(int64_t r, int8_t* out) const;
  // packed_2of4 as the packed storage of the same codes (what the kernels without a 2:4 path read).
  void expand_2of4();
};

// Reads `module`'s weight (and `module.bias` when present) from `file`:
// - a compressed module (`module.weight_packed` or `module.weight_scale`) with the scheme that
//   `config` gives it; BadInput naming the file and tensor when a part is missing, mis-shaped or
//   of the wrong dtype, or when the config has no group for it. A `module.weight_g_idx` whose
//   groups hold group_size columns each has its columns sorted by group (input_order); any other
//   g_idx is kept in the layout, where the scalar references honour it (the fast kernels decline);
// - a weight in a sparse layout (module.bitmask; formats/sparse_layout.h), quantized or not,
//   expanded once to the storage its dense form has; BadInput naming the part that disagrees;
// - else the dense `module.weight` ([out, in]; [in, out] when `conv1d`, as GPT-2 stores it).
// `expected_rows` / `expected_cols` (the model's config) are checked too.
LinearWeight load_linear(const std::shared_ptr<const formats::SafetensorsReader>& file, const std::string& module,
                         const formats::QuantizationConfig* config, bool conv1d, int64_t expected_rows,
                         int64_t expected_cols);

// A dense float32 copy of a floating-point tensor (F32, F16, BF16) with the shape checked against
// `shape`; BadInput naming the file and tensor otherwise.
FloatVector load_float_tensor(const formats::SafetensorsReader& file, const std::string& name,
                              const std::vector<int64_t>& shape);

}  // namespace compressor::runtime
