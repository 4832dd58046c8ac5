#include "formats/gguf_writer.h"

#include <cstring>

#include "compressor/base/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF writer assumes a little-endian host"
#endif

namespace compressor::formats {

namespace {

constexpr uint64_t kAlignment = 32;  // GGUF's default general.alignment
constexpr uint32_t kVersion = 3;

uint64_t padded(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// Little-endian serialisation into a byte string (the header is small; tensor data is streamed).
struct Bytes {
  std::string s;
  template <typename T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    s.append(b, sizeof(T));
  }
  void str(const std::string& v) {
    put<uint64_t>(v.size());
    s += v;
  }
};

void put_value(Bytes& b, const GgufWriter::Value& v) {
  struct Visitor {
    Bytes& b;
    void operator()(uint32_t x) { b.put<uint32_t>(static_cast<uint32_t>(GgufValueType::UINT32)); b.put(x); }
    void operator()(int32_t x) { b.put<uint32_t>(static_cast<uint32_t>(GgufValueType::INT32)); b.put(x); }
    void operator()(float x) { b.put<uint32_t>(static_cast<uint32_t>(GgufValueType::FLOAT32)); b.put(x); }
    void operator()(bool x) { b.put<uint32_t>(static_cast<uint32_t>(GgufValueType::BOOL)); b.put<uint8_t>(x ? 1 : 0); }
    void operator()(const std::string& x) { b.put<uint32_t>(static_cast<uint32_t>(GgufValueType::STRING)); b.str(x); }
    void array(GgufValueType t, uint64_t n) {
      b.put<uint32_t>(static_cast<uint32_t>(GgufValueType::ARRAY));
      b.put<uint32_t>(static_cast<uint32_t>(t));
      b.put<uint64_t>(n);
    }
    void operator()(const std::vector<std::string>& x) {
      array(GgufValueType::STRING, x.size());
      for (const auto& e : x) b.str(e);
    }
    void operator()(const std::vector<int32_t>& x) {
      array(GgufValueType::INT32, x.size());
      for (auto e : x) b.put(e);
    }
    void operator()(const std::vector<float>& x) {
      array(GgufValueType::FLOAT32, x.size());
      for (auto e : x) b.put(e);
    }
  };
  std::visit(Visitor{b}, v);
}

}  // namespace

uint64_t ggml_tensor_bytes(GgmlType type, uint64_t numel) {
  const GgmlTypeInfo* t = ggml_type_info(static_cast<uint32_t>(type));
  if (t == nullptr || numel % t->block != 0) {
    throw InternalError("gguf writer", std::to_string(numel) + " values are not whole blocks of " + ggml_type_name(type));
  }
  return numel / t->block * t->bytes;
}

void GgufWriter::set(const std::string& key, Value value) {
  for (const auto& [k, v] : kv_) {
    if (k == key) throw InternalError("gguf writer", "key '" + key + "' set twice");
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> ne, GgmlType type, Fill fill) {
  for (const auto& t : tensors_) {
    if (t.name == name) throw InternalError("gguf writer", "tensor '" + name + "' added twice");
  }
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(type));
  if (ne.empty() || ne.size() > 4 || info == nullptr || ne[0] % info->block != 0) {
    throw InternalError("gguf writer", "tensor '" + name + "': ne[0] is not a multiple of the " + ggml_type_name(type) +
                                           " block, or it has no or more than 4 dimensions");
  }
  uint64_t numel = 1;
  for (auto d : ne) numel *= d;
  tensors_.push_back({name, std::move(ne), type, ggml_tensor_bytes(type, numel), std::move(fill)});
}

uint64_t GgufWriter::data_bytes() const {
  uint64_t n = 0;
  for (const auto& t : tensors_) n += padded(t.bytes);
  return n;
}

void GgufWriter::write(const std::filesystem::path& path) const {
  Bytes h;
  h.s = "GGUF";
  h.put<uint32_t>(kVersion);
  h.put<uint64_t>(tensors_.size());
  h.put<uint64_t>(kv_.size());
  for (const auto& [key, value] : kv_) {
    h.str(key);
    put_value(h, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    h.str(t.name);
    h.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (auto d : t.ne) h.put<uint64_t>(d);
    h.put<uint32_t>(static_cast<uint32_t>(t.type));
    h.put<uint64_t>(offset);
    offset += padded(t.bytes);
  }
  h.s.resize(padded(h.s.size()), '\0');
  static const char kZeros[kAlignment] = {};
  base::write_file_atomic(path, [&](const base::ChunkWriter& write) {
    write(h.s.data(), h.s.size());
    for (const auto& t : tensors_) {
      uint64_t written = 0;
      t.fill([&](const void* data, std::size_t n) {
        written += n;
        if (written > t.bytes) throw InternalError("gguf writer", "tensor '" + t.name + "' wrote more than its size");
        write(data, n);
      });
      if (written != t.bytes) {
        throw InternalError("gguf writer", "tensor '" + t.name + "' wrote " + std::to_string(written) + " of " +
                                               std::to_string(t.bytes) + " bytes");
      }
      write(kZeros, padded(t.bytes) - t.bytes);
    }
  });
}

}  // namespace compressor::formats
