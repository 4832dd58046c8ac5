#include "formats/gguf.h"

#include <algorithm>
#include <cstring>

#include "compressor/base/checked.h"
#include "compressor/base/error.h"
#include "compressor/base/quote.h"
#include "compressor/quant/gguf_blocks.h"
#include "formats/mapped_file.h"

// GGUF is little-endian (big-endian variants exist and are rejected by the version check).
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

namespace compressor::formats {

namespace fs = std::filesystem;
using base::checked_add;
using base::checked_mul;
using base::in_quotes;

namespace {

constexpr uint32_t kMinVersion = 2, kMaxVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = 1ull << 30;
constexpr uint32_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 64;      // nested arrays deeper than this are not a real file
constexpr uint64_t kHeaderBytes = 24;   // magic + version + tensor count + kv count
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;           // empty key, type, smallest value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset


// Smallest encoding of one element of an array of this type: bounds how many elements a
// count can honestly claim in the bytes that remain.
uint64_t min_value_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING: return 8;
    case GgufValueType::ARRAY: return 12;
  }
  return 1;
}

std::string num(uint64_t v) { return std::to_string(v); }


// Sequential little-endian reads over the mapping; every read is bounds-checked and an error
// names `where` (file plus key or tensor) and the file offset.
class Reader {
 public:
  Reader(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const std::string& where, const std::string& what) const {
    if (n > remaining()) {
      throw BadInput(where, what + " at offset " + num(pos_) + " needs " + num(n) +
                                " bytes but the file (" + num(size_) +
                                " bytes) ends first: truncated or corrupt file");
    }
  }
  template <class T>
  T read(const std::string& where, const std::string& what) {
    need(sizeof(T), where, what);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const std::string& where, const std::string& what) {
    const uint64_t at = pos_;
    const auto len = read<uint64_t>(where, what + " length");
    if (len > remaining()) {
      throw BadInput(where, what + " length " + num(len) + " at offset " + num(at) +
                                " runs past the end of the file (" + num(size_) +
                                " bytes): truncated or corrupt file");
    }
    std::string s(reinterpret_cast<const char*>(base_ + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

GgufValueType read_value_type(Reader& r, const std::string& where, const std::string& what) {
  const uint64_t at = r.pos();
  const auto t = r.read<uint32_t>(where, what);
  if (t >= kGgufValueTypeCount) {
    throw BadInput(where, what + " " + num(t) + " at offset " + num(at) +
                              " is not a GGUF value type (0..12)");
  }
  return static_cast<GgufValueType>(t);
}

bool read_bool(Reader& r, const std::string& where) {
  const uint64_t at = r.pos();
  const auto b = r.read<uint8_t>(where, "bool value");
  if (b > 1) throw BadInput(where, "bool at offset " + num(at) + " is " + num(b) + ", not 0 or 1");
  return b != 0;
}

// Reads one scalar of an integer or float type into the array's vector or into a value.
template <class Sink>
void read_scalar(Reader& r, GgufValueType t, const std::string& where, Sink&& sink) {
  switch (t) {
    case GgufValueType::UINT8: sink(uint64_t{r.read<uint8_t>(where, "uint8 value")}); break;
    case GgufValueType::UINT16: sink(uint64_t{r.read<uint16_t>(where, "uint16 value")}); break;
    case GgufValueType::UINT32: sink(uint64_t{r.read<uint32_t>(where, "uint32 value")}); break;
    case GgufValueType::UINT64: sink(uint64_t{r.read<uint64_t>(where, "uint64 value")}); break;
    case GgufValueType::INT8: sink(int64_t{r.read<int8_t>(where, "int8 value")}); break;
    case GgufValueType::INT16: sink(int64_t{r.read<int16_t>(where, "int16 value")}); break;
    case GgufValueType::INT32: sink(int64_t{r.read<int32_t>(where, "int32 value")}); break;
    case GgufValueType::INT64: sink(int64_t{r.read<int64_t>(where, "int64 value")}); break;
    case GgufValueType::FLOAT32: sink(double{r.read<float>(where, "float32 value")}); break;
    case GgufValueType::FLOAT64: sink(double{r.read<double>(where, "float64 value")}); break;
    case GgufValueType::BOOL: sink(read_bool(r, where)); break;
    default: throw InternalError("gguf", "read_scalar on a non-scalar type");
  }
}

GgufArray read_array(Reader& r, const std::string& where, int depth) {
  if (depth > kMaxArrayDepth) {
    throw BadInput(where, "arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep");
  }
  GgufArray a;
  a.type = read_value_type(r, where, "array element type");
  const uint64_t at = r.pos();
  const auto count = r.read<uint64_t>(where, "array length");
  if (count > r.remaining() / min_value_bytes(a.type)) {
    throw BadInput(where, "array length " + num(count) + " at offset " + num(at) + " of " +
                              gguf_value_type_name(a.type) + " runs past the end of the file (" +
                              num(r.remaining()) + " bytes left): truncated or corrupt file");
  }
  const auto n = static_cast<std::size_t>(count);
  switch (a.type) {
    case GgufValueType::STRING:
      a.strings.reserve(n);
      for (std::size_t i = 0; i < n; ++i) a.strings.push_back(r.read_string(where, "string"));
      break;
    case GgufValueType::ARRAY:
      a.arrays.reserve(n);
      for (std::size_t i = 0; i < n; ++i) a.arrays.push_back(read_array(r, where, depth + 1));
      break;
    case GgufValueType::FLOAT32: case GgufValueType::FLOAT64:
      a.floats.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        read_scalar(r, a.type, where, [&](auto v) { a.floats.push_back(static_cast<double>(v)); });
      }
      break;
    case GgufValueType::INT8: case GgufValueType::INT16: case GgufValueType::INT32:
    case GgufValueType::INT64:
      a.ints.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        read_scalar(r, a.type, where, [&](auto v) { a.ints.push_back(static_cast<int64_t>(v)); });
      }
      break;
    default:  // unsigned integers and bool
      a.uints.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        read_scalar(r, a.type, where, [&](auto v) { a.uints.push_back(static_cast<uint64_t>(v)); });
      }
      break;
  }
  return a;
}

GgufValue read_value(Reader& r, GgufValueType t, const std::string& where) {
  GgufValue v;
  v.type = t;
  if (t == GgufValueType::STRING) {
    v.value = r.read_string(where, "string value");
  } else if (t == GgufValueType::ARRAY) {
    v.value = read_array(r, where, 1);
  } else {
    read_scalar(r, t, where, [&](auto x) { v.value = x; });
  }
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Types

std::size_t GgufArray::size() const {
  return uints.size() + ints.size() + floats.size() + strings.size() + arrays.size();
}

std::vector<int64_t> GgufTensorInfo::shape() const {
  return std::vector<int64_t>(ne.rbegin(), ne.rend());
}

// ---------------------------------------------------------------------------------------------
// Reading

GgufFile::~GgufFile() = default;

std::shared_ptr<GgufFile> GgufFile::open(const fs::path& path) {
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  const std::string file = path.string();
  auto key_where = [&](const std::string& key) { return file + ": key " + in_quotes(key); };
  auto tensor_where = [&](const std::string& name) { return file + ": tensor " + in_quotes(name); };

  f->mapping_ = MappedFile::open(path, "GGUF file", /*writable=*/false);
  f->file_size_ = f->mapping_->size();
  if (f->file_size_ < kHeaderBytes) {
    throw BadInput(file, "truncated GGUF file: " + num(f->file_size_) +
                             " bytes, shorter than the 24-byte header");
  }

  Reader r(f->mapping_->data(), f->file_size_);
  char magic[4];
  std::memcpy(magic, f->mapping_->data(), 4);
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    std::string shown;
    for (char c : magic) shown += (c >= 32 && c < 127) ? std::string(1, c) : "\\x" + num(uint8_t(c));
    throw BadInput(file, "not a GGUF file: magic is '" + shown + "', expected 'GGUF'");
  }
  r.read<uint32_t>(file, "magic");
  f->version_ = r.read<uint32_t>(file, "version");
  if (f->version_ < kMinVersion || f->version_ > kMaxVersion) {
    const uint32_t swapped = __builtin_bswap32(f->version_);
    if (swapped >= kMinVersion && swapped <= kMaxVersion) {
      throw BadInput(file, "big-endian GGUF file (version " + num(swapped) +
                               " byte-swapped): only little-endian files are supported");
    }
    throw BadInput(file, "GGUF version " + num(f->version_) + " is not supported (supported: 2, 3)");
  }
  const auto tensor_count = r.read<uint64_t>(file, "tensor count");
  const auto kv_count = r.read<uint64_t>(file, "metadata count");
  if (kv_count > r.remaining() / kMinKvBytes) {
    throw BadInput(file, "metadata count " + num(kv_count) + " cannot fit in the " +
                             num(r.remaining()) + " bytes after the header: corrupt file");
  }
  if (tensor_count > r.remaining() / kMinTensorInfoBytes) {
    throw BadInput(file, "tensor count " + num(tensor_count) + " cannot fit in the " +
                             num(r.remaining()) + " bytes after the header: corrupt file");
  }

  // Metadata.
  f->metadata_.reserve(static_cast<std::size_t>(kv_count));
  for (uint64_t i = 0; i < kv_count; ++i) {
    const std::string entry_where = file + ": metadata entry " + num(i);
    std::string key = r.read_string(entry_where, "key");
    const std::string where = key_where(key);
    if (f->kv_index_.count(key)) throw BadInput(where, "duplicate metadata key");
    const GgufValueType t = read_value_type(r, where, "value type");
    GgufValue v = read_value(r, t, where);
    f->kv_index_.emplace(key, f->metadata_.size());
    f->metadata_.emplace_back(std::move(key), std::move(v));
  }

  // general.alignment: a power of two, default 32.
  if (f->has("general.alignment")) {
    const uint64_t a = f->get_uint("general.alignment");
    if (a == 0 || (a & (a - 1)) != 0 || a > kMaxAlignment) {
      throw BadInput(key_where("general.alignment"),
                     num(a) + " is not a power of two between 1 and " + num(kMaxAlignment));
    }
    f->alignment_ = a;
  } else {
    f->alignment_ = kDefaultAlignment;
  }

  // Tensor infos.
  f->tensors_.reserve(static_cast<std::size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = r.read_string(file + ": tensor info " + num(i), "tensor name");
    const std::string where = tensor_where(t.name);
    if (f->tensor_index_.count(t.name)) throw BadInput(where, "duplicate tensor name");
    const auto n_dims = r.read<uint32_t>(where, "dimension count");
    if (n_dims > kMaxDims) {
      throw BadInput(where, num(n_dims) + " dimensions (ggml allows at most " + num(kMaxDims) + ")");
    }
    t.numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const auto ne = r.read<uint64_t>(where, "ne[" + num(d) + "]");
      if (ne > static_cast<uint64_t>(INT64_MAX) || !checked_mul(t.numel, ne, &t.numel) ||
          t.numel > static_cast<uint64_t>(INT64_MAX)) {
        throw BadInput(where, "ne[" + num(d) + "] = " + num(ne) +
                                  ": element count does not fit in 63 bits");
      }
      t.ne.push_back(ne);
    }
    const uint64_t type_at = r.pos();
    t.type = r.read<uint32_t>(where, "ggml type");
    const GgmlTypeInfo* row = ggml_type_info(t.type);
    if (row == nullptr) {
      throw BadInput(where, "unknown ggml type id " + num(t.type) + " at offset " + num(type_at) +
                                " (supported: " + ggml_supported_types() + ")");
    }
    const uint64_t ne0 = t.ne.empty() ? 1 : t.ne[0];
    if (ne0 % row->block != 0) {
      throw BadInput(where, std::string("ne[0] = ") + num(ne0) + " is not a multiple of the " +
                                row->name + " block size " + num(row->block));
    }
    if (!checked_mul(t.numel / row->block, row->bytes, &t.size)) {
      throw BadInput(where, "byte size overflows 64 bits");
    }
    t.offset = r.read<uint64_t>(where, "data offset");
    if (t.offset % f->alignment_ != 0) {
      throw BadInput(where, "data offset " + num(t.offset) + " is not a multiple of the alignment " +
                                num(f->alignment_));
    }
    f->tensor_index_.emplace(t.name, f->tensors_.size());
    f->tensors_.push_back(std::move(t));
  }

