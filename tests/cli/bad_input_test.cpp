// Bad input through the real binary: every case exits 2, names the file and the key, tensor or line
// at fault, and writes nothing where the artifact goes (an artifact already there stays as it was).
#include <catch2/catch.hpp>

#include <cstring>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/bad_input_check.h"
#include "tests/cli/cli_fixture.h"
#include "tests/test_util.h"

using namespace cli_test;

namespace {

CliResult run_recipe(const fs::path& recipe) { return run_cli({"run", recipe.string()}); }

uint64_t u64_le(const std::string& b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[static_cast<size_t>(i)]);
  return v;
}

std::string to_u64_le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

}  // namespace

TEST_CASE("malformed YAML names the recipe with line and column", "[cli][bad-input]") {
  auto w = make_workspace("bad-yaml");
  const auto recipe = w.dir / "recipe.yaml";
  // Line 4 has a second ':' where a plain scalar value should end (column 10 in yaml-cpp's count).
  write_bytes(recipe, "version: 1\nname: x\nmodel:\n  path: a: b\nstages: []\n");
  auto r = run_recipe(recipe);
  require_bad_input(r, {recipe.string() + ":4:"}, w.out);
  CHECK(std::regex_search(r.err, std::regex("recipe\\.yaml:4:[0-9]+: ")));
}

TEST_CASE("malformed JSON recipe names the file with line and column", "[cli][bad-input]") {
  auto w = make_workspace("bad-json");
  const auto recipe = w.dir / "recipe.json";
  // A trailing comma on line 3 (YAML would accept it, strict JSON does not); the parser stops at
  // the '}' on line 4.
  write_bytes(recipe, "{\n  \"version\": 1,\n  \"name\": \"x\",\n}\n");
  auto r = run_recipe(recipe);
  require_bad_input(r, {recipe.string() + ":4:", "JSON"}, w.out);
  CHECK(std::regex_search(r.err, std::regex("recipe\\.json:4:[0-9]+: ")));
}

TEST_CASE("an unknown key is named with the valid keys", "[cli][bad-input]") {
  auto w = make_workspace("unknown-key");
  auto spec = w.spec();
  spec.extra = "outptu:\n  path: elsewhere\n";
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {"recipe.yaml:", "outptu", "valid keys", "output", "stages"}, w.out);
  CHECK_FALSE(fs::exists(w.dir / "elsewhere"));
}

TEST_CASE("an unknown pass lists the valid passes", "[cli][bad-input]") {
  auto w = make_workspace("unknown-pass");
  auto spec = w.spec();
  spec.pass = "prune: {sparsity: 0.5}";
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {"recipe.yaml:", "stages[0].passes[0]", "'prune'", "magnitude", "wanda"}, w.out);
}

TEST_CASE("sparsity of 1.0 or -0.1 names the key path", "[cli][bad-input]") {
  for (const char* value : {"1.0", "-0.1"}) {
    auto w = make_workspace("sparsity");
    // An artifact is already there: a rejected recipe must leave it untouched.
    REQUIRE(run_recipe(w.write_recipe(w.spec(), "good.yaml")).code == 0);
    const std::string weights = read_bytes(w.out / "model.safetensors");
    const std::string config = read_bytes(w.out / "config.json");

    auto spec = w.spec();
    spec.pass = std::string("magnitude: {sparsity: ") + value + "}";
    auto r = run_recipe(w.write_recipe(spec));
    INFO("sparsity " << value);
    require_bad_input(r, {"recipe.yaml:", "stages[0].passes[0].magnitude.sparsity", value});
    CHECK(read_bytes(w.out / "model.safetensors") == weights);
    CHECK(read_bytes(w.out / "config.json") == config);
    CHECK(files_under(w.out).size() == 3);
  }
  // The same check applies to overrides, which are named instead of a line.
  auto w = make_workspace("sparsity-set");
  auto r = run_cli({"run", w.write_recipe(w.spec()).string(), "--set", "stages.0.passes.0.magnitude.sparsity=1.5"});
  require_bad_input(r, {"--set stages.0.passes.0.magnitude.sparsity=1.5", "stages[0].passes[0].magnitude.sparsity"},
                    w.out);
}

