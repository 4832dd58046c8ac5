#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "compressor/eval/probe.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

using namespace compressor;

TEST_CASE("the linear probe reaches the optimum of its objective and separates clear clusters") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const int64_t n = 300, d = 16, classes = 3;
  auto centers = at::normal(0.0, 3.0, {classes, d}, gen);
  auto y = at::randint(0, classes, {n}, gen, torch::kLong);
  auto X = centers.index_select(0, y) + at::normal(0.0, 1.0, {n, d}, gen);
  eval::LinearProbe probe;
  probe.fit(X, y, classes, 1e-2);
  // Optimality (independent of how the fit got there): the objective's gradient vanishes.
  CHECK(probe.gradient_norm(X, y).item<double>() < 1e-6);
  CHECK(eval::accuracy(probe.predict(X), y) > 0.97);
}

TEST_CASE("labelled TSV files: classes in order of appearance, bad lines and unknown labels are named") {
  auto dir = test_util::temp_dir("probe");
  test_util::write_bytes(dir / "train.tsv", "b\tone\na\ttwo\nb\tthree\n");
  auto train = eval::read_labelled_tsv(dir / "train.tsv");
  CHECK(train.labels == std::vector<std::string>{"b", "a"});
  CHECK(train.y == std::vector<int64_t>{0, 1, 0});
  CHECK(train.text[2] == "three");
  test_util::write_bytes(dir / "bad.tsv", "a\tfine\nno tab here\n");
  CHECK_THAT(test_util::bad_input_message([&] { eval::read_labelled_tsv(dir / "bad.tsv"); }),
             Catch::Contains("bad.tsv:2"));
  test_util::write_bytes(dir / "test.tsv", "c\tunseen class\n");
  CHECK_THAT(test_util::bad_input_message([&] { eval::read_labelled_tsv(dir / "test.tsv", train.labels); }),
             Catch::Contains("test.tsv:1") && Catch::Contains("'c'"));
}
