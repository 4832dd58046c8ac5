// What compressor's main does before anything else (compressor/cli/main.cpp): OpenBLAS on the
// kernels this CPU runs rather than its SSE fallback (a restart with OPENBLAS_CORETYPE set), read
// through `compressor --version`, which prints the kernel set.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <string>

#include "compressor/runtime/kernels/blas_core.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

// The value after "KEY: " on its own line of `text`, or "" when there is none.
std::string field(const std::string& text, const std::string& key) {
  const auto at = text.find(key + ": ");
  if (at == std::string::npos) return "";
  const auto start = at + key.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

// Sets (or, with nullopt, removes) an environment variable for the scope, then puts it back.
class EnvScope {
 public:
  EnvScope(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvScope() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvScope(const EnvScope&) = delete;
  EnvScope& operator=(const EnvScope&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

bool is_sse_fallback(const std::string& core) { return core == "Prescott" || core == "Core2" || core == "Nehalem"; }

}  // namespace

TEST_CASE("compressor runs OpenBLAS kernels this CPU supports, not the SSE fallback", "[cli]") {
  EnvScope unset("OPENBLAS_CORETYPE", std::nullopt);
  const auto r = run_cli({"--version"});
  INFO(r.all());
  REQUIRE(r.code == 0);
  const std::string core = field(r.out, "OpenBLAS kernels");
  REQUIRE_FALSE(core.empty());
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) CHECK_FALSE(is_sse_fallback(core));
}

TEST_CASE("an OPENBLAS_CORETYPE the user set is left as it is", "[cli]") {
  EnvScope forced("OPENBLAS_CORETYPE", std::string("Prescott"));
  CHECK(compressor::runtime::better_blas_core().empty());
  const auto r = run_cli({"--version"});
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK(field(r.out, "OpenBLAS kernels") == "Prescott");
}
