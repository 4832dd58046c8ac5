#include "compressor/runtime/linear_weight.h"

#include <algorithm>

#include <cstring>
#include <initializer_list>

#include "compressor/base/error.h"
#include "compressor/quant/float_formats.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/packing.h"
#include "compressor/runtime/kernels/gemv_2of4.h"
#include "formats/sparse_layout.h"

namespace compressor::runtime {

namespace {

using formats::DType;
using formats::SafetensorsReader;
using formats::TensorInfo;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The tensor `name` with one of `dtypes` and exactly `shape`, or BadInput naming it and what needs it.
const TensorInfo& part(const SafetensorsReader& file, const std::string& name, std::initializer_list<DType> dtypes,
                       const std::vector<int64_t>& shape, const std::string& what) {
  if (!file.contains(name)) throw BadInput(file.path().string(), "tensor '" + name + "' is missing: " + what + " needs it");
  const auto& info = file.info(name);
  bool ok = false;
  std::string allowed;
  for (auto d : dtypes) {
    ok = ok || info.dtype == d;
    allowed += std::string(allowed.empty() ? "" : " or ") + formats::dtype_name(d);
  }
  if (!ok || info.shape != shape) {
    throw BadInput(file.where(name), std::string("is ") + formats::dtype_name(info.dtype) + " " + shape_text(info.shape) +
                                         " but " + what + " stores it as " + allowed + " " + shape_text(shape));
  }
  return info;
}

float widen(DType d, const uint8_t* p) {
  uint16_t h;
  switch (d) {
    case DType::F32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::F16:
      std::memcpy(&h, p, 2);
      return quant::fp16_to_fp32(h);
    case DType::BF16:
      std::memcpy(&h, p, 2);
      return quant::bf16_to_fp32(h);
    default:
      throw InternalError("runtime", "widen: not a floating-point dtype");
  }
}

template <class T>
T load_int(DType d, const uint8_t* p) {
  switch (d) {
    case DType::I8: return static_cast<T>(static_cast<int8_t>(*p));
    case DType::I32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return static_cast<T>(v);
    }
    case DType::I64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<T>(v);
    }
    default:
      throw InternalError("runtime", "load_int: not an integer dtype");
  }
}

formats::FindPart parts_of(const SafetensorsReader& file) {
  return [&file](const std::string& name) -> std::optional<formats::PartView> {
    if (!file.contains(name)) return std::nullopt;
    const auto& info = file.info(name);
    return formats::PartView{info, file.data(info), file.where(name)};
  };
}

std::vector<float> widen_all(const SafetensorsReader& file, const TensorInfo& info) {
  const int64_t n = static_cast<int64_t>((info.end - info.begin) / formats::dtype_size(info.dtype));
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t* p = file.data(info);
  for (int64_t i = 0; i < n; ++i) out[i] = widen(info.dtype, p + i * formats::dtype_size(info.dtype));
  return out;
}

