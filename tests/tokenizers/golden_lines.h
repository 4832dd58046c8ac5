// The tokenizer golden lines (tests/golden/tokenizer/lines.txt, more_lines.txt) with the escapes
// make_tokenizer_golden.py applies, in the same order, read once per file.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_util.h"

namespace test_util {

inline std::filesystem::path tokenizer_golden(const std::string& name) {
  return source_dir() / "tests" / "golden" / "tokenizer" / name;
}

inline std::vector<std::string> read_golden_lines(const std::string& name) {
  const std::string all = read_bytes(tokenizer_golden(name));
  const std::vector<std::pair<std::string, std::string>> esc = {
      {"\\t", "\t"}, {"\\r", "\r"}, {"\\n", "\n"}, {"\\x00", std::string(1, '\0')}, {"\\x0b", "\x0b"}, {"\\x1f", "\x1f"}};
  std::vector<std::string> v;
  for (size_t s = 0; s < all.size();) {
    const size_t e = all.find('\n', s);
    std::string line = all.substr(s, e - s);
    s = e + 1;
    for (const auto& [k, r] : esc)
      for (size_t p = 0; (p = line.find(k, p)) != std::string::npos; p += r.size()) line.replace(p, k.size(), r);
    v.push_back(line);
  }
  return v;
}

// lines.txt
inline const std::vector<std::string>& tokenizer_golden_lines() {
  static const std::vector<std::string> out = read_golden_lines("lines.txt");
  return out;
}

// more_lines.txt
inline const std::vector<std::string>& tokenizer_more_lines() {
  static const std::vector<std::string> out = read_golden_lines("more_lines.txt");
  return out;
}

}  // namespace test_util
