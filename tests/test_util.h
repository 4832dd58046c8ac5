// Helpers shared by the tests: paths into the source tree and fresh temporary directories.
#pragma once

#include <filesystem>
#include <string>

namespace test_util {

inline std::filesystem::path source_dir() { return COMPRESSOR_SOURCE_DIR; }
inline std::filesystem::path binary_dir() { return COMPRESSOR_BINARY_DIR; }

// A new empty directory under the build tree, unique per call; not removed (inspect on failure).
std::filesystem::path temp_dir(const std::string& tag);

}  // namespace test_util
