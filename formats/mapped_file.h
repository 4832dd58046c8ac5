// The whole-file mappings the readers keep (safetensors, GGUF): opening and mapping a file, and
// giving pages back once a loader has copied them out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace compressor::formats {

// A regular file mapped MAP_PRIVATE as a whole. Pages load lazily on first touch, so mapping a
// large checkpoint costs almost no memory. Readers and the tensors that view the bytes share one
// MappedFile; it is unmapped when the last of them goes.
class MappedFile {
 public:
  // `kind` names the file in errors ("cannot open GGUF file: ..."). `writable`: PROT_WRITE, so
  // tensors viewing the mapping can be written; a write copies the page and never reaches the
  // file (copy-on-write). An empty file maps to no bytes (size 0), for the reader to reject.
  // IoError naming the path when it cannot be opened, is not a regular file or cannot be mapped.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path, const std::string& kind, bool writable);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Gives the whole pages inside [begin, begin + bytes) of a private file mapping back to the
// kernel (madvise MADV_DONTNEED) once a loader has copied their bytes out (a dtype conversion, a
// transpose, a dequantization): otherwise the mapped original stays resident beside the copy and
// a load costs twice the model. A page that was never written comes back from the file when it
// is read again, so readers still see the same bytes; a page written through a copy-on-write
// view would lose that write, so callers release only what nobody wrote. Pages only partly
// inside the range (shared with a neighbouring tensor) are left alone.
void release_mapped_pages(const void* begin, std::size_t bytes);

}  // namespace compressor::formats
