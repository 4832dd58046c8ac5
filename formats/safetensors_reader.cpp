#include "formats/safetensors_reader.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "compressor/base/checked.h"
#include "compressor/base/error.h"
#include "compressor/base/quote.h"
#include "formats/mapped_file.h"

// The file stores little-endian integers and tensor bytes; we map them as they are.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors zero-copy loading assumes a little-endian host"
#endif

namespace compressor::formats {

namespace fs = std::filesystem;
using base::checked_mul;
using base::in_quotes;
using ojson = nlohmann::ordered_json;  // keeps the header's tensor order ("file order")

namespace {

// A header bigger than this is not a real checkpoint but a corrupt length field; refusing it
// early avoids parsing (or allocating for) gigabytes of garbage.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;
constexpr const char* kMetadataKey = kSafetensorsMetadataKey;

struct DTypeRow {
  DType dtype;
  const char* name;
  std::size_t size;
};

constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8},  {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},  {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

const DTypeRow& row(DType d) {
  for (const auto& r : kDTypes) {
    if (r.dtype == d) return r;
  }
  throw InternalError("safetensors", "dtype enum value out of range");
}

std::string supported_dtypes() {
  std::string s;
  for (const auto& r : kDTypes) s += std::string(s.empty() ? "" : ", ") + r.name;
  return s;
}

// Rejects duplicate keys anywhere in the header. nlohmann keeps the last of two equal keys
// silently, which would let two tensors with the same name hide one another.
class DuplicateKeyCheck {
 public:
  bool operator()(int /*depth*/, ojson::parse_event_t event, ojson& parsed) {
    switch (event) {
      case ojson::parse_event_t::object_start:
        keys_.emplace_back();
        break;
      case ojson::parse_event_t::object_end:
        if (!keys_.empty()) keys_.pop_back();
        break;
      case ojson::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        if (!keys_.empty() && !keys_.back().insert(key).second && duplicate_.empty()) {
          duplicate_ = key;
          top_level_ = keys_.size() == 1;
        }
        break;
      }
      default:
        break;
    }
    return true;
  }
  std::string duplicate_;
  bool top_level_ = false;

 private:
  std::vector<std::set<std::string>> keys_;
};

// Reads one non-negative integer out of a JSON value; floats, negatives and strings are errors.
bool as_u64(const ojson& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

TensorInfo parse_entry(const fs::path& path, const std::string& name, const ojson& e) {
  const std::string where = safetensors_tensor_where(path, name);
  if (!e.is_object()) throw BadInput(where, "header entry is not an object");
  for (const auto& item : e.items()) {
    const std::string& k = item.key();
    if (k != "dtype" && k != "shape" && k != "data_offsets") {
      throw BadInput(where, "unknown key " + in_quotes(k) + " (expected dtype, shape, data_offsets)");
    }
  }
  TensorInfo info;
  info.name = name;

  auto dt = e.find("dtype");
  if (dt == e.end()) throw BadInput(where, "missing 'dtype'");
  if (!dt->is_string()) throw BadInput(where, "'dtype' is not a string");
  if (!parse_dtype(dt->get<std::string>(), &info.dtype)) {
    throw BadInput(where, "unsupported dtype " + in_quotes(dt->get<std::string>()) +
                              " (supported: " + supported_dtypes() + ")");
  }

  auto sh = e.find("shape");
  if (sh == e.end()) throw BadInput(where, "missing 'shape'");
  if (!sh->is_array()) throw BadInput(where, "'shape' is not an array");
  uint64_t numel = 1;
  for (std::size_t i = 0; i < sh->size(); ++i) {
    const ojson& d = (*sh)[i];
    if (!d.is_number_integer()) {
      throw BadInput(where, "shape[" + std::to_string(i) + "] is not an integer: " + d.dump());
    }
    if (d.is_number_unsigned() ? d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                               : d.get<int64_t>() < 0) {
      throw BadInput(where, "shape[" + std::to_string(i) + "] is out of range: " + d.dump());
    }
    const auto dim = d.get<int64_t>();
    if (!checked_mul(numel, static_cast<uint64_t>(dim), &numel) ||
        numel > static_cast<uint64_t>(INT64_MAX)) {
      throw BadInput(where, "shape " + sh->dump() + " has more elements than fit in 64 bits");
    }
    info.shape.push_back(dim);
  }

  auto off = e.find("data_offsets");
  if (off == e.end()) throw BadInput(where, "missing 'data_offsets'");
  if (!off->is_array() || off->size() != 2 || !as_u64((*off)[0], &info.begin) ||
      !as_u64((*off)[1], &info.end)) {
    throw BadInput(where, "'data_offsets' must be [begin, end] with non-negative integers, got " +
                              off->dump());
  }
  if (info.begin > info.end) {
    throw BadInput(where, "data_offsets begin " + std::to_string(info.begin) + " > end " +
                              std::to_string(info.end));
  }
  uint64_t bytes = 0;
  if (!checked_mul(numel, dtype_size(info.dtype), &bytes)) {
    throw BadInput(where, "byte size of shape " + sh->dump() + " overflows 64 bits");
  }
  if (bytes != info.end - info.begin) {
    throw BadInput(where, "shape " + sh->dump() + " of " + dtype_name(info.dtype) + " needs " +
                              std::to_string(bytes) + " bytes but data_offsets [" +
                              std::to_string(info.begin) + ", " + std::to_string(info.end) +
                              "] span " + std::to_string(info.end - info.begin));
  }
  return info;
}

std::map<std::string, std::string> parse_metadata(const fs::path& path, const ojson& m) {
  const std::string where = path.string() + ": " + kMetadataKey;
  if (!m.is_object()) throw BadInput(where, "is not an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& item : m.items()) {
    if (!item.value().is_string()) {
      throw BadInput(where, "value of " + in_quotes(item.key()) + " is not a string");
    }
    out.emplace(item.key(), item.value().get<std::string>());
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// dtypes and helpers shared with the writer

const char* dtype_name(DType d) { return row(d).name; }
std::size_t dtype_size(DType d) { return row(d).size; }

bool parse_dtype(const std::string& s, DType* out) {
  for (const auto& r : kDTypes) {
    if (s == r.name) {
      *out = r.dtype;
      return true;
    }
  }
  return false;
}

std::string supported_safetensors_dtypes() { return supported_dtypes(); }

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. Checked
// before JSON parsing so the error can say "not UTF-8" and where, instead of a lexer message.
bool safetensors_utf8_valid(const char* s, std::size_t n, std::size_t* bad_at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    std::size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      if (bad_at) *bad_at = i;
      return false;
    }
    bool ok = i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      if (bad_at) *bad_at = i;
      return false;
    }
    i += len;
  }
  return true;
}

std::string safetensors_tensor_where(const fs::path& path, const std::string& name) {
  return path.string() + ": tensor " + in_quotes(name);
}

// ---------------------------------------------------------------------------------------------
// Reading

SafetensorsReader::~SafetensorsReader() = default;

std::shared_ptr<SafetensorsReader> SafetensorsReader::open(const fs::path& path) {
  std::shared_ptr<SafetensorsReader> f(new SafetensorsReader());
  f->load(path);
  return f;
}

void SafetensorsReader::load(const fs::path& path) {
  SafetensorsReader* f = this;
  f->path_ = path;
  const std::string where = path.string();

  // Writable copy-on-write mapping: tensors viewing it can be written without reaching the file.
  f->mapping_ = MappedFile::open(path, "safetensors file", /*writable=*/true);
  f->file_size_ = f->mapping_->size();
  if (f->file_size_ < 8) {
    throw BadInput(where, "truncated safetensors file: " + std::to_string(f->file_size_) +
                              " bytes, shorter than the 8-byte header length");
  }
  const uint8_t* base = f->mapping_->data();

  uint64_t header_len = 0;
  std::memcpy(&header_len, base, 8);
  if (header_len > kMaxHeaderBytes) {
    throw BadInput(where, "header length " + std::to_string(header_len) +
                              " is absurd (limit " + std::to_string(kMaxHeaderBytes) +
                              " bytes): not a safetensors file or corrupt");
  }
  if (header_len > f->file_size_ - 8) {
    throw BadInput(where, "header length " + std::to_string(header_len) +
                              " runs past the end of the file (" +
                              std::to_string(f->file_size_) + " bytes): truncated file");
  }
  f->data_start_ = 8 + header_len;
  const char* hbegin = reinterpret_cast<const char*>(base + 8);
  const char* hend = hbegin + header_len;

  std::size_t bad_at = 0;
  if (!safetensors_utf8_valid(hbegin, header_len, &bad_at)) {
    throw BadInput(where, "header is not valid UTF-8 (byte " + std::to_string(bad_at) +
                              " of the header)");
  }
  // nlohmann's lexer takes a NUL byte for end of input and would ignore whatever follows it;
  // JSON allows no raw NUL anywhere, so any NUL means the header is not JSON.
  if (const void* nul = std::memchr(hbegin, '\0', header_len)) {
    throw BadInput(where, "header is not valid JSON: NUL byte at header offset " +
                              std::to_string(static_cast<const char*>(nul) - hbegin));
  }
  DuplicateKeyCheck dups;
  ojson header;
  try {
    // Trailing spaces (the spec's alignment padding) are JSON whitespace and parse fine.
    header = ojson::parse(hbegin, hend, std::ref(dups));
  } catch (const ojson::parse_error& e) {
    throw BadInput(where, std::string("header is not valid JSON: ") + e.what());
  }
  if (!dups.duplicate_.empty()) {
    throw BadInput(dups.top_level_ ? safetensors_tensor_where(path, dups.duplicate_) : where,
                   "duplicate key " + in_quotes(dups.duplicate_) + " in header");
  }
  if (!header.is_object()) throw BadInput(where, "header is not a JSON object");

  const uint64_t data_size = f->file_size_ - f->data_start_;
  for (const auto& item : header.items()) {
    if (item.key() == kMetadataKey) {
      f->metadata_ = parse_metadata(path, item.value());
      continue;
    }
    TensorInfo info = parse_entry(path, item.key(), item.value());
    if (info.end > data_size) {
      throw BadInput(safetensors_tensor_where(path, info.name),
                     "data_offsets end " + std::to_string(info.end) +
                         " is past the end of the data section (" + std::to_string(data_size) +
                         " bytes): truncated file or corrupt offsets");
    }
    f->index_.emplace(info.name, f->tensors_.size());
    f->tensors_.push_back(std::move(info));
  }

  // Overlap check: sorted by begin, each non-empty tensor must start at or after the end of
  // the previous non-empty one. Zero-byte tensors occupy nothing and cannot overlap. Gaps are
  // allowed: the spec does not forbid them and they are harmless.
  std::vector<const TensorInfo*> by_begin;
  for (const auto& t : f->tensors_) {
    if (t.end > t.begin) by_begin.push_back(&t);
  }
  std::sort(by_begin.begin(), by_begin.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->name < b->name;
  });
  for (std::size_t i = 1; i < by_begin.size(); ++i) {
    const TensorInfo& prev = *by_begin[i - 1];
    const TensorInfo& cur = *by_begin[i];
    if (cur.begin < prev.end) {
      throw BadInput(safetensors_tensor_where(path, cur.name),
                     "data [" + std::to_string(cur.begin) + ", " + std::to_string(cur.end) +
                         ") overlaps tensor " + in_quotes(prev.name) + " [" +
                         std::to_string(prev.begin) + ", " + std::to_string(prev.end) + ")");
    }
  }
}

bool SafetensorsReader::contains(const std::string& name) const { return index_.count(name) != 0; }

const TensorInfo& SafetensorsReader::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw BadInput(safetensors_tensor_where(path_, name), "no such tensor in file");
  return tensors_[it->second];
}

const uint8_t* SafetensorsReader::data(const TensorInfo& info) const {
  return mapping_->data() + data_start_ + info.begin;
}

void SafetensorsReader::release_pages(const std::string& name) const {
  const TensorInfo& ti = info(name);
  release_mapped_pages(data(ti), ti.end - ti.begin);
}

uint8_t* SafetensorsReader::mapped(const TensorInfo& info) const { return mapping_->data() + data_start_ + info.begin; }

std::string SafetensorsReader::where(const std::string& name) const { return safetensors_tensor_where(path_, name); }

}  // namespace compressor::formats
