// Overflow-checked arithmetic for sizes read from untrusted files: a crafted shape such as
// [2^40, 2^40] must be refused, not wrap around and then pass a byte-size comparison.
#pragma once

#include <cstdint>

namespace compressor::base {

// a·b into *out; false (and *out unspecified) when it does not fit in 64 bits.
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }
// a+b into *out; false when it does not fit in 64 bits.
inline bool checked_add(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

}  // namespace compressor::base
