#include "formats/sparse_layout.h"

#include <cstring>
#include <tuple>

#include "compressor/base/error.h"

namespace compressor::formats {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool bit(const uint8_t* row, int64_t c) { return (row[c >> 3] >> (c & 7)) & 1; }

// The part `name`, present, of one of `dtypes` and (when `shape` is given) exactly that shape.
PartView need(const FindPart& find, const std::string& name, const std::vector<DType>& dtypes,
              const std::optional<std::vector<int64_t>>& shape, const std::string& what, const std::string& file) {
  auto p = find(name);
  if (!p) throw BadInput(file, "tensor '" + name + "' is missing: " + what + " needs it");
  bool ok = false;
  std::string allowed;
  for (auto d : dtypes) {
    ok = ok || p->info.dtype == d;
    allowed += std::string(allowed.empty() ? "" : " or ") + dtype_name(d);
  }
  if (!ok || (shape && p->info.shape != *shape)) {
    throw BadInput(p->where, std::string("is ") + dtype_name(p->info.dtype) + " " + shape_text(p->info.shape) + " but " +
                                 what + " stores it as " + allowed + (shape ? " " + shape_text(*shape) : ""));
  }
  return *p;
}

int64_t read_int(const PartView& p, int64_t i) {
  if (p.info.dtype == DType::I64) {
    int64_t v;
    std::memcpy(&v, p.data + 8 * i, 8);
    return v;
  }
  int32_t v;
  std::memcpy(&v, p.data + 4 * i, 4);
  return v;
}

}  // namespace

const char* sparse_format_name(SparseFormat f) {
  switch (f) {
    case SparseFormat::dense: return "dense";
    case SparseFormat::bitmask: return "sparse-bitmask";
    case SparseFormat::two_four: return "sparse-24-bitmask";
  }
  return "dense";
}

std::optional<SparseFormat> parse_sparse_format(const std::string& name) {
  for (auto f : {SparseFormat::dense, SparseFormat::bitmask, SparseFormat::two_four}) {
    if (name == sparse_format_name(f)) return f;
  }
  return std::nullopt;
}

bool element_is_zero(const uint8_t* data, int64_t index, size_t elem_size, bool floating) {
  const uint8_t* p = data + static_cast<size_t>(index) * elem_size;
  for (size_t b = 0; b + 1 < elem_size; ++b) {
    if (p[b]) return false;
  }
  return (p[elem_size - 1] & (floating ? 0x7f : 0xff)) == 0;  // the sign bit is the top one
}

bool is_two_four(const uint8_t* data, int64_t rows, int64_t cols, size_t elem_size, bool floating) {
  if (cols % 4 != 0) return false;
  for (int64_t g = 0; g < rows * cols; g += 4) {
    int nonzero = 0;
    for (int64_t k = 0; k < 4; ++k) nonzero += element_is_zero(data, g + k, elem_size, floating) ? 0 : 1;
    if (nonzero > 2) return false;
  }
  return true;
}

int64_t count_nonzero(const uint8_t* data, int64_t rows, int64_t cols, size_t elem_size, bool floating) {
  int64_t n = 0;
  for (int64_t i = 0; i < rows * cols; ++i) n += element_is_zero(data, i, elem_size, floating) ? 0 : 1;
  return n;
}

