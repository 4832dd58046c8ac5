// Which instruction sets the runtime's kernels may use: what this CPU has (CPUID), capped by the
// environment variable COMPRESSOR_MAX_ISA (avx2 or baseline) so that one machine can run and test
// the paths an older CPU takes (oneDNN's int8 matmul is used only with AVX-512 VNNI, so the cap
// takes it out too).
#pragma once

namespace compressor::runtime {

enum class Isa { baseline, avx2, avx512 };  // avx2: AVX2, FMA and F16C; avx512: F, BW, VL

// The highest of them this process may use. BadInput naming COMPRESSOR_MAX_ISA for another value.
Isa max_isa();
inline bool isa_allows(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(max_isa()); }

}  // namespace compressor::runtime
