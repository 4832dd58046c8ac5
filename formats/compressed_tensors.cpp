#include "formats/compressed_tensors.h"

#include <cmath>
#include <cstring>
#include <map>
#include <tuple>

#include "compressor/base/error.h"
#include "compressor/base/shape.h"
#include "compressor/quant/packing.h"
#include "formats/sparse_layout.h"

namespace compressor::formats {

namespace {

using json = nlohmann::json;

torch::ScalarType scale_type(quant::ScaleDtype d) {
  switch (d) {
    case quant::ScaleDtype::f32: return torch::kFloat32;
    case quant::ScaleDtype::f16: return torch::kFloat16;
    case quant::ScaleDtype::bf16: return torch::kBFloat16;
  }
  return torch::kFloat32;
}

const char* torch_dtype_name(quant::ScaleDtype d) {
  switch (d) {
    case quant::ScaleDtype::f32: return "torch.float32";
    case quant::ScaleDtype::f16: return "torch.float16";
    case quant::ScaleDtype::bf16: return "torch.bfloat16";
  }
  return "torch.float32";
}

// [rows, cols] int8 codes -> int32 [rows, packed_words(cols)].
torch::Tensor pack_rows(const torch::Tensor& codes, int num_bits) {
  const auto c = codes.contiguous();
  const int64_t rows = c.size(0), cols = c.size(1);
  const auto words = quant::pack_int32(c.data_ptr<int8_t>(), rows, cols, num_bits);
  return torch::from_blob(const_cast<int32_t*>(words.data()), {rows, quant::packed_words(cols, num_bits)}, torch::kInt32)
      .clone();
}

torch::Tensor unpack_rows(const torch::Tensor& packed, int64_t rows, int64_t cols, int num_bits) {
  const auto p = packed.contiguous();
  auto out = torch::empty({rows, cols}, torch::kInt8);
  quant::unpack_int32(p.data_ptr<int32_t>(), rows, cols, num_bits, out.data_ptr<int8_t>());
  return out;
}

// compressed-tensors packs zero points along dim 0: transpose, pack the rows, transpose back.
torch::Tensor pack_dim0(const torch::Tensor& zp, int num_bits) {
  return pack_rows(zp.to(torch::kInt8).t().contiguous(), num_bits).t().contiguous();
}

torch::Tensor unpack_dim0(const torch::Tensor& packed, int64_t rows, int64_t cols, int num_bits) {
  return unpack_rows(packed.t().contiguous(), cols, rows, num_bits).t().contiguous().to(torch::kInt32);
}

// A tensor of the checkpoint with the dtype and shape the encoding needs, or BadInput naming it.
torch::Tensor read_part(const CheckpointTensors& ckpt, const std::string& name, std::initializer_list<DType> dtypes,
                        const std::vector<int64_t>& shape, const std::string& what) {
  if (!ckpt.contains(name)) {
    throw BadInput(ckpt.root().string(), "tensor '" + name + "' is missing: " + what + " needs it");
  }
  const auto& info = ckpt.info(name);
  bool dtype_ok = false;
  std::string allowed;
  for (auto d : dtypes) {
    dtype_ok = dtype_ok || info.dtype == d;
    allowed += std::string(allowed.empty() ? "" : " or ") + dtype_name(d);
  }
  if (!dtype_ok || info.shape != shape) {
    throw BadInput(ckpt.file_of(name).string(), "tensor '" + name + "' is " + dtype_name(info.dtype) + " " +
                                                    base::shape_string(info.shape) + " but " + what + " stores it as " +
                                                    allowed + " " + base::shape_string(shape));
  }
  return ckpt.tensor(name);
}

quant::ScaleDtype scale_dtype_of(DType d) {
  if (d == DType::F16) return quant::ScaleDtype::f16;
  if (d == DType::BF16) return quant::ScaleDtype::bf16;
  return quant::ScaleDtype::f32;
}

}  // namespace

std::vector<StoredTensor> compress(const std::string& module, const QuantizedTensor& q) {
  check(q, module);
  const auto l = q.layout(module);
  const auto& a = q.args;
  std::vector<StoredTensor> out;
  const auto scale = q.scale.to(scale_type(q.scale_dtype)).contiguous();
  if (l.packed) {
    out.push_back({module + ".weight_packed", pack_rows(q.codes, a.num_bits), DType::I32});
    out.push_back({module + ".weight_shape", torch::tensor({l.rows, l.cols}, torch::kInt64), DType::I64});
  } else {
    out.push_back({module + ".weight", q.codes.contiguous(),
                   a.type == quant::QuantType::floating ? DType::F8_E4M3 : DType::I8});
  }
  // compressed-tensors' scale for a tensor strategy is [1], not [1, 1].
  auto shaped = [&](const torch::Tensor& t) { return a.strategy == quant::Strategy::tensor ? t.reshape({1}) : t; };
  out.push_back({module + ".weight_scale", shaped(scale), from_torch(scale.scalar_type())});
  if (l.has_zero_point) {
    if (l.zero_point_packed) {
      out.push_back({module + ".weight_zero_point", pack_dim0(q.zero_point, a.num_bits), DType::I32});
    } else {
      out.push_back({module + ".weight_zero_point", shaped(q.zero_point.to(torch::kInt8).contiguous()), DType::I8});
    }
  }
  if (l.g_idx) out.push_back({module + ".weight_g_idx", q.g_idx.contiguous(), DType::I32});
  if (q.input_qparams) {
    out.push_back({module + ".input_scale", torch::tensor({q.input_qparams->scale}, torch::kFloat32), DType::F32});
    if (q.input_activations && q.input_activations->type == quant::QuantType::integer && !q.input_activations->symmetric) {
      out.push_back({module + ".input_zero_point", torch::tensor({q.input_qparams->zero_point}, torch::kInt8), DType::I8});
    }
  }
  return out;
}

quant::IntQParams read_input_qparams(const CheckpointTensors& ckpt, const std::string& module, const quant::QuantArgs& a) {
  auto scalar = [&](const std::string& name) -> torch::Tensor {
    if (!ckpt.contains(name)) {
      throw BadInput(ckpt.root().string(), "tensor '" + name + "' is missing: the static input scheme of " + module +
                                               " needs its calibrated scale");
    }
    auto t = ckpt.tensor(name);
    if (t.numel() != 1) {
      throw BadInput(ckpt.file_of(name).string(), "tensor '" + name + "' has " + std::to_string(t.numel()) +
                                                      " values; a per-tensor input scale has 1");
    }
    return t.reshape({});
  };
  quant::IntQParams p;
  p.scale = scalar(module + ".input_scale").to(torch::kFloat32).item<float>();
  if (!std::isfinite(p.scale) || p.scale <= 0) {
    throw BadInput(ckpt.file_of(module + ".input_scale").string(),
                   "tensor '" + module + ".input_scale' is " + std::to_string(p.scale) + "; a scale must be positive and finite");
  }
  if (a.type == quant::QuantType::integer && !a.symmetric) {
    p.zero_point = static_cast<int32_t>(scalar(module + ".input_zero_point").to(torch::kInt64).item<int64_t>());
  }
  return p;
}

bool has_compressed_weight(const CheckpointTensors& ckpt, const std::string& module) {
  return ckpt.contains(module + ".weight_scale") || ckpt.contains(module + ".weight_packed");
}

json quantization_config_json(const std::vector<std::pair<std::string, const QuantizedTensor*>>& modules,
                              const std::vector<std::string>& dense_linears) {
  // Groups keyed by what they store: the args' JSON, the format and the scale dtype.
  std::vector<std::tuple<std::string, const QuantizedTensor*, std::vector<std::string>>> groups;
  for (const auto& [name, q] : modules) {
    const std::string key = quant::to_json(q->args).dump() + q->format + quant::to_string(q->scale_dtype) +
                            (q->input_activations ? quant::to_json(*q->input_activations).dump() : "");
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return std::get<0>(g) == key; });
    if (it == groups.end()) {
      groups.emplace_back(key, q, std::vector<std::string>{});
      it = std::prev(groups.end());
    }
    std::get<2>(*it).push_back(name);
  }
  json config_groups = json::object();
  std::string format;
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto* q = std::get<1>(groups[i]);
    auto weights = quant::to_json(q->args);
    weights["scale_dtype"] = torch_dtype_name(q->scale_dtype);
    config_groups["group_" + std::to_string(i)] = {{"targets", std::get<2>(groups[i])},
                                                   {"weights", weights},
                                                   {"input_activations", q->input_activations
                                                                             ? quant::to_json(*q->input_activations)
                                                                             : nlohmann::json(nullptr)},
                                                   {"output_activations", nullptr},
                                                   {"format", q->format}};
    format = format.empty() || format == q->format ? q->format : "mixed-precision";
  }
  return {{"quant_method", "compressed-tensors"},
          {"format", format.empty() ? "dense" : format},
          {"quantization_status", "compressed"},
          {"config_groups", config_groups},
          {"ignore", dense_linears},
          {"kv_cache_scheme", nullptr},
          {"sparsity_config", json::object()},
          {"transform_config", json::object()},
          {"global_compression_ratio", nullptr},
          {"version", "0.19.0"}};
}

