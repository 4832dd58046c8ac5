#include "compressor/base/progress.h"

#include <unistd.h>

#include <cstdio>

namespace compressor::base {

namespace {
bool g_enabled = false;
}

void ProgressBar::set_enabled(bool enabled) { g_enabled = enabled && ::isatty(STDERR_FILENO); }
bool ProgressBar::enabled() { return g_enabled; }

void ProgressBar::update(const std::string& label, int64_t done, int64_t total) {
  if (!g_enabled || total <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (label != label_) {
    if (drawn_) std::fputc('\n', stderr);
    label_ = label;
    start_ = now;
  }
  const double frac = static_cast<double>(done) / static_cast<double>(total);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  const int width = 30, filled = static_cast<int>(frac * width);
  std::fprintf(stderr, "\r%-24s [%.*s%*s] %3d%%  ETA %5.1fs", label.c_str(), filled,
               "##############################", width - filled, "", static_cast<int>(100 * frac), eta);
  std::fflush(stderr);
  drawn_ = true;
  if (done >= total) {
    std::fputc('\n', stderr);
    drawn_ = false;
    label_.clear();
  }
}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

}  // namespace compressor::base
