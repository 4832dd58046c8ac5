// Page bookkeeping for the file mappings the readers keep (safetensors, GGUF).
#pragma once

#include <cstddef>

namespace compressor::formats {

// Gives the whole pages inside [begin, begin + bytes) of a private file mapping back to the
// kernel (madvise MADV_DONTNEED) once a loader has copied their bytes out (a dtype conversion, a
// transpose, a dequantization): otherwise the mapped original stays resident beside the copy and
// a load costs twice the model. A page that was never written comes back from the file when it
// is read again, so readers still see the same bytes; a page written through a copy-on-write
// view would lose that write, so callers release only what nobody wrote. Pages only partly
// inside the range (shared with a neighbouring tensor) are left alone.
void release_mapped_pages(const void* begin, std::size_t bytes);

}  // namespace compressor::formats
