#pragma once
#include <cstddef>
#include <string>

namespace compressor::base {
// Lower-case hex SHA-256 of a byte range (OpenSSL's libcrypto does the work).
std::string sha256_hex(const void* data, std::size_t size);
}  // namespace compressor::base