  // Data section: starts at the next multiple of the alignment after the tensor infos.
  const uint64_t pad = (f->alignment_ - r.pos() % f->alignment_) % f->alignment_;
  f->data_start_ = r.pos() + pad;
  const uint64_t data_size = f->data_start_ <= f->file_size_ ? f->file_size_ - f->data_start_ : 0;
  for (const auto& t : f->tensors_) {
    uint64_t end = 0;
    if (!checked_add(t.offset, t.size, &end) || end > data_size) {
      throw BadInput(tensor_where(t.name),
                     "data [" + num(t.offset) + ", +" + num(t.size) + " bytes) lies outside the " +
                         num(data_size) + "-byte data section (starting at file offset " +
                         num(f->data_start_) + "): truncated file or corrupt offset");
    }
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& t : f->tensors_) {
    if (t.size > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const GgufTensorInfo* a, const GgufTensorInfo* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->name < b->name;
  });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    const GgufTensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.size) {
      throw BadInput(tensor_where(cur.name),
                     "data [" + num(cur.offset) + ", " + num(cur.offset + cur.size) +
                         ") overlaps tensor " + in_quotes(prev.name) + " [" + num(prev.offset) +
                         ", " + num(prev.offset + prev.size) + ")");
    }
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Metadata getters

const GgufValue& GgufFile::value(const std::string& key) const {
  auto it = kv_index_.find(key);
  if (it == kv_index_.end()) {
    throw BadInput(path_.string() + ": key " + in_quotes(key), "no such metadata key");
  }
  return metadata_[it->second].second;
}

