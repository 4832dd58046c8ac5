// Atomic file writes: the content goes to `<path>.tmp.<pid>`, is fsync'ed, then renamed over `path`.
// A failed or interrupted write never leaves a half file where a good one was.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

namespace compressor::base {

// Streams content through `fill(write)`; `write(data, size)` may be called any number of times.
using ChunkWriter = std::function<void(const void*, std::size_t)>;
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(const ChunkWriter&)>& fill);
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// Throws BadInput naming `path` unless its directory exists (or can be created) and is writable.
void ensure_writable_directory(const std::filesystem::path& dir, const std::string& what);

// The same check without creating anything: `dir` exists as a writable directory, or its nearest
// existing ancestor is one. Called before any work starts, so a run neither spends minutes and
// then fails at the last step nor leaves an empty directory behind when it fails early.
void check_directory_creatable(const std::filesystem::path& dir, const std::string& what);

std::string read_text_file(const std::filesystem::path& path, const std::string& what);

}  // namespace compressor::base
