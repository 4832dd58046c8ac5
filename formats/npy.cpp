#include "formats/npy.h"

#include <cstring>
#include <string>
#include <vector>

#include "compressor/base/checked.h"
#include "compressor/base/error.h"
#include "compressor/base/quote.h"
#include "formats/mapped_file.h"

namespace compressor::formats {

namespace {

using base::in_quotes;

// The value of `key` in the header dict literal, up to the next top-level ',' or '}'.
std::string header_value(const std::string& header, const std::string& key, const std::string& where) {
  auto at = header.find("'" + key + "'");
  if (at == std::string::npos) throw BadInput(where, "the .npy header has no " + in_quotes(key) + " entry");
  auto colon = header.find(':', at);
  if (colon == std::string::npos) throw BadInput(where, "the .npy header is malformed near " + in_quotes(key));
  size_t i = colon + 1, depth = 0;
  std::string value;
  for (; i < header.size(); ++i) {
    char c = header[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    value += c;
  }
  auto first = value.find_first_not_of(" \t");
  auto last = value.find_last_not_of(" \t");
  return first == std::string::npos ? "" : value.substr(first, last - first + 1);
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& where) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    throw BadInput(where, "the .npy shape " + text + " is not a tuple");
  }
  std::vector<int64_t> shape;
  std::string inner = text.substr(1, text.size() - 2);
  size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    size_t end = i;
    while (end < inner.size() && inner[end] >= '0' && inner[end] <= '9') ++end;
    if (end == i || end - i > 18) throw BadInput(where, "the .npy shape " + text + " is not a tuple of sizes");
    shape.push_back(std::stoll(inner.substr(i, end - i)));
    i = end;
  }
  return shape;
}

template <class T>
torch::Tensor widen(const uint8_t* data, int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    T v;
    std::memcpy(&v, data + k * static_cast<int64_t>(sizeof(T)), sizeof(T));
    out[static_cast<size_t>(k)] = static_cast<int64_t>(v);
  }
  return torch::tensor(out, torch::kLong);
}

}  // namespace

torch::Tensor read_npy_integers(const std::filesystem::path& path) {
  const std::string where = path.string();
  auto file = MappedFile::open(path, ".npy file", false);
  const uint8_t* bytes = file->data();
  const uint64_t size = file->size();
  if (size < 10 || std::memcmp(bytes, "\x93NUMPY", 6) != 0) {
    throw BadInput(where, "not a .npy file (it does not start with \\x93NUMPY)");
  }
  const int major = bytes[6];
  uint64_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = bytes[8] | (static_cast<uint64_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw BadInput(where, "the .npy header is truncated");
    header_len = bytes[8] | (static_cast<uint64_t>(bytes[9]) << 8) | (static_cast<uint64_t>(bytes[10]) << 16) |
                 (static_cast<uint64_t>(bytes[11]) << 24);
    header_start = 12;
  } else {
    throw BadInput(where, ".npy format version " + std::to_string(major) + " is not one of 1, 2, 3");
  }
  if (header_start + header_len > size) throw BadInput(where, "the .npy header is truncated");
  const std::string header(reinterpret_cast<const char*>(bytes + header_start), header_len);

  std::string descr = header_value(header, "descr", where);
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"')) {
    throw BadInput(where, "the .npy dtype " + descr + " is not a simple type string");
  }
  descr = descr.substr(1, descr.size() - 2);
  if (header_value(header, "fortran_order", where) != "False") {
    throw BadInput(where, "the array is stored in Fortran order; save it in C order (np.ascontiguousarray)");
  }
  const auto shape = parse_shape(header_value(header, "shape", where), where);

  // '<' little-endian, '|' no byte order (1-byte types), '=' native (little-endian here).
  const bool little = descr.size() == 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=');
  const char kind = descr.size() == 3 ? descr[1] : '?';
  const int width = descr.size() == 3 ? descr[2] - '0' : 0;
  if (!little || (kind != 'i' && kind != 'u') || (width != 1 && width != 2 && width != 4 && width != 8)) {
    throw BadInput(where, "dtype " + in_quotes(descr) +
                              " is not a little-endian integer type; token ids must be int32 or int64 ('<i4', '<i8')");
  }
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (!base::checked_mul(numel, static_cast<uint64_t>(d), &numel)) throw BadInput(where, "the .npy shape overflows");
  }
  uint64_t data_bytes = 0;
  const uint64_t data_start = header_start + header_len;
  if (!base::checked_mul(numel, static_cast<uint64_t>(width), &data_bytes) || data_bytes > size - data_start) {
    throw BadInput(where, "the .npy data is truncated: the shape needs " + std::to_string(numel) + " values of " +
                              std::to_string(width) + " bytes, the file has " + std::to_string(size - data_start) +
                              " bytes after the header");
  }
  const uint8_t* data = bytes + data_start;
  const auto n = static_cast<int64_t>(numel);
  torch::Tensor flat;
  if (kind == 'i') {
    flat = width == 1 ? widen<int8_t>(data, n) : width == 2 ? widen<int16_t>(data, n)
         : width == 4 ? widen<int32_t>(data, n) : widen<int64_t>(data, n);
  } else {
    flat = width == 1 ? widen<uint8_t>(data, n) : width == 2 ? widen<uint16_t>(data, n)
         : width == 4 ? widen<uint32_t>(data, n)
                      : widen<int64_t>(data, n);  // a uint64 above 2^63 turns negative: refused as an id later
  }
  return flat.reshape(shape);
}

}  // namespace compressor::formats
