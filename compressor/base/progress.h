// A one-line progress bar with ETA on stderr. Drawn only when stderr is a terminal and the CLI is
// not --quiet; otherwise every call is a no-op, so logs and CI output stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace compressor::base {

class ProgressBar {
 public:
  static void set_enabled(bool enabled);
  static bool enabled();
  void update(const std::string& label, int64_t done, int64_t total);
  ~ProgressBar();

 private:
  std::string label_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

}  // namespace compressor::base
