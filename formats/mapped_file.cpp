#include "formats/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "compressor/base/error.h"

namespace compressor::formats {

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path, const std::string& kind,
                                             bool writable) {
  const std::string where = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(where, "cannot open " + kind + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(where, "not a regular file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->size_ = static_cast<uint64_t>(st.st_size);
  if (f->size_ == 0) {  // mmap refuses length 0; the reader reports the file as truncated
    ::close(fd);
    return f;
  }
  const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void* addr = ::mmap(nullptr, f->size_, prot, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps its own reference to the file
  if (addr == MAP_FAILED) throw IoError(where, std::string("mmap failed: ") + std::strerror(map_errno));
  f->data_ = static_cast<uint8_t*>(addr);
  return f;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

void release_mapped_pages(const void* begin, std::size_t bytes) {
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t b = reinterpret_cast<uintptr_t>(begin);
  const uintptr_t first = (b + page - 1) / page * page;  // round the range inwards
  const uintptr_t last = (b + bytes) / page * page;
  // Advice only: if the kernel declines, the pages simply stay resident.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace compressor::formats
