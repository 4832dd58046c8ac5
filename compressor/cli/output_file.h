// Checks for a file a command will write (--stats, --out, --emit-recipe), made before any work so
// that a long run cannot end unable to write its result.
#pragma once

#include <filesystem>
#include <string>

#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"

namespace compressor::cli {

// BadInput at `option` when `path` is a directory or its directory cannot be created.
inline void check_output_file(const std::filesystem::path& path, const std::string& option) {
  if (std::filesystem::is_directory(path)) throw BadInput(option, path.string() + " is a directory");
  base::check_directory_creatable(path.has_parent_path() ? path.parent_path() : ".", option);
}

// Writes a file check_output_file accepted: its directory is created first when missing.
inline void write_output_file(const std::filesystem::path& path, const std::string& content) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  base::write_file_atomic(path, content);
}

}  // namespace compressor::cli