void load_quantized(LinearWeight& w, const SafetensorsReader& file, const std::string& module,
                    const quant::QuantScheme& scheme) {
  if (!scheme.weights) throw BadInput(file.path().string(), module + ": its quantization_config group has no weights");
  w.args = *scheme.weights;
  const auto& a = w.args;
  const std::string& format = scheme.format;
  const bool is_int = a.type == quant::QuantType::integer;
  const std::string enc = quant::encoding_name(a) + " (" + format + ")";
  w.encoding = quant::encoding_name(a);
  if (format == "pack-quantized") {
    if (!is_int) throw BadInput(file.path().string(), module + ": pack-quantized stores integer weights, not FP8");
    const auto& shape = part(file, module + ".weight_shape", {DType::I64, DType::I32}, {2}, enc);
    const uint8_t* sp = file.data(shape);
    const size_t step = formats::dtype_size(shape.dtype);
    w.rows = load_int<int64_t>(shape.dtype, sp);
    w.cols = load_int<int64_t>(shape.dtype, sp + step);
    if (w.rows <= 0 || w.cols <= 0) throw BadInput(file.where(module + ".weight_shape"), "holds a non-positive size");
    // 2:4: weight_packed holds the kept codes, module.bitmask where they go.
    const auto find = parts_of(file);
    const bool two_four = formats::has_sparse_weight(find, module);
    const auto [rows, cols] =
        two_four ? formats::read_sparse_shape(find, module, file.path().string()) : std::pair<int64_t, int64_t>{w.rows, w.cols};
    if (two_four && (rows != w.rows || cols != 2 * w.cols)) {
      throw BadInput(file.where(module + ".weight_shape"),
                     "says the kept codes are " + shape_text({w.rows, w.cols}) + " but '" + module +
                         ".shape' makes a 2:4 weight " + shape_text({rows, cols}) + ", which keeps " +
                         shape_text({rows, cols / 2}));
    }
    const auto& packed = part(file, module + ".weight_packed", {DType::I32},
                              {w.rows, quant::packed_words(w.cols, a.num_bits)}, enc);
    w.storage = WeightStorage::packed;
    w.packed = reinterpret_cast<const int32_t*>(file.data(packed));
    if (two_four) {
      // Expanded once to the dense packed codes the int4 kernels read. (The 2:4 kernel,
      // kernels/gemv_2of4.h, runs the kept codes as stored but measured 5% slower than the dense
      // kernel on SmolLM2 int4 g64 decode, docs/benchmarks.md: both do six vpdpbusd per 128
      // columns, and decode here is bound by them, not by the bytes.)
      std::vector<int8_t> kept(static_cast<size_t>(w.rows * w.cols));
      quant::unpack_int32(w.packed, w.rows, w.cols, a.num_bits, kept.data());
      const auto expanded = formats::expand_two_four(find, module, reinterpret_cast<const uint8_t*>(kept.data()), rows,
                                                     cols, 1, file.path().string());
      const auto* dense = reinterpret_cast<const int8_t*>(expanded.data());
      w.cols = cols;
      auto words = std::make_shared<const std::vector<int32_t>>(quant::pack_int32(dense, rows, cols, a.num_bits));
      w.packed = words->data();
      w.owned = words;
      file.release_pages(module + ".weight_packed");
      file.release_pages(module + ".bitmask");
    }
  } else if ((format == "int-quantized" || format == "naive-quantized" || format == "float-quantized") &&
             !file.contains(module + ".weight") && formats::has_sparse_weight(parts_of(file), module)) {
    // Codes in a sparse layout, expanded to the dense codes the kernels read.
    auto d = formats::sparse_decompress(parts_of(file), module, {is_int ? DType::I8 : DType::F8_E4M3}, file.path().string());
    w.rows = d.rows;
    w.cols = d.cols;
    w.storage = is_int ? WeightStorage::int_bytes : WeightStorage::fp8_bytes;
    auto bytes = std::make_shared<const std::vector<uint8_t>>(std::move(d.bytes));
    w.bytes = bytes->data();
    w.owned = bytes;
  } else if (format == "int-quantized" || format == "naive-quantized" || format == "float-quantized") {
    if (!file.contains(module + ".weight")) {
      throw BadInput(file.path().string(), "tensor '" + module + ".weight' is missing: " + enc + " needs it");
    }
    const auto& info = file.info(module + ".weight");
    if (info.shape.size() != 2) throw BadInput(file.where(module + ".weight"), "is not a matrix");
    w.rows = info.shape[0];
    w.cols = info.shape[1];
    part(file, module + ".weight", {is_int ? DType::I8 : DType::F8_E4M3}, {w.rows, w.cols}, enc);
    w.storage = is_int ? WeightStorage::int_bytes : WeightStorage::fp8_bytes;
    w.bytes = file.data(info);
  } else {
    throw BadInput(file.path().string(), module + ": format '" + format + "' cannot be executed");
  }
  w.layout = quant::weight_layout(a, format, w.rows, w.cols, module);
  if (file.contains(module + ".weight_g_idx")) {
    const auto& gi = part(file, module + ".weight_g_idx", {DType::I32, DType::I64}, {w.cols}, enc);
    std::vector<int32_t> g(static_cast<size_t>(w.cols));
    const uint8_t* p = file.data(gi);
    for (int64_t c = 0; c < w.cols; ++c) g[static_cast<size_t>(c)] = load_int<int32_t>(gi.dtype, p + c * formats::dtype_size(gi.dtype));
    quant::set_group_index(w.layout, std::move(g), file.where(module + ".weight_g_idx"));
  }
  const auto& l = w.layout;
  const std::vector<int64_t> unit_shape =
      a.strategy == quant::Strategy::tensor ? std::vector<int64_t>{1} : std::vector<int64_t>{l.scale_rows, l.scale_cols};
  const auto& scale = part(file, module + ".weight_scale", {DType::F32, DType::F16, DType::BF16}, unit_shape, enc);
  w.scale = widen_all(file, scale);
  const std::string zp_name = module + ".weight_zero_point";
  if (l.has_zero_point) {
    w.zero_point.resize(static_cast<size_t>(l.scale_rows * l.scale_cols));
    if (l.zero_point_packed) {
      // Packed along dim 0: column c of the [scale_rows, scale_cols] zero points is one packed row.
      const int64_t words = quant::packed_words(l.scale_rows, a.num_bits);
      const auto& zp = part(file, zp_name, {DType::I32}, {words, l.scale_cols}, enc);
      std::vector<int32_t> transposed(static_cast<size_t>(l.scale_cols * words));
      std::vector<int32_t> stored(static_cast<size_t>(words * l.scale_cols));
      std::memcpy(stored.data(), file.data(zp), stored.size() * 4);
      for (int64_t r = 0; r < words; ++r)
        for (int64_t c = 0; c < l.scale_cols; ++c) transposed[c * words + r] = stored[r * l.scale_cols + c];
      std::vector<int8_t> codes(static_cast<size_t>(l.scale_cols * l.scale_rows));
      quant::unpack_int32(transposed.data(), l.scale_cols, l.scale_rows, a.num_bits, codes.data());
      for (int64_t r = 0; r < l.scale_rows; ++r)
        for (int64_t c = 0; c < l.scale_cols; ++c) w.zero_point[r * l.scale_cols + c] = codes[c * l.scale_rows + r];
    } else {
      const auto& zp = part(file, zp_name, {DType::I8, DType::I32}, unit_shape, enc);
      const uint8_t* p = file.data(zp);
      for (size_t i = 0; i < w.zero_point.size(); ++i) {
        w.zero_point[i] = load_int<int32_t>(zp.dtype, p + i * formats::dtype_size(zp.dtype));
      }
    }
    for (auto z : w.zero_point) {
      if (z < quant::int_qmin(a.num_bits) || z > quant::int_qmax(a.num_bits)) {
        throw BadInput(file.where(zp_name), "zero point " + std::to_string(z) + " is off the " +
                                                std::to_string(a.num_bits) + "-bit grid");
      }
    }
  }
  if (scheme.input_activations) {
    const auto& ia = *scheme.input_activations;
    if (!ia.dynamic) {
      const auto& s = part(file, module + ".input_scale", {DType::F32}, {1}, "a static input scheme");
      quant::IntQParams p;
      p.scale = widen(DType::F32, file.data(s));
      if (!(p.scale > 0)) throw BadInput(file.where(module + ".input_scale"), "is not a positive scale");
      if (!ia.symmetric) {
        const auto& z = part(file, module + ".input_zero_point", {DType::I8}, {1}, "an asymmetric static input scheme");
        p.zero_point = load_int<int32_t>(DType::I8, file.data(z));
      }
      w.input_qparams = p;
    }
    w.input_args = ia;
  }
}