SparseWeight sparse_compress(const uint8_t* data, int64_t rows, int64_t cols, size_t elem_size, bool floating,
                             SparseFormat f) {
  if (f == SparseFormat::dense) throw InternalError("sparse_compress", "the dense format has nothing to compress");
  SparseWeight s;
  s.format = f;
  s.rows = rows;
  s.cols = cols;
  s.elem_size = elem_size;
  const int64_t rb = bitmask_row_bytes(cols);
  s.bitmask.assign(static_cast<size_t>(rows * rb), 0);
  auto keep = [&](int64_t r, int64_t c) {
    s.bitmask[static_cast<size_t>(r * rb + (c >> 3))] |= static_cast<uint8_t>(1u << (c & 7));
    const uint8_t* p = data + static_cast<size_t>(r * cols + c) * elem_size;
    if (element_is_zero(data, r * cols + c, elem_size, floating)) {
      s.values.insert(s.values.end(), elem_size, uint8_t{0});
    } else {
      s.values.insert(s.values.end(), p, p + elem_size);
    }
  };
  if (f == SparseFormat::two_four) {
    if (!is_two_four(data, rows, cols, elem_size, floating)) throw InternalError("sparse_compress", "the weight is not 2:4 sparse");
    s.values.reserve(static_cast<size_t>(rows * cols / 2) * elem_size);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < cols; g += 4) {
        bool kept[4];
        int n = 0;
        for (int k = 0; k < 4; ++k) n += (kept[k] = !element_is_zero(data, r * cols + g + k, elem_size, floating)) ? 1 : 0;
        for (int k = 0; k < 4 && n < 2; ++k) {
          if (!kept[k]) kept[k] = true, ++n;
        }
        for (int k = 0; k < 4; ++k) {
          if (kept[k]) keep(r, g + k);
        }
      }
    }
    return s;
  }
  s.row_offsets.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    s.row_offsets[static_cast<size_t>(r)] = s.kept();
    for (int64_t c = 0; c < cols; ++c) {
      if (!element_is_zero(data, r * cols + c, elem_size, floating)) keep(r, c);
    }
  }
  return s;
}

int64_t sparse_stored_bytes(SparseFormat f, int64_t rows, int64_t cols, int64_t kept, size_t elem_size) {
  const int64_t values = kept * static_cast<int64_t>(elem_size);
  switch (f) {
    case SparseFormat::dense: return rows * cols * static_cast<int64_t>(elem_size);
    case SparseFormat::two_four: return values + rows * bitmask_row_bytes(cols) + 2 * 8;
    case SparseFormat::bitmask: return values + rows * bitmask_row_bytes(cols) + 2 * 8 + rows * 8;
  }
  return 0;
}

bool has_sparse_weight(const FindPart& find, const std::string& module) { return find(module + ".bitmask").has_value(); }

std::pair<int64_t, int64_t> read_sparse_shape(const FindPart& find, const std::string& module, const std::string& file) {
  const std::string name = module + ".shape";
  auto p = need(find, name, {DType::I64, DType::I32}, std::nullopt, "the sparse layout of " + module, file);
  const auto& s = p.info.shape;
  if (!(s == std::vector<int64_t>{2} || s == std::vector<int64_t>{2, 1})) {
    throw BadInput(p.where, "is " + shape_text(s) + " but a sparse weight's shape is stored as [2] or [2, 1]");
  }
  const int64_t rows = read_int(p, 0), cols = read_int(p, 1);
  if (rows <= 0 || cols <= 0) {
    throw BadInput(p.where, "holds " + shape_text({rows, cols}) + "; a weight's sizes must be positive");
  }
  return {rows, cols};
}

const uint8_t* two_four_mask(const FindPart& find, const std::string& module, int64_t rows, int64_t cols,
                             const std::string& file) {
  if (cols % 4 != 0) {
    throw BadInput(file, module + ": a 2:4 weight's width must be a multiple of 4, not " + std::to_string(cols));
  }
  const int64_t rb = bitmask_row_bytes(cols);
  const auto mask = need(find, module + ".bitmask", {DType::U8, DType::I8}, std::vector<int64_t>{rows, rb},
                         "the 2:4 layout of " + module, file);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* m = mask.data + r * rb;
    for (int64_t g = 0; g < cols; g += 4) {
      const int n = bit(m, g) + bit(m, g + 1) + bit(m, g + 2) + bit(m, g + 3);
      if (n != 2) {
        throw BadInput(mask.where, "row " + std::to_string(r) + ", columns " + std::to_string(g) + ".." +
                                       std::to_string(g + 3) + " mark " + std::to_string(n) +
                                       " kept values; 2:4 keeps exactly 2 of every 4");
      }
    }
    for (int64_t c = cols; c < rb * 8; ++c) {
      if (bit(m, c)) throw BadInput(mask.where, "row " + std::to_string(r) + " sets a bit past the last column");
    }
  }
  return mask.data;
}

