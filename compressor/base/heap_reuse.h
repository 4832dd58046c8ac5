// glibc's malloc serves blocks above a threshold (128 KiB, rising to at most 32 MiB as such blocks
// are freed) with fresh mmaps and gives freed heap tops back to the kernel, so each of a forward's
// activation tensors ([8 × 512, 1536] float32 is 25 MiB) arrives as new pages to fault in and zero:
// a sixth of a SmolLM2 calibration forward on this project's 2-core machine was spent in the kernel
// doing that (build/bench/bench_calibration ... --mode segments with and without
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_; docs/benchmarks.md).
#pragma once

namespace compressor::base {

// Call first thing in main: blocks up to 256 MiB come from the heap, and up to 1 GiB of freed heap
// is kept for the next allocation rather than returned. Freed blocks are reused, not added to: the
// bench's peak RSS fell (904 → 848 MB), and GPTQ on SmolLM2 peaked at 1.70 GB against 1.79.
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_, when set in the environment, are left to glibc.
void reuse_freed_memory();

}  // namespace compressor::base