namespace {
[[noreturn]] void wrong_type(const fs::path& path, const std::string& key, const char* expected,
                             GgufValueType found) {
  throw BadInput(path.string() + ": key " + in_quotes(key),
                 std::string("expected ") + expected + ", found " + gguf_value_type_name(found));
}
}  // namespace

const std::string& GgufFile::get_string(const std::string& key) const {
  const GgufValue& v = value(key);
  if (v.type != GgufValueType::STRING) wrong_type(path_, key, "string", v.type);
  return std::get<std::string>(v.value);
}

int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* i = std::get_if<int64_t>(&v.value)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v.value)) {
    if (*u > static_cast<uint64_t>(INT64_MAX)) {
      throw BadInput(path_.string() + ": key " + in_quotes(key),
                     "value " + num(*u) + " does not fit in int64");
    }
    return static_cast<int64_t>(*u);
  }
  wrong_type(path_, key, "an integer", v.type);
}

uint64_t GgufFile::get_uint(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* u = std::get_if<uint64_t>(&v.value)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v.value)) {
    if (*i < 0) {
      throw BadInput(path_.string() + ": key " + in_quotes(key),
                     "value " + std::to_string(*i) + " is negative, expected a non-negative integer");
    }
    return static_cast<uint64_t>(*i);
  }
  wrong_type(path_, key, "an unsigned integer", v.type);
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* d = std::get_if<double>(&v.value)) return *d;
  wrong_type(path_, key, "float32 or float64", v.type);
}

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* b = std::get_if<bool>(&v.value)) return *b;
  wrong_type(path_, key, "bool", v.type);
}