QuantizedTensor decompress(const CheckpointTensors& ckpt, const std::string& module, const quant::QuantScheme& scheme) {
  if (!scheme.weights) throw BadInput(ckpt.root().string(), module + ": its quantization_config group has no weights");
  QuantizedTensor q;
  q.args = *scheme.weights;
  q.format = scheme.format;
  q.input_activations = scheme.input_activations;
  const auto& a = q.args;
  const bool is_int = a.type == quant::QuantType::integer;
  const std::string enc = quant::encoding_name(a) + " (" + q.format + ")";
  int64_t rows = 0, cols = 0;
  torch::Tensor codes;
  if (q.format == "pack-quantized") {
    if (!is_int) throw BadInput(ckpt.root().string(), module + ": pack-quantized stores integer weights, not FP8");
    const auto shape = read_part(ckpt, module + ".weight_shape", {DType::I64, DType::I32}, {2}, enc).to(torch::kInt64);
    rows = shape[0].item<int64_t>();
    cols = shape[1].item<int64_t>();
    if (rows <= 0 || cols <= 0) {
      throw BadInput(ckpt.file_of(module + ".weight_shape").string(),
                     "tensor '" + module + ".weight_shape' holds a non-positive size");
    }
    // A 2:4 weight's packed codes are its kept ones (formats/sparse_layout.h).
    const bool two_four = has_sparse_weight(ckpt.parts(), module);
    const auto [dense_rows, dense_cols] =
        two_four ? read_sparse_shape(ckpt.parts(), module, ckpt.root().string()) : std::pair<int64_t, int64_t>{rows, cols};
    if (two_four && (dense_rows != rows || dense_cols != 2 * cols)) {
      throw BadInput(ckpt.file_of(module + ".weight_shape").string(),
                     "tensor '" + module + ".weight_shape' says the kept codes are " + base::shape_string({rows, cols}) +
                         " but '" + module + ".shape' makes a 2:4 weight " + base::shape_string({dense_rows, dense_cols}) +
                         ", which keeps " + base::shape_string({dense_rows, dense_cols / 2}));
    }
    const auto packed = read_part(ckpt, module + ".weight_packed", {DType::I32},
                                  {rows, quant::packed_words(cols, a.num_bits)}, enc + " of a [" + std::to_string(rows) +
                                                                                       ", " + std::to_string(cols) + "] weight");
    codes = unpack_rows(packed, rows, cols, a.num_bits);
    if (two_four) {
      const auto dense = expand_two_four(ckpt.parts(), module, static_cast<const uint8_t*>(codes.data_ptr()), dense_rows,
                                         dense_cols, 1, ckpt.root().string());
      cols = dense_cols;
      codes = torch::empty({rows, cols}, torch::kInt8);
      std::memcpy(codes.data_ptr(), dense.data(), dense.size());
    }
  } else if ((q.format == "int-quantized" || q.format == "naive-quantized" || q.format == "float-quantized") &&
             !ckpt.contains(module + ".weight") && has_sparse_weight(ckpt.parts(), module)) {
    // Codes in a sparse layout (compressed-tensors compresses module.weight after quantizing it).
    const auto d = sparse_decompress(ckpt.parts(), module, {is_int ? DType::I8 : DType::F8_E4M3}, ckpt.root().string());
    rows = d.rows;
    cols = d.cols;
    codes = torch::empty({rows, cols}, is_int ? torch::kInt8 : torch::kUInt8);
    std::memcpy(codes.data_ptr(), d.bytes.data(), d.bytes.size());
  } else if (q.format == "int-quantized" || q.format == "naive-quantized" || q.format == "float-quantized") {
    if (!ckpt.contains(module + ".weight")) {
      throw BadInput(ckpt.root().string(), "tensor '" + module + ".weight' is missing: " + enc + " needs it");
    }
    const auto& info = ckpt.info(module + ".weight");
    if (info.shape.size() != 2) {
      throw BadInput(ckpt.file_of(module + ".weight").string(), "tensor '" + module + ".weight' is not a matrix");
    }
    rows = info.shape[0];
    cols = info.shape[1];
    codes = read_part(ckpt, module + ".weight", {is_int ? DType::I8 : DType::F8_E4M3}, {rows, cols}, enc).clone();
  } else {
    throw BadInput(ckpt.root().string(), module + ": format '" + q.format + "' cannot be read");
  }
  q.codes = codes;
  // Activation-ordered groups (GPTQ actorder "group"): each column's group, any order.
  if (ckpt.contains(module + ".weight_g_idx")) {
    q.g_idx = read_part(ckpt, module + ".weight_g_idx", {DType::I32, DType::I64}, {cols}, enc).to(torch::kInt32).contiguous();
  }
  const auto l = quant::weight_layout(a, q.format, rows, cols, module);
  const std::vector<int64_t> unit_shape =
      a.strategy == quant::Strategy::tensor ? std::vector<int64_t>{1} : std::vector<int64_t>{l.scale_rows, l.scale_cols};
  const auto scale_name = module + ".weight_scale";
  const auto scale = read_part(ckpt, scale_name, {DType::F32, DType::F16, DType::BF16}, unit_shape, enc);
  q.scale_dtype = scale_dtype_of(ckpt.info(scale_name).dtype);
  q.scale = scale.to(torch::kFloat32).reshape({l.scale_rows, l.scale_cols}).contiguous();
  const auto zp_name = module + ".weight_zero_point";
  if (l.has_zero_point) {
    if (l.zero_point_packed) {
      const auto packed = read_part(ckpt, zp_name, {DType::I32}, {quant::packed_words(l.scale_rows, a.num_bits), l.scale_cols}, enc);
      q.zero_point = unpack_dim0(packed, l.scale_rows, l.scale_cols, a.num_bits);
    } else {
      q.zero_point = read_part(ckpt, zp_name, {DType::I8, DType::I32}, unit_shape, enc)
                         .to(torch::kInt32)
                         .reshape({l.scale_rows, l.scale_cols})
                         .contiguous();
    }
  } else if (ckpt.contains(zp_name)) {
    // compressed-tensors drops a symmetric zero point; one that is there must be all zero.
    if (ckpt.tensor(zp_name).ne(0).any().item<bool>()) {
      throw BadInput(ckpt.file_of(zp_name).string(), "tensor '" + zp_name + "' is non-zero but " + enc + " is symmetric");
    }
  }
  try {
    check(q, module);
  } catch (const BadInput& e) {
    throw BadInput(ckpt.file_of(scale_name).string(), module + ": " + e.detail());
  }
  return q;
}

}  // namespace compressor::formats
