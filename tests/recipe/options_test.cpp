// OptionSpec domains as users read them, canonical value text, and typed access to values.
#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "passes/options.h"

using namespace compressor::passes;

TEST_CASE("describe_domain reads like the accepted range", "[recipe]") {
  CHECK(float_option("s", "", 0.5, 0.0, 1.0, true, false).describe_domain() == "a number in [0, 1)");
  CHECK(float_option("s", "", 0.5, 0.0, std::nullopt, false).describe_domain() == "a number > 0");
  CHECK(float_option("s", "", 0.5, std::nullopt, 2.5).describe_domain() == "a number <= 2.5");
  CHECK(float_option("s", "", 0.5, std::nullopt, std::nullopt).describe_domain() == "a number");
  CHECK(int_option("n", "", 1, 1, 8).describe_domain() == "an integer in [1, 8]");
  CHECK(int_option("n", "", 1, 1).describe_domain() == "an integer >= 1");
  CHECK(bool_option("b", "", true).describe_domain() == "true or false");
  CHECK(choice_option("c", "", {"a", "b"}, "a").describe_domain() == "one of a, b");
  CHECK(string_option("t", "", std::nullopt).describe_domain() == "a string");
  CHECK(list_option("l", "", {}).describe_domain() == "a list of strings");
}

TEST_CASE("builders record defaults, no default means required", "[recipe]") {
  CHECK_FALSE(int_option("n", "", std::nullopt).default_value.has_value());
  CHECK(std::get<int64_t>(*int_option("n", "", 4).default_value) == 4);
  CHECK(std::get<double>(*float_option("s", "", 0.5, 0.0, 1.0).default_value) == 0.5);
  CHECK(std::get<std::string>(*choice_option("c", "", {"a"}, "a").default_value) == "a");
  CHECK(list_option("l", "", {"x"}).kind == OptionKind::StringList);
}

TEST_CASE("to_string gives canonical value text", "[recipe]") {
  CHECK(to_string(OptionValue(0.5)) == "0.5");
  CHECK(to_string(OptionValue(0.1)) == "0.1");
  CHECK(to_string(OptionValue(1.0)) == "1.0");
  CHECK(to_string(OptionValue(int64_t{128})) == "128");
  CHECK(to_string(OptionValue(true)) == "true");
  CHECK(to_string(OptionValue(std::string("layer"))) == "layer");
  CHECK(to_string(OptionValue(std::vector<std::string>{"a", "b"})) == "[a, b]");
}

TEST_CASE("OptionValues getters check the kind, a wrong kind is an internal error", "[recipe]") {
  OptionValues v;
  v.set("n", int64_t{3});
  v.set("s", 0.25);
  v.set("b", false);
  CHECK(v.get_int("n") == 3);
  CHECK(v.get_float("n") == 3.0);
  CHECK(v.get_float("s") == 0.25);
  CHECK_FALSE(v.get_bool("b"));
  CHECK(v.has("s"));
  CHECK_THROWS_AS(v.get_int("s"), compressor::InternalError);
  CHECK_THROWS_AS(v.get_string("nope"), compressor::InternalError);
}