// Stores the columns of a weight with activation-ordered groups sorted by group (stable), when each
// group then covers group_size adjacent columns: the layout is the plain grouped one again and
// input_order says where each stored column came from. Otherwise leaves the weight as it is.
void sort_columns_by_group(LinearWeight& w) {
  if (!w.layout.g_idx) return;
  if (w.storage == WeightStorage::packed_2of4) w.expand_2of4();  // sorted columns are no longer 2:4
  const auto& g = *w.layout.g_idx;
  std::vector<int32_t> order(static_cast<size_t>(w.cols));
  for (int64_t c = 0; c < w.cols; ++c) order[static_cast<size_t>(c)] = static_cast<int32_t>(c);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return g[static_cast<size_t>(a)] < g[static_cast<size_t>(b)]; });
  for (int64_t i = 0; i < w.cols; ++i) {
    if (g[static_cast<size_t>(order[static_cast<size_t>(i)])] != i / w.layout.group_size) return;  // unequal groups
  }
  const auto rows = static_cast<size_t>(w.rows), cols = static_cast<size_t>(w.cols);
  if (w.storage == WeightStorage::packed) {
    std::vector<int8_t> codes(rows * cols), sorted(rows * cols);
    quant::unpack_int32(w.packed, w.rows, w.cols, w.args.num_bits, codes.data());
    for (size_t r = 0; r < rows; ++r)
      for (size_t i = 0; i < cols; ++i) sorted[r * cols + i] = codes[r * cols + static_cast<size_t>(order[i])];
    auto words = std::make_shared<const std::vector<int32_t>>(quant::pack_int32(sorted.data(), w.rows, w.cols, w.args.num_bits));
    w.packed = words->data();
    w.owned = words;
  } else {
    auto bytes = std::make_shared<std::vector<uint8_t>>(rows * cols);
    for (size_t r = 0; r < rows; ++r)
      for (size_t i = 0; i < cols; ++i) (*bytes)[r * cols + i] = w.bytes[r * cols + static_cast<size_t>(order[i])];
    w.bytes = bytes->data();
    w.owned = std::move(bytes);
  }
  w.layout.g_idx = nullptr;
  w.input_order = std::move(order);
}

}  // namespace

