// The GEMV kernels are templates over the token count N (registers per token are fixed at compile
// time); this turns a run-time count of 1 to kMaxGemvTokens into that template argument.
#pragma once

#include <cstdint>
#include <type_traits>

namespace compressor::runtime {

// Calls f(std::integral_constant<int, n>{}) for n in [1, 8] (more than 8 calls it with 8).
template <typename F>
void with_token_count(int64_t n, F&& f) {
  switch (n) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    case 7: return f(std::integral_constant<int, 7>{});
    default: return f(std::integral_constant<int, 8>{});
  }
}

}  // namespace compressor::runtime