std::vector<uint8_t> expand_two_four(const FindPart& find, const std::string& module, const uint8_t* kept,
                                     int64_t rows, int64_t cols, size_t elem_size, const std::string& file) {
  const uint8_t* mask = two_four_mask(find, module, rows, cols, file);
  const int64_t rb = bitmask_row_bytes(cols);
  std::vector<uint8_t> out(static_cast<size_t>(rows * cols) * elem_size, 0);
  const uint8_t* from = kept;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < rb; ++b) {  // the set bits of each mask byte, lowest first
      for (unsigned m = mask[r * rb + b]; m; m &= m - 1) {
        const int64_t c = 8 * b + __builtin_ctz(m);
        std::memcpy(out.data() + static_cast<size_t>(r * cols + c) * elem_size, from, elem_size);
        from += elem_size;
      }
    }
  }
  return out;
}

DenseBytes sparse_decompress(const FindPart& find, const std::string& module, const std::vector<DType>& dtypes,
                             const std::string& file) {
  DenseBytes d;
  std::tie(d.rows, d.cols) = read_sparse_shape(find, module, file);
  const std::string name = module + ".compressed";
  const bool bitmask_layout = find(module + ".row_offsets").has_value();
  d.format = bitmask_layout ? SparseFormat::bitmask : SparseFormat::two_four;
  const std::string what = std::string("the ") + (bitmask_layout ? "bitmask" : "2:4") + " layout of " + module;
  if (!bitmask_layout) {
    if (d.cols % 4 != 0) {
      throw BadInput(file, module + ": a 2:4 weight's width must be a multiple of 4, not " + std::to_string(d.cols));
    }
    const auto values = need(find, name, dtypes, std::vector<int64_t>{d.rows, d.cols / 2}, what, file);
    d.dtype = values.info.dtype;
    d.bytes = expand_two_four(find, module, values.data, d.rows, d.cols, dtype_size(d.dtype), file);
    return d;
  }
  const auto values = need(find, name, dtypes, std::nullopt, what, file);
  if (values.info.shape.size() != 1) {
    throw BadInput(values.where, "is " + shape_text(values.info.shape) + " but " + what + " stores it 1-D");
  }
  d.dtype = values.info.dtype;
  const size_t es = dtype_size(d.dtype);
  const int64_t rb = bitmask_row_bytes(d.cols);
  const auto mask = need(find, module + ".bitmask", {DType::U8, DType::I8}, std::vector<int64_t>{d.rows, rb}, what, file);
  const auto offsets = need(find, module + ".row_offsets", {DType::I64, DType::I32}, std::vector<int64_t>{d.rows}, what, file);
  d.bytes.assign(static_cast<size_t>(d.rows * d.cols) * es, 0);
  const int64_t count = values.info.shape[0];
  int64_t next = 0;
  for (int64_t r = 0; r < d.rows; ++r) {
    if (read_int(offsets, r) != next) {
      throw BadInput(offsets.where, "row " + std::to_string(r) + " starts at " + std::to_string(read_int(offsets, r)) +
                                        " but the bitmask's earlier rows hold " + std::to_string(next) + " values");
    }
    const uint8_t* m = mask.data + r * rb;
    for (int64_t c = 0; c < rb * 8; ++c) {
      if (!bit(m, c)) continue;
      if (c >= d.cols) throw BadInput(mask.where, "row " + std::to_string(r) + " sets a bit past the last column");
      if (next >= count) {
        throw BadInput(values.where, "holds " + std::to_string(count) + " values but the bitmask marks more");
      }
      std::memcpy(d.bytes.data() + static_cast<size_t>(r * d.cols + c) * es, values.data + static_cast<size_t>(next) * es, es);
      ++next;
    }
  }
  if (next != count) {
    throw BadInput(values.where, "holds " + std::to_string(count) + " values but the bitmask marks " + std::to_string(next));
  }
  return d;
}

}  // namespace compressor::formats