FloatVector load_float_tensor(const SafetensorsReader& file, const std::string& name, const std::vector<int64_t>& shape) {
  const auto& info = part(file, name, {DType::F32, DType::F16, DType::BF16}, shape, "the model");
  const auto v = widen_all(file, info);
  return FloatVector(v.begin(), v.end());
}

LinearWeight load_linear(const std::shared_ptr<const SafetensorsReader>& file, const std::string& module,
                         const formats::QuantizationConfig* config, bool conv1d, int64_t expected_rows,
                         int64_t expected_cols) {
  LinearWeight w;
  w.name = module;
  w.file = file;
  const bool compressed = file->contains(module + ".weight_packed") || file->contains(module + ".weight_scale");
  const bool sparse = !compressed && !file->contains(module + ".weight") && formats::has_sparse_weight(parts_of(*file), module);
  if (compressed) {
    const auto* group = config ? config->group_for(module) : nullptr;
    if (!group) {
      throw BadInput(file->path().string(), module + " is stored quantized but config.json's quantization_config " +
                                                (config ? "has no group for it" : "is missing"));
    }
    load_quantized(w, *file, module, group->scheme);
    sort_columns_by_group(w);
    if (w.storage == WeightStorage::int_bytes && w.args.num_bits == 8) {
      w.code_sums.resize(static_cast<size_t>(w.rows));
      const auto* codes = reinterpret_cast<const int8_t*>(w.bytes);
      for (int64_t r = 0; r < w.rows; ++r) {
        int32_t sum = 0;
        for (int64_t c = 0; c < w.cols; ++c) sum += codes[r * w.cols + c];
        w.code_sums[static_cast<size_t>(r)] = sum;
      }
    }
    if (w.rows != expected_rows || w.cols != expected_cols) {
      throw BadInput(file->path().string(), module + " is [" + std::to_string(w.rows) + ", " + std::to_string(w.cols) +
                                                "] but config.json implies [" + std::to_string(expected_rows) + ", " +
                                                std::to_string(expected_cols) + "]");
    }
  } else if (sparse) {
    // A float weight in a sparse layout, stored [out, in] whatever the model's own layout; expanded
    // once to the dense storage the kernels read.
    auto d = formats::sparse_decompress(parts_of(*file), module, {DType::F32, DType::F16, DType::BF16}, file->path().string());
    if (d.rows != expected_rows || d.cols != expected_cols) {
      throw BadInput(file->path().string(), module + " is " + shape_text({d.rows, d.cols}) + " but config.json implies " +
                                                shape_text({expected_rows, expected_cols}));
    }
    w.rows = d.rows;
    w.cols = d.cols;
    w.encoding = d.dtype == DType::F32 ? "f32" : d.dtype == DType::F16 ? "f16" : "bf16";
    if (d.dtype == DType::F32) {
      w.dense.assign(static_cast<size_t>(w.rows * w.cols), 0.0f);
      std::memcpy(w.dense.data(), d.bytes.data(), d.bytes.size());
    } else {
      w.storage = WeightStorage::dense16;
      w.bf16 = d.dtype == DType::BF16;
      auto owned = std::make_shared<std::vector<uint16_t>>(static_cast<size_t>(w.rows * w.cols));
      std::memcpy(owned->data(), d.bytes.data(), d.bytes.size());
      w.half = owned->data();
      w.owned = std::move(owned);
    }
  } else {
    w.rows = expected_rows;
    w.cols = expected_cols;
    const auto stored = conv1d ? std::vector<int64_t>{expected_cols, expected_rows} : std::vector<int64_t>{expected_rows, expected_cols};
    const auto& info = part(*file, module + ".weight", {DType::F32, DType::F16, DType::BF16}, stored, "the model");
    w.encoding = info.dtype == DType::F32 ? "f32" : info.dtype == DType::F16 ? "f16" : "bf16";
    const uint8_t* at = file->data(info);
    if (info.dtype == DType::F32) {
      if (!conv1d && reinterpret_cast<uintptr_t>(at) % alignof(float) == 0) {
        w.mapped = reinterpret_cast<const float*>(at);
      } else {
        auto dense = load_float_tensor(*file, module + ".weight", stored);
        w.dense.assign(dense.size(), 0.0f);
        for (int64_t i = 0; i < stored[0]; ++i)
          for (int64_t o = 0; o < stored[1]; ++o) {
            const size_t from = static_cast<size_t>(i * stored[1] + o);
            w.dense[conv1d ? static_cast<size_t>(o * expected_cols + i) : from] = dense[from];
          }
      }
    } else {
      w.storage = WeightStorage::dense16;
      w.bf16 = info.dtype == DType::BF16;
      if (!conv1d && reinterpret_cast<uintptr_t>(at) % alignof(uint16_t) == 0) {
        w.half = reinterpret_cast<const uint16_t*>(at);
      } else {  // transposed (or realigned) once, in its own 16 bits
        auto owned = std::make_shared<std::vector<uint16_t>>(static_cast<size_t>(w.rows * w.cols));
        for (int64_t i = 0; i < stored[0]; ++i)
          for (int64_t o = 0; o < stored[1]; ++o) {
            uint16_t v;
            std::memcpy(&v, at + 2 * (i * stored[1] + o), 2);
            (*owned)[static_cast<size_t>(conv1d ? o * expected_cols + i : i * stored[1] + o)] = v;
          }
        w.half = owned->data();
        w.owned = std::move(owned);
      }
    }
  }
  if (file->contains(module + ".bias")) w.bias = load_float_tensor(*file, module + ".bias", {w.rows});
  return w;
}


