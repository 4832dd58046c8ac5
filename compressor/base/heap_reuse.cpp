#include "compressor/base/heap_reuse.h"

#include <cstdlib>

#include <malloc.h>

namespace compressor::base {

void reuse_freed_memory() {
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 256 << 20);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace compressor::base
