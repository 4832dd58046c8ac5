#include "compressor/base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "compressor/base/error.h"

namespace compressor::base {

namespace fs = std::filesystem;

namespace {
std::string errno_text() { return std::strerror(errno); }

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

void write_file_atomic(const fs::path& path, const std::function<void(const ChunkWriter&)>& fill) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path.string(), "cannot create temporary file: " + errno_text());
  try {
    fill([&](const void* data, std::size_t size) {
      const char* p = static_cast<const char*>(data);
      while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0) {
          if (errno == EINTR) continue;
          throw IoError(path.string(), "write failed: " + errno_text());
        }
        p += n;
        size -= static_cast<std::size_t>(n);
      }
    });
    if (::fsync(fd) != 0) throw IoError(path.string(), "fsync failed: " + errno_text());
    if (::close(fd) != 0) {
      fd = -1;
      throw IoError(path.string(), "close failed: " + errno_text());
    }
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      throw IoError(path.string(), "cannot rename temporary file into place: " + errno_text());
    }
    fsync_directory(path.parent_path());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  write_file_atomic(path, [&](const ChunkWriter& w) { w(content.data(), content.size()); });
}

void ensure_writable_directory(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw IoError(dir.string(), what + ": cannot create directory: " + ec.message());
  }
  if (!fs::is_directory(dir, ec)) throw IoError(dir.string(), what + ": not a directory");
  if (::access(dir.c_str(), W_OK) != 0) {
    throw IoError(dir.string(), what + ": directory is not writable: " + errno_text());
  }
}

void check_directory_creatable(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  while (!fs::exists(p, ec)) {
    if (!p.has_parent_path() || p.parent_path() == p) break;
    p = p.parent_path();
  }
  if (!fs::is_directory(p, ec)) {
    throw IoError(dir.string(), what + ": cannot create directory: '" + p.string() + "' is not a directory");
  }
  if (::access(p.c_str(), W_OK) != 0) {
    throw IoError(dir.string(), what + ": '" + p.string() + "' is not writable: " + errno_text());
  }
}

std::string read_text_file(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    throw IoError(path.string(), what + (exists ? ": cannot be read" : ": no such file"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace compressor::base