TEST_CASE("2:4 sparsity on a width not divisible by 4 names the tensor and the recipe location", "[cli][bad-input]") {
  TinyShape odd;
  odd.n_embd = 30;
  odd.n_head = 2;
  odd.n_inner = 60;
  auto w = make_workspace("nm-width", odd);
  auto spec = w.spec();
  spec.pass = "magnitude: {mask_structure: '2:4'}";
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {"recipe.yaml:", "stages[0].passes[0].magnitude.mask_structure:", "transformer.h.0.attn.c_attn",
                        "30 inputs"},
                    w.out);
  // Wanda checks the same before calibrating.
  spec.pass = "wanda: {mask_structure: '2:4'}";
  spec.extra = "calibration:\n  source: " + w.text.string() + "\n  samples: 2\n  seq_len: 8\n";
  auto wr = run_recipe(w.write_recipe(spec, "wanda.yaml"));
  require_bad_input(wr, {"wanda.yaml:", "stages[0].passes[0].wanda.mask_structure:", "transformer.h.0.attn.c_attn"}, w.out);
}

TEST_CASE("a mask_structure that is not N:M with 0 < N < M is named with the recipe location", "[cli][bad-input]") {
  auto w = make_workspace("mask-structure");
  auto spec = w.spec();
  for (const char* bad : {"4:4", "2-4", "0:4", "x:y", "5:4"}) {
    INFO(bad);
    spec.pass = std::string("magnitude: {mask_structure: '") + bad + "'}";
    auto r = run_recipe(w.write_recipe(spec, "ms.yaml"));
    require_bad_input(r, {"ms.yaml:", "stages[0].passes[0].magnitude.mask_structure:", std::string("'") + bad + "'",
                          "0 < N < M"},
                      w.out);
  }
}

TEST_CASE("a missing model.path is reported at the model block", "[cli][bad-input]") {
  auto w = make_workspace("no-model-path");
  auto spec = w.spec();
  spec.model.clear();
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {"recipe.yaml:", "model", "path"}, w.out);
}

TEST_CASE("a model directory that does not exist is named", "[cli][bad-input]") {
  auto w = make_workspace("no-model-dir");
  auto spec = w.spec();
  spec.model = w.dir / "no-such-model";
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {"no-such-model", "model.path"}, w.out);
  CHECK_FALSE(fs::exists(w.out));  // a run that fails early leaves not even an empty directory
}

TEST_CASE("an unsupported model_type lists the supported architectures", "[cli][bad-input]") {
  auto w = make_workspace("model-type");
  auto config = nlohmann::json::parse(read_bytes(w.model / "config.json"));
  config["model_type"] = "mamba";
  write_bytes(w.model / "config.json", config.dump(2));
  auto r = run_recipe(w.write_recipe(w.spec()));
  require_bad_input(r, {(w.model / "config.json").string(), "mamba", "gpt2", "bert"}, w.out);
}

TEST_CASE("a truncated safetensors file is named", "[cli][bad-input]") {
  auto w = make_workspace("truncated");
  const auto file = w.model / "model.safetensors";
  const std::string bytes = read_bytes(file);
  write_bytes(file, bytes.substr(0, bytes.size() / 2));
  auto r = run_recipe(w.write_recipe(w.spec()));
  require_bad_input(r, {file.string()}, w.out);
  // The same file through inspect and eval.
  require_bad_input(run_cli({"inspect", w.model.string()}), {file.string()});
  require_bad_input(run_cli({"eval", w.model.string(), "--text", w.text.string()}), {file.string()});
}

TEST_CASE("a header length past the end of the file is named", "[cli][bad-input]") {
  auto w = make_workspace("header-length");
  const auto file = w.model / "model.safetensors";
  std::string bytes = read_bytes(file);
  const std::string len = to_u64_le(bytes.size() * 2);
  bytes.replace(0, 8, len);
  write_bytes(file, bytes);
  auto r = run_recipe(w.write_recipe(w.spec()));
  require_bad_input(r, {file.string(), "header length"}, w.out);
}

TEST_CASE("tensor offsets outside the data section name the tensor", "[cli][bad-input]") {
  auto w = make_workspace("offsets");
  const auto file = w.model / "model.safetensors";
  std::string bytes = read_bytes(file);
  const uint64_t header_len = u64_le(bytes.substr(0, 8));
  const uint64_t data_size = bytes.size() - 8 - header_len;
  auto header = nlohmann::json::parse(bytes.substr(8, header_len));
  // Move one tensor past the end of the data; the header is re-serialised at its old length
  // (padded with spaces, which JSON allows) so every other offset stays valid.
  const std::string victim = "transformer.h.1.mlp.c_fc.weight";
  REQUIRE(header.contains(victim));
  auto& offsets = header[victim]["data_offsets"];
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  offsets = {begin + data_size, end + data_size};
  std::string patched = header.dump();
  REQUIRE(patched.size() <= header_len);
  patched.append(header_len - patched.size(), ' ');
  bytes.replace(8, header_len, patched);
  write_bytes(file, bytes);
  auto r = run_recipe(w.write_recipe(w.spec()));
  require_bad_input(r, {file.string(), victim, "data_offsets"}, w.out);
}

