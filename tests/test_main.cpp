#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <atomic>
#include <unistd.h>

#include "test_util.h"

namespace test_util {
std::filesystem::path temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir = binary_dir() / "test-tmp" /
             (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace test_util
