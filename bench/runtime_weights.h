// Weights the runtime benchmarks share, built in memory.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "compressor/quant/encoding.h"
#include "compressor/runtime/linear_weight.h"

namespace bench {

using compressor::runtime::LinearWeight;
using compressor::runtime::WeightStorage;
namespace quant = compressor::quant;

// W8A8 as the preset stores it: int8 bytes (in `storage`, cols a multiple of 4), one scale per row,
// each row's code sum, dynamic per-token int8 activations.
inline LinearWeight w8a8_weight(int64_t rows, int64_t cols, std::vector<int32_t>& storage, std::mt19937& rng) {
  storage.resize(static_cast<size_t>(rows * cols / 4));
  auto* codes = reinterpret_cast<int8_t*>(storage.data());
  std::uniform_int_distribution<int> code(-127, 127);
  LinearWeight w;
  w.name = "bench";
  w.rows = rows;
  w.cols = cols;
  w.storage = WeightStorage::int_bytes;
  w.bytes = reinterpret_cast<const uint8_t*>(codes);
  w.args.num_bits = 8;
  w.args.strategy = quant::Strategy::channel;
  w.layout = quant::weight_layout(w.args, "int-quantized", rows, cols, "bench");
  w.scale.assign(static_cast<size_t>(rows), 0.01f);
  for (int64_t r = 0; r < rows; ++r) {
    int32_t sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += codes[r * cols + c] = static_cast<int8_t>(code(rng));
    w.code_sums.push_back(sum);
  }
  quant::QuantArgs act;
  act.num_bits = 8;
  act.strategy = quant::Strategy::token;
  act.dynamic = true;
  w.input_args = act;
  return w;
}

}  // namespace bench