void LinearWeight::dequantize_row(int64_t r, float* out) const {
  switch (storage) {
    case WeightStorage::dense:
      std::memcpy(out, dense_data() + r * cols, static_cast<size_t>(cols) * 4);
      return;
    case WeightStorage::dense16:
      for (int64_t c = 0; c < cols; ++c) {
        const uint16_t h = half[r * cols + c];
        out[c] = bf16 ? quant::bf16_to_fp32(h) : quant::fp16_to_fp32(h);
      }
      return;
    case WeightStorage::fp8_bytes:
      for (int64_t c = 0; c < cols; ++c) out[c] = quant::dequantize_fp8(bytes[r * cols + c], scale[layout.unit(r, c)]);
      return;
    case WeightStorage::packed:
    case WeightStorage::packed_2of4:
    case WeightStorage::int_bytes: {
      thread_local std::vector<int8_t> codes;  // one row of codes, reused across calls
      codes.resize(static_cast<size_t>(cols));
      code_row(r, codes.data());
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t u = layout.unit(r, c);
        const quant::IntQParams p{scale[u], zero_point.empty() ? 0 : zero_point[u]};
        out[c] = quant::dequantize_int(codes[c], p);
      }
      return;
    }
  }
}

void LinearWeight::embedding_row(int64_t r, float* out) const {
  if (input_order.empty()) return dequantize_row(r, out);
  thread_local std::vector<float> stored;
  stored.resize(static_cast<size_t>(cols));
  dequantize_row(r, stored.data());
  for (int64_t i = 0; i < cols; ++i) out[input_order[static_cast<size_t>(i)]] = stored[static_cast<size_t>(i)];
}

void LinearWeight::expand_2of4() {
  if (storage != WeightStorage::packed_2of4) throw InternalError(name, "expand_2of4 on a weight that is not 2:4");
  std::vector<int8_t> codes(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) code_row(r, codes.data() + r * cols);
  auto words = std::make_shared<const std::vector<int32_t>>(quant::pack_int32(codes.data(), rows, cols, args.num_bits));
  packed = words->data();
  owned = words;
  bytes = nullptr;
  storage = WeightStorage::packed;
}

void LinearWeight::code_row(int64_t r, int8_t* out) const {
  if (storage == WeightStorage::packed_2of4) return decode_2of4_row(bytes, r, cols, out);
  if (storage == WeightStorage::packed) {
    quant::unpack_int32(packed + r * quant::packed_words(cols, args.num_bits), 1, cols, args.num_bits, out);
  } else if (storage == WeightStorage::int_bytes) {
    std::memcpy(out, bytes + r * cols, static_cast<size_t>(cols));
  } else {
    throw InternalError(name, "code_row on a weight without integer codes");
  }
}

}  // namespace compressor::runtime
