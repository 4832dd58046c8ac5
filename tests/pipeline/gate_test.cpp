#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "compressor/eval/gate.h"
#include "compressor/eval/report.h"

using namespace compressor;

namespace {
std::vector<eval::GateRule> rules(std::vector<eval::GateRule> r) { return r; }
}  // namespace

TEST_CASE("a relative perplexity gate passes inside the limit and fails outside it") {
  eval::Metrics before{{"a/perplexity", 10.0}, {"b/perplexity", 20.0}};
  eval::Metrics after{{"a/perplexity", 10.4}, {"b/perplexity", 21.2}};
  auto g = eval::check_gate(rules({{"perplexity", 0.05, true, {}}}), before, after);
  REQUIRE(g.checks.size() == 2);
  CHECK(g.checks[0].passed);        // +4%
  CHECK_FALSE(g.checks[1].passed);  // +6%
  CHECK_FALSE(g.passed);
  CHECK(g.report().find("FAIL  b/perplexity") != std::string::npos);
}

TEST_CASE("an absolute gate on one dataset ignores the others, improvements always pass") {
  eval::Metrics before{{"a/perplexity", 10.0}, {"b/perplexity", 20.0}};
  eval::Metrics after{{"a/perplexity", 9.0}, {"b/perplexity", 30.0}};
  auto g = eval::check_gate(rules({{"a/perplexity", 0.0, false, {}}}), before, after);
  REQUIRE(g.checks.size() == 1);
  CHECK(g.passed);
  CHECK(g.checks[0].drop == Approx(-1.0));
}

TEST_CASE("a NaN after compression fails the gate") {
  auto g = eval::check_gate(rules({{"perplexity", 1e9, false, {}}}), {{"a/perplexity", 3.0}},
                            {{"a/perplexity", std::nan("")}});
  CHECK_FALSE(g.passed);
}

TEST_CASE("a gate rule that matches no metric is bad input") {
  CHECK_THROWS_AS(eval::check_gate(rules({{"accuracy", 0.1, false, {}}}), {{"a/perplexity", 1.0}}, {{"a/perplexity", 1.0}}),
                  BadInput);
}

TEST_CASE("the before/after table lists every metric with its change") {
  auto t = eval::metrics_table({{"a/perplexity", 10.0}}, {{"a/perplexity", 11.0}});
  CHECK(t.find("a/perplexity") != std::string::npos);
  CHECK(t.find("+10.00%") != std::string::npos);
}