const GgufArray& GgufFile::get_array(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* a = std::get_if<GgufArray>(&v.value)) return *a;
  wrong_type(path_, key, "array", v.type);
}

// ---------------------------------------------------------------------------------------------
// Tensors

const GgufTensorInfo& GgufFile::info(const std::string& name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) {
    throw BadInput(path_.string() + ": tensor " + in_quotes(name), "no such tensor in file");
  }
  return tensors_[it->second];
}

const uint8_t* GgufFile::data(const GgufTensorInfo& info) const {
  return mapping_->data() + data_start_ + info.offset;
}

torch::Tensor GgufFile::dequantize(const std::string& name) const {
  namespace dq = quant::gguf;
  const GgufTensorInfo& t = info(name);
  using Fn = void (*)(const uint8_t*, float*, std::size_t);
  Fn fn = nullptr;
  switch (static_cast<GgmlType>(t.type)) {
    case GgmlType::F32: fn = dq::dequantize_f32; break;
    case GgmlType::F16: fn = dq::dequantize_f16; break;
    case GgmlType::BF16: fn = dq::dequantize_bf16; break;
    case GgmlType::Q8_0: fn = dq::dequantize_q8_0; break;
    case GgmlType::Q4_0: fn = dq::dequantize_q4_0; break;
    case GgmlType::Q4_1: fn = dq::dequantize_q4_1; break;
    case GgmlType::Q5_0: fn = dq::dequantize_q5_0; break;
    case GgmlType::Q5_1: fn = dq::dequantize_q5_1; break;
    case GgmlType::Q4_K: fn = dq::dequantize_q4_k; break;
    case GgmlType::Q5_K: fn = dq::dequantize_q5_k; break;
    case GgmlType::Q6_K: fn = dq::dequantize_q6_k; break;
  }
  if (fn == nullptr) {
    throw BadInput(path_.string() + ": tensor " + in_quotes(name),
                   "ggml type " + ggml_type_name(t.type) + " cannot be dequantized (supported: " +
                       ggml_supported_types() + ")");
  }
  torch::Tensor out = torch::empty(t.shape(), torch::kFloat32);
  if (t.numel > 0) fn(data(t), out.data_ptr<float>(), static_cast<std::size_t>(t.numel));
  release_mapped_pages(data(t), t.size);  // read-only mapping: the float copy is all that is kept
  return out;
}

}  // namespace compressor::formats