TEST_CASE("a NaN in a weight names the tensor and keeps the previous artifact", "[cli][bad-input]") {
  auto w = make_workspace("nan");
  REQUIRE(run_recipe(w.write_recipe(w.spec(), "good.yaml")).code == 0);
  const std::string weights = read_bytes(w.out / "model.safetensors");
  const std::string run_json = read_bytes(w.out / "run.json");

  const std::string victim = "transformer.h.0.mlp.c_fc.weight";
  const auto nan_model = make_tiny_gpt2(w.dir / "nan-model", {}, 0, 0, {}, victim);
  auto spec = w.spec();
  spec.model = nan_model;
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {(nan_model / "model.safetensors").string(), victim, "NaN"});
  CHECK(read_bytes(w.out / "model.safetensors") == weights);
  CHECK(read_bytes(w.out / "run.json") == run_json);
  CHECK(files_under(w.out).size() == 3);
}

TEST_CASE("an output path that cannot be created is named before any work", "[cli][bad-input]") {
  auto w = make_workspace("unwritable");
  // Tests run as root, for whom permission bits do not stop a write. A directory cannot be created
  // below a regular file for anyone (ENOTDIR), so an output path under a file reliably fails.
  const auto afile = w.dir / "afile";
  write_bytes(afile, "not a directory\n");
  auto spec = w.spec();
  spec.output = afile / "out";
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {afile.string(), "recipe.yaml:", ": output.path: ", "is not a directory"});
  CHECK(fs::is_regular_file(afile));
  CHECK(read_bytes(afile) == "not a directory\n");
  // Failing before work: no metrics table was printed.
  CHECK_THAT(r.out, !Catch::Contains("baseline"));
}

TEST_CASE("a missing calibration source is named with its key", "[cli][bad-input]") {
  auto w = make_workspace("calibration");
  auto spec = w.spec();
  spec.extra = "calibration:\n  source: missing.txt\n  samples: 4\n  seq_len: 32\n";
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {"recipe.yaml:", "calibration.source", "missing.txt"}, w.out);
}

TEST_CASE("a missing evaluate dataset is named with its key", "[cli][bad-input]") {
  auto w = make_workspace("eval-dataset");
  auto spec = w.spec();
  spec.text = w.dir / "no-such-text.txt";
  auto r = run_recipe(w.write_recipe(spec));
  require_bad_input(r, {"recipe.yaml:", "evaluate.datasets[0].path", "no-such-text.txt"}, w.out);
}

TEST_CASE("eval and inspect name a missing file", "[cli][bad-input]") {
  auto w = make_workspace("eval-inspect");
  require_bad_input(run_cli({"eval", w.model.string(), "--text", (w.dir / "no-such.txt").string()}),
                    {"no-such.txt"});
  require_bad_input(run_cli({"eval", (w.dir / "no-such-model").string(), "--text", w.text.string()}),
                    {"no-such-model"});
  require_bad_input(run_cli({"inspect", (w.dir / "no-such-artifact").string()}), {"no-such-artifact"});
  require_bad_input(run_cli({"run", (w.dir / "no-such-recipe.yaml").string()}), {"no-such-recipe.yaml"});
}

TEST_CASE("eval rejects window settings it cannot use", "[cli][bad-input]") {
  auto w = make_workspace("eval-window");
  require_bad_input(run_cli({"eval", w.model.string(), "--text", w.text.string(), "--seq-len", "1"}), {"--seq-len"});
  require_bad_input(run_cli({"eval", w.model.string(), "--text", w.text.string(), "--seq-len", "128"}),
                    {"--seq-len", "128", "64"});
}

