// base::all_finite against torch::isfinite(...).all(), its independent definition.
#include <catch2/catch.hpp>

#include <limits>

#include "compressor/base/finite.h"

using compressor::base::all_finite;

TEST_CASE("all_finite agrees with torch::isfinite on every kind of float") {
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::signaling_NaN(), inf, -inf};
  const float ordinary[] = {0.0f, -0.0f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(), 1.0f};
  torch::manual_seed(0);
  for (int64_t n : {1, 7, 65536, 65537, 300001}) {  // below, at and across the parallel grain
    auto w = torch::randn({n}) * 1e3;
    CHECK(all_finite(w));
    for (float v : ordinary) {
      w[n - 1] = v;
      CHECK(all_finite(w));
    }
    for (float v : specials) {
      for (int64_t at : {int64_t{0}, n / 2, n - 1}) {
        auto bad = w.clone();
        bad[at] = v;
        INFO("n " << n << ", value " << v << " at " << at);
        CHECK(all_finite(bad) == torch::isfinite(bad).all().item<bool>());
        CHECK_FALSE(all_finite(bad));
      }
    }
  }
  // A strided view is checked through a contiguous copy.
  auto m = torch::randn({64, 32});
  m[5][3] = inf;
  CHECK_FALSE(all_finite(m.t()));
  CHECK(all_finite(m.narrow(0, 6, 10).t()));
}
