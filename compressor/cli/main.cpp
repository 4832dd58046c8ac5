// compressor: command-line entry point (commands are defined in commands.cpp).
#include "compressor/base/heap_reuse.h"
#include "compressor/cli/commands.h"
#include "compressor/runtime/kernels/blas_core.h"

int main(int argc, char** argv) {
  // Before anything else: OpenBLAS on the kernels this CPU runs (a restart when it fell back to its
  // SSE ones; see blas_core.h).
  compressor::runtime::restart_with_better_blas_core(argv);
  // Activations reuse freed heap instead of faulting in fresh pages (heap_reuse.h).
  compressor::base::reuse_freed_memory();
  return compressor::cli::run_cli(argc, argv);
}
