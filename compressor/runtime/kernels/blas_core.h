// OpenBLAS chooses its kernels once, while it loads, from the CPU's family and model number. On a
// model newer than the library it falls back to its SSE3 "Prescott" kernels: Debian 12's OpenBLAS
// 0.3.21 on Emerald Rapids (family 6, model 207) runs a 2048³ sgemm at 62 GFLOP/s on two cores
// instead of the 271 its Cooperlake kernels reach there (build/bench/bench_matmul with and without
// OPENBLAS_CORETYPE=Prescott; docs/benchmarks.md), and LibTorch's float32 matmuls, our Hessians
// (syrk) and the runtime's prompt GEMMs all go through it. OPENBLAS_CORETYPE overrides the choice, but only
// before the library loads, so a program restarts itself with it set.
#pragma once

#include <string>

namespace compressor::runtime {

// The kernel set OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_core();

// The kernel set this CPU supports that OpenBLAS should run instead of the one it chose, or ""
// when its choice is right or OPENBLAS_CORETYPE is set (the user's choice stands). Only the SSE
// fallbacks are overridden: "Cooperlake" with AVX-512 BF16, "SkylakeX" with AVX-512 F/BW/VL/DQ/CD,
// "Haswell" with AVX2 and FMA.
std::string better_blas_core();

// Call first thing in main: when better_blas_core() names a kernel set, sets OPENBLAS_CORETYPE to
// it and replaces the process with a fresh start of the same program and arguments
// (/proc/self/exe). Returns only when nothing needs to change or the restart failed (then the
// program goes on with OpenBLAS's own choice).
void restart_with_better_blas_core(char** argv);

}  // namespace compressor::runtime
