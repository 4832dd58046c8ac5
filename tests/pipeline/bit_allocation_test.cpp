// The mixed-precision allocation against brute force: every assignment of candidates to layers
// enumerated, the cheapest-sensitivity one within the budget taken, on random small instances
// whose costs are whole units of the budget (so the dynamic programme's rounding is exact).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "compressor/base/error.h"
#include "compressor/pipeline/bit_allocation.h"

using namespace compressor;

namespace {

struct Brute {
  double sensitivity = std::numeric_limits<double>::infinity();
  double bits = 0;
};

Brute brute_force(const std::vector<pipeline::AllocationLayer>& layers, double budget_bits) {
  Brute best;
  const size_t c = layers.front().bits_per_weight.size();
  size_t total = 1;
  for (size_t i = 0; i < layers.size(); ++i) total *= c;
  for (size_t code = 0; code < total; ++code) {
    size_t k = code;
    double s = 0, bits = 0;
    for (const auto& l : layers) {
      const size_t pick = k % c;
      k /= c;
      s += l.sensitivity[pick];
      bits += l.bits_per_weight[pick] * static_cast<double>(l.weights);
    }
    if (bits <= budget_bits + 1e-9 && s < best.sensitivity) best = {s, bits};
  }
  return best;
}

}  // namespace

TEST_CASE("bit allocation equals brute force on small instances", "[pipeline][allocation]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> weights(1, 8);
  std::uniform_real_distribution<double> sens(-0.05, 1.0);
  const std::vector<double> bits = {3, 4, 8};
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<pipeline::AllocationLayer> layers(6);
    double total = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      auto& l = layers[i];
      l.name = "l" + std::to_string(i);
      l.weights = weights(rng);
      l.bits_per_weight = bits;
      // More bits hurt less, as real candidates do, but not always by much (noise can invert).
      const double s3 = sens(rng), s4 = sens(rng) * s3, s8 = sens(rng) * 0.1 * s4;
      l.sensitivity = {s3, s4, s8};
      total += static_cast<double>(l.weights);
    }
    // A budget of a whole number of bits, so that with resolution = the spare bits above the
    // cheapest candidates every extra cost is a whole unit (bits and weights are integers).
    const int64_t budget = static_cast<int64_t>(std::round(total * (3.0 + 5.0 * (trial % 10) / 10.0)));
    const double target = static_cast<double>(budget) / total;
    const auto expected = brute_force(layers, static_cast<double>(budget));
    const int64_t spare = budget - static_cast<int64_t>(3 * total);
    const auto a = pipeline::allocate_bits(layers, target, "test", std::max<int64_t>(spare, 1));
    INFO("trial " << trial << " budget " << budget);
    CHECK(a.sensitivity == Approx(expected.sensitivity).margin(1e-12));
    CHECK(a.bits_per_weight * total <= static_cast<double>(budget) + 1e-9);
    double s = 0;
    for (size_t i = 0; i < layers.size(); ++i) s += layers[i].sensitivity[a.choice[i]];
    CHECK(s == Approx(a.sensitivity).margin(1e-12));
  }
}

TEST_CASE("bit allocation never exceeds the budget at the default resolution", "[pipeline][allocation]") {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> sens(0.0, 1.0);
  std::vector<pipeline::AllocationLayer> layers;
  double total = 0;
  for (int i = 0; i < 210; ++i) {
    const int64_t w = (i % 7 == 6) ? 884736 : 331776;  // SmolLM2-like shapes
    layers.push_back({"l" + std::to_string(i), w, {3.25, 4.25, 8.03}, {2 + sens(rng), 1 + sens(rng), sens(rng) * 0.01}});
    total += static_cast<double>(w);
  }
  for (double target : {3.25, 3.6, 4.25, 5.0, 8.03, 9.0}) {
    const auto a = pipeline::allocate_bits(layers, target, "test");
    INFO("target " << target);
    CHECK(a.bits_per_weight <= target + 1e-12);
    if (target > 8.03) CHECK(a.bits_per_weight == Approx(8.03));  // everything at the best candidate
  }
  // At exactly the cheapest candidates' cost, everything takes the cheapest.
  const auto cheapest = pipeline::allocate_bits(layers, 3.25, "test");
  for (size_t c : cheapest.choice) CHECK(c == 0);
}

TEST_CASE("bit allocation: a budget below the cheapest candidates is refused with what is reachable", "[pipeline][allocation][bad-input]") {
  std::vector<pipeline::AllocationLayer> layers = {{"a", 10, {4.25, 8}, {1, 0}}, {"b", 30, {3.25, 8}, {1, 0}}};
  try {
    pipeline::allocate_bits(layers, 3.0, "--target-bpw");
    FAIL("no error");
  } catch (const BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("--target-bpw") && Catch::Contains("3.0000") && Catch::Contains("3.5000"));
  }
}
