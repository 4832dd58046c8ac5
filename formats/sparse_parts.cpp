#include "formats/sparse_parts.h"

#include <cstring>

#include "compressor/base/error.h"
#include "compressor/quant/packing.h"

namespace compressor::formats {

namespace {

torch::Tensor bytes_tensor(const std::vector<uint8_t>& bytes, std::vector<int64_t> shape, torch::ScalarType t) {
  auto out = torch::empty(shape, t);
  if (!bytes.empty()) std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
  return out;
}

torch::Tensor int64_tensor(const std::vector<int64_t>& v, std::vector<int64_t> shape) {
  auto out = torch::empty(shape, torch::kInt64);
  if (!v.empty()) std::memcpy(out.data_ptr(), v.data(), v.size() * sizeof(int64_t));
  return out;
}

// module.bitmask, module.shape (and module.row_offsets) of `s`.
void append_placement(std::vector<StoredTensor>& out, const std::string& module, const SparseWeight& s) {
  out.push_back({module + ".bitmask", bytes_tensor(s.bitmask, {s.rows, bitmask_row_bytes(s.cols)}, torch::kUInt8), DType::U8});
  // compressed-tensors writes the 2:4 shape as a column, the bitmask one flat.
  const std::vector<int64_t> shape_shape = s.format == SparseFormat::two_four ? std::vector<int64_t>{2, 1} : std::vector<int64_t>{2};
  out.push_back({module + ".shape", int64_tensor({s.rows, s.cols}, shape_shape), DType::I64});
  if (s.format == SparseFormat::bitmask) out.push_back({module + ".row_offsets", int64_tensor(s.row_offsets, {s.rows}), DType::I64});
}

// A [rows, cols] tensor's bytes in `f`, or nullopt when `f` does not suit it.
// `floating`: t holds floats, or FP8 bit patterns (uint8), whose -0 is zero too.
std::optional<SparseWeight> compress_if_suited(const torch::Tensor& t, bool floating, SparseFormat f) {
  if (f == SparseFormat::dense || t.dim() != 2) return std::nullopt;
  const auto c = t.contiguous();
  const int64_t rows = c.size(0), cols = c.size(1);
  const size_t es = c.element_size();
  const auto* data = static_cast<const uint8_t*>(c.data_ptr());
  if (f == SparseFormat::two_four && !is_two_four(data, rows, cols, es, floating)) return std::nullopt;
  if (f == SparseFormat::bitmask && sparse_stored_bytes(f, rows, cols, count_nonzero(data, rows, cols, es, floating), es) >=
                                        rows * cols * static_cast<int64_t>(es)) {
    return std::nullopt;
  }
  return sparse_compress(data, rows, cols, es, floating, f);
}

torch::Tensor values_tensor(const SparseWeight& s, torch::ScalarType t) {
  const std::vector<int64_t> shape =
      s.format == SparseFormat::two_four ? std::vector<int64_t>{s.rows, s.cols / 2} : std::vector<int64_t>{s.kept()};
  return bytes_tensor(s.values, shape, t);
}

}  // namespace

std::optional<std::vector<StoredTensor>> sparse_dense_parts(const std::string& module, const torch::Tensor& weight,
                                                            SparseFormat f) {
  const auto s = compress_if_suited(weight, weight.is_floating_point(), f);
  if (!s) return std::nullopt;
  std::vector<StoredTensor> out;
  out.push_back({module + ".compressed", values_tensor(*s, weight.scalar_type()), from_torch(weight.scalar_type())});
  append_placement(out, module, *s);
  return out;
}

std::optional<std::vector<StoredTensor>> sparse_quantized_parts(const std::string& module, const QuantizedTensor& q,
                                                                const std::vector<StoredTensor>& parts, SparseFormat f) {
  const bool packed = q.format == "pack-quantized";
  if (packed && f != SparseFormat::two_four) return std::nullopt;
  const auto s = compress_if_suited(q.codes, q.args.type == quant::QuantType::floating, f);
  if (!s) return std::nullopt;
  std::vector<StoredTensor> out;
  for (const auto& p : parts) {
    if (packed && p.name == module + ".weight_packed") {
      const auto words = quant::pack_int32(reinterpret_cast<const int8_t*>(s->values.data()), s->rows, s->cols / 2, q.args.num_bits);
      auto t = torch::empty({s->rows, quant::packed_words(s->cols / 2, q.args.num_bits)}, torch::kInt32);
      std::memcpy(t.data_ptr(), words.data(), words.size() * sizeof(int32_t));
      out.push_back({p.name, t, DType::I32});
    } else if (packed && p.name == module + ".weight_shape") {
      out.push_back({p.name, torch::tensor({s->rows, s->cols / 2}, torch::kInt64), DType::I64});
      append_placement(out, module, *s);
    } else if (!packed && p.name == module + ".weight") {
      out.push_back({module + ".compressed", values_tensor(*s, p.tensor.scalar_type()), p.dtype});
      append_placement(out, module, *s);
    } else {
      out.push_back(p);
    }
  }
  return out;
}

nlohmann::json sparsity_config_json(SparseFormat f, const std::vector<std::string>& targets,
                                    const std::vector<std::string>& ignore, double global_sparsity) {
  return {{"format", sparse_format_name(f)},
          {"global_sparsity", global_sparsity},
          {"ignore", ignore},
          {"registry_requires_subclass", false},
          {"sparsity_structure", f == SparseFormat::two_four ? "2:4" : "unstructured"},
          {"targets", targets}};
}

}  // namespace compressor::formats
