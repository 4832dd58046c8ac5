// OpenBLAS chooses its kernels once, while it loads, from the CPU's family and model number. On a
// model newer than the library it falls back to its SSE3 "Prescott" kernels: Debian 12's OpenBLAS
// 0.3.21 on Emerald Rapids (family 6, model 207) runs sgemm at 64 GFLOP/s on two cores instead of
// the 278-295 its SkylakeX/Cooperlake kernels reach there, and LibTorch's float32 matmuls and our
// Hessians (syrk) and prompt GEMMs go through it. OPENBLAS_CORETYPE overrides the choice, but only
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
