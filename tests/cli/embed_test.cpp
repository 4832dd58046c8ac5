// `compressor embed` through the real binary: the tiny BERT of tests/golden with a small WordPiece
// vocabulary beside it; each line's embedding is a unit vector, the same sentence gives the same
// vector at any batch size, and bad input exits non-zero naming the file, line or flag with --out
// left intact.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("embed writes one unit-length embedding a line, the same at any batch size", "[cli][runtime]") {
  auto w = make_workspace("embed");
  const auto model = make_tiny_bert(w.dir / "bert");
  const auto text = w.dir / "sentences.txt";
  write_bytes(text, "In the beginning God created the heaven and the earth.\n\nAnd the earth was without form, and void.\r\n"
                    "In the beginning God created the heaven and the earth.\n");
  const auto r = run_cli({"embed", model.string(), "--text", text.string()});
  INFO(r.all());
  REQUIRE(r.code == 0);
  const auto rows = json_lines(r.out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["line"] == 1);
  CHECK(rows[1]["line"] == 3);
  CHECK(rows[2]["line"] == 4);
  for (const auto& row : rows) {
    const auto e = row["embedding"].get<std::vector<double>>();
    REQUIRE(e.size() == 32);
    double norm = 0;
    for (double v : e) norm += v * v;
    CHECK(std::sqrt(norm) == Approx(1.0).epsilon(1e-6));
  }
  CHECK(rows[0]["embedding"] == rows[2]["embedding"]);
  CHECK(rows[0]["embedding"] != rows[1]["embedding"]);
  CHECK_THAT(r.err, Catch::Contains("3 sentences"));
  // One at a time, into a file: the same vectors.
  const auto out = w.dir / "out/embeddings.jsonl";
  const auto one = run_cli({"embed", model.string(), "--text", text.string(), "--batch", "1", "--out", out.string()});
  INFO(one.all());
  REQUIRE(one.code == 0);
  const auto again = json_lines(read_bytes(out));
  REQUIRE(again.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    const auto a = rows[i]["embedding"].get<std::vector<double>>(), b = again[i]["embedding"].get<std::vector<double>>();
    for (size_t j = 0; j < a.size(); ++j) CHECK(b[j] == Approx(a[j]).margin(1e-6));
  }
}

TEST_CASE("embed: bad texts, batches, models and outputs exit non-zero naming them, --out left intact",
          "[cli][runtime][bad-input]") {
  auto w = make_workspace("embed-bad");
  const auto model = make_tiny_bert(w.dir / "bert");
  const auto keep = w.dir / "keep.jsonl";
  write_bytes(keep, "keep");
  const auto good = w.dir / "good.txt";
  write_bytes(good, "in the beginning\n");
  const auto long_line = w.dir / "long.txt";
  std::string words;
  for (int i = 0; i < 40; ++i) words += "god ";
  write_bytes(long_line, "in the beginning\n" + words + "\n");  // 42 tokens on line 2, 32 positions
  const auto blank = w.dir / "blank.txt";
  write_bytes(blank, "\n\n");
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {{model.string(), "--text", long_line.string()}, {"long.txt:2", "max_position_embeddings (32)"}},
      {{model.string(), "--text", blank.string()}, {"blank.txt", "no sentence"}},
      {{model.string(), "--text", (w.dir / "none.txt").string()}, {"none.txt"}},
      {{model.string(), "--text", good.string(), "--batch", "0"}, {"--batch", "must be >= 1"}},
      {{w.model.string(), "--text", good.string()}, {"config.json", "model_type", "'gpt2'"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"embed"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"--out", keep.string()});
    const auto r = run_cli(args);
    INFO(r.all());
    CHECK(r.code == 2);
    for (const auto& e : c.expect) CHECK_THAT(r.err, Catch::Contains(e));
    CHECK(read_bytes(keep) == "keep");
  }
  const auto dir_out = run_cli({"embed", model.string(), "--text", good.string(), "--out", w.dir.string()});
  CHECK(dir_out.code == 2);
  CHECK_THAT(dir_out.err, Catch::Contains("--out") && Catch::Contains("is a directory"));
}