TEST_CASE("calibration input errors name the recipe key and leave the output alone", "[cli][bad-input][calibration]") {
  auto w = make_workspace("calibration-errors");
  auto spec = w.spec();
  spec.pass = "wanda: {sparsity: 0.5}";
  auto calib = [&](const std::string& source, int samples, int seq_len) {
    return "calibration:\n  source: " + source + "\n  samples: " + std::to_string(samples) +
           "\n  seq_len: " + std::to_string(seq_len) + "\n";
  };
  SECTION("a data-aware pass without a calibration block") {
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"recipe.yaml:", "stages[0].passes[0].wanda", "calibration"}, w.out);
  }
  SECTION("a calibration file that does not exist") {
    spec.extra = calib((w.dir / "missing.txt").string(), 2, 8);
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"recipe.yaml:", "calibration.source", "missing.txt"}, w.out);
  }
  SECTION("an empty calibration file") {
    test_util::write_bytes(w.dir / "empty.txt", "");
    spec.extra = calib((w.dir / "empty.txt").string(), 2, 8);
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"calibration.source", "empty.txt"}, w.out);
  }
  SECTION("fewer tokens than samples x seq_len says how many there are") {
    test_util::write_bytes(w.dir / "short.txt", std::string(100, 'a') + "\n");
    spec.extra = calib((w.dir / "short.txt").string(), 4, 32);
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"calibration.source", "short.txt", "101 tokens", "4 x 32 = 128"}, w.out);
  }
  SECTION("seq_len beyond the model's context") {
    spec.extra = calib(w.text.string(), 2, 65);
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"calibration.seq_len", "65", "64"}, w.out);
  }
  SECTION("a JSON Lines row without the text field names its line") {
    test_util::write_bytes(w.dir / "rows.jsonl", "{\"text\": \"In the beginning\"}\n{\"content\": \"and the earth\"}\n");
    spec.extra = calib((w.dir / "rows.jsonl").string(), 1, 8);
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"rows.jsonl:2", "'text' field", "calibration.source"}, w.out);
  }
  SECTION("a pre-tokenized id outside the vocabulary names its position") {
    std::vector<int32_t> ids(2 * 40, 7);
    ids[40 + 5] = 256;  // the byte-level model has ids 0..255
    test_util::write_bytes(w.dir / "ids.npy",
                           test_util::npy_bytes("<i4", "(2, 40)", std::string(reinterpret_cast<const char*>(ids.data()), ids.size() * 4)));
    spec.extra = calib((w.dir / "ids.npy").string(), 2, 32);
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"ids.npy", "id 256 at position [1, 5]", "[0, 256)"}, w.out);
  }
  SECTION("a percentile outside (0, 100]") {
    for (const char* p : {"0", "100.5", "-3"}) {
      spec.extra = calib(w.text.string(), 2, 8) + "  percentiles: [99, " + p + "]\n";
      auto r = run_recipe(w.write_recipe(spec));
      require_bad_input(r, {"recipe.yaml:", "calibration.percentiles[1]", "(0, 100]"}, w.out);
    }
  }
  SECTION("a negative activation cache") {
    spec.extra = calib(w.text.string(), 2, 8) + "  activation_cache_mib: -1\n";
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"recipe.yaml:", "calibration.activation_cache_mib"}, w.out);
  }
  SECTION("an unknown sampler lists the choices") {
    spec.extra = calib(w.text.string(), 2, 8) + "  sampler: sequential\n";
    auto r = run_recipe(w.write_recipe(spec));
    require_bad_input(r, {"recipe.yaml:", "calibration.sampler", "random", "chunk"}, w.out);
  }
}

TEST_CASE("compressor calibrate refuses a recipe without calibration and an unwritable --stats, writing nothing", "[cli][bad-input][calibrate]") {
  auto w = make_workspace("calibrate-errors");
  auto spec = w.spec();
  const auto stats = w.dir / "stats.json";
  SECTION("no calibration block") {
    auto r = run_cli({"calibrate", w.write_recipe(spec).string(), "--stats", stats.string()});
    require_bad_input(r, {"recipe.yaml", "calibration"});
    CHECK(!fs::exists(stats));
  }
  SECTION("--stats under a file") {
    spec.extra = "calibration:\n  source: " + w.text.string() + "\n  samples: 2\n  seq_len: 16\n";
    auto r = run_cli({"calibrate", w.write_recipe(spec).string(), "--stats", (w.text / "stats.json").string()});
    require_bad_input(r, {"--stats"});
  }
  SECTION("a percentile outside (0, 100]") {
    spec.extra = "calibration:\n  source: " + w.text.string() + "\n  samples: 2\n  seq_len: 16\n  percentiles: [101]\n";
    auto r = run_cli({"calibrate", w.write_recipe(spec).string(), "--stats", stats.string()});
    require_bad_input(r, {"calibration.percentiles[0]", "(0, 100]"});
    CHECK(!fs::exists(stats));
  }
  SECTION("an existing report stays as it was when the run fails") {
    test_util::write_bytes(stats, "old report\n");
    spec.extra = "calibration:\n  source: " + (w.dir / "missing.jsonl").string() + "\n  samples: 2\n  seq_len: 16\n";
    auto r = run_cli({"calibrate", w.write_recipe(spec).string(), "--stats", stats.string()});
    require_bad_input(r, {"calibration.source", "missing.jsonl"});
    CHECK(test_util::read_bytes(stats) == "old report\n");
  }
}
