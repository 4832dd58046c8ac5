// Weights of every storage the runtime executes, built from random codes and scales for kernel
// tests (the CPU kernels' and the CUDA kernels'): `make_weight(kind, ...)` with kind one of "dense",
// "f16", "bf16", "int4-g8-sym", "int4-g8-asym", "int3-g8-asym", "int8-w8a8", "fp8".
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "compressor/quant/float_formats.h"
#include "compressor/quant/encoding.h"
#include "compressor/quant/int_codec.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/linear_weight.h"
#include "compressor/runtime/matrix.h"

namespace compressor::runtime::test {

struct Owned {  // the storage a LinearWeight points into
  std::vector<int32_t> packed;
  std::vector<uint8_t> bytes;
  std::vector<uint16_t> half;
};

inline LinearWeight make_weight(const std::string& kind, int64_t rows, int64_t cols, Owned& own, std::mt19937& rng,
                         int64_t group = 8) {
  LinearWeight w;
  w.name = kind;
  w.rows = rows;
  w.cols = cols;
  std::normal_distribution<float> normal(0, 1);
  if (kind == "dense") {
    w.dense.resize(rows * cols);
    for (auto& v : w.dense) v = normal(rng);
    w.bias.resize(rows);
    for (auto& v : w.bias) v = normal(rng);
    return w;
  }
  if (kind == "f16" || kind == "bf16") {  // 16-bit floats kept as stored, subnormals among them
    w.storage = WeightStorage::dense16;
    w.bf16 = kind == "bf16";
    own.half.resize(rows * cols);
    for (size_t i = 0; i < own.half.size(); ++i) {
      const float v = normal(rng) * (i % 7 == 0 ? 1e-6f : 1.0f);
      own.half[i] = w.bf16 ? quant::fp32_to_bf16(v) : quant::fp32_to_fp16(v);
    }
    w.half = own.half.data();
    w.encoding = kind;
    return w;
  }
  const bool packed = kind.rfind("int", 0) == 0 && kind != "int8-w8a8";
  const int bits = kind == "int3-g8-asym" ? 3 : kind.rfind("int8", 0) == 0 ? 8 : 4;
  w.args.num_bits = kind == "fp8" ? 8 : bits;
  w.args.type = kind == "fp8" ? quant::QuantType::floating : quant::QuantType::integer;
  w.args.symmetric = kind.find("asym") == std::string::npos;
  w.args.strategy = kind == "fp8" ? quant::Strategy::tensor : kind == "int8-w8a8" ? quant::Strategy::channel : quant::Strategy::group;
  if (w.args.strategy == quant::Strategy::group) w.args.group_size = group;
  const std::string format = packed ? "pack-quantized" : kind == "fp8" ? "float-quantized" : "int-quantized";
  w.layout = quant::weight_layout(w.args, format, rows, cols, kind);
  std::uniform_int_distribution<int> code(static_cast<int>(quant::int_qmin(bits)), static_cast<int>(quant::int_qmax(bits)));
  std::uniform_real_distribution<float> pos(0.01f, 0.1f);
  for (int64_t u = 0; u < w.layout.scale_rows * w.layout.scale_cols; ++u) {
    w.scale.push_back(pos(rng));
    if (!w.args.symmetric) w.zero_point.push_back(code(rng));
  }
  if (kind == "fp8") {
    own.bytes.resize(rows * cols);
    for (auto& b : own.bytes) b = quant::fp32_to_fp8_e4m3(normal(rng) * 100);
    w.storage = WeightStorage::fp8_bytes;
    w.bytes = own.bytes.data();
    quant::QuantArgs act;
    act.type = quant::QuantType::floating;
    act.strategy = quant::Strategy::token;
    act.dynamic = true;
    w.input_args = act;
    return w;
  }
  std::vector<int8_t> codes(rows * cols);
  for (auto& c : codes) c = static_cast<int8_t>(code(rng));
  if (packed) {
    own.packed = quant::pack_int32(codes.data(), rows, cols, bits);
    w.storage = WeightStorage::packed;
    w.packed = own.packed.data();
  } else {
    own.bytes.assign(reinterpret_cast<uint8_t*>(codes.data()), reinterpret_cast<uint8_t*>(codes.data()) + codes.size());
    w.storage = WeightStorage::int_bytes;
    w.bytes = own.bytes.data();
    quant::QuantArgs act;
    act.num_bits = 8;
    act.strategy = quant::Strategy::token;
    act.dynamic = true;
    w.input_args = act;
  }
  return w;
}

// Each row's Σ codes of an int8 (W8A8) weight, as the loader keeps them for the integer kernels.
inline void set_code_sums(LinearWeight& w) {
  const auto* codes = reinterpret_cast<const int8_t*>(w.bytes);
  for (int64_t r = 0; r < w.rows; ++r) {
    int32_t s = 0;
    for (int64_t c = 0; c < w.cols; ++c) s += codes[r * w.cols + c];
    w.code_sums.push_back(s);
  }
}

// A W8A8 weight as the loader gives it (code sums kept), per channel or per tensor, its dynamic
// per-token input scheme symmetric or not, a bias of −0.5.
inline LinearWeight w8a8_case(int64_t rows, int64_t cols, bool per_tensor, bool asym_input, Owned& own, std::mt19937& rng) {
  auto w = make_weight("int8-w8a8", rows, cols, own, rng);
  if (per_tensor) {
    w.args.strategy = quant::Strategy::tensor;
    w.layout = quant::weight_layout(w.args, "int-quantized", rows, cols, "w");
    w.scale.resize(1);
  }
  w.input_args->symmetric = !asym_input;
  w.bias = FloatVector(static_cast<size_t>(rows), -0.5f);
  set_code_sums(w);
  return w;
}

// ‖fast − ref‖² / ‖ref‖².
inline double nmse(const Matrix& fast, const Matrix& ref) {
  REQUIRE(fast.data.size() == ref.data.size());
  double err = 0, energy = 0;
  for (size_t i = 0; i < ref.data.size(); ++i) {
    err += std::pow(static_cast<double>(fast.data[i]) - ref.data[i], 2);
    energy += std::pow(static_cast<double>(ref.data[i]), 2);
  }
  return err / energy;
}

}  // namespace compressor::runtime::test
