// The compact artifact v0: manifest fields, SHA-256 verification (a flipped byte is caught and the
// tensor named), f16/bf16 encodings, and files that are not artifacts.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
#include "compressor/base/sha256.h"
#include "compressor/version.h"
#include "formats/artifact.h"
#include "formats/safetensors.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace compressor;
using namespace compressor::formats;
using test_util::bad_input_message;
using test_util::read_bytes;
using test_util::write_bytes;

namespace {

// A weight with a known number of exact zeros (8 of 32), a dense bias and an integer tensor.
ArtifactInput sample_input(const std::string& dtype = "f32") {
  ArtifactInput in;
  in.config = {{"model_type", "gpt2"}, {"n_embd", 8}, {"vocab_size", 256}};
  auto w = torch::linspace(-2.0, 2.0, 32).reshape({4, 8}) + 0.03125;  // no accidental zeros
  w.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 2)}, 0.0);
  in.tensors = {{"layer.weight", w},
                {"layer.bias", torch::arange(1, 5, torch::kFloat32) * 0.1},
                {"positions", torch::arange(6, torch::kLong)}};
  in.dtype = dtype;
  in.manifest["recipe"] = "version: 1\n";
  in.manifest["metrics"] = {{"before", {{"x/perplexity", 2.0}}}, {"after", {{"x/perplexity", 2.5}}}};
  return in;
}

}  // namespace

TEST_CASE("artifact: write_artifact then read_manifest gives every field", "[artifact]") {
  const auto dir = test_util::temp_dir("artifact-manifest") / "out";  // created by the writer
  const auto in = sample_input();
  const auto written = write_artifact(dir, in);

  REQUIRE(fs::is_regular_file(dir / "config.json"));
  REQUIRE(fs::is_regular_file(dir / "model.safetensors"));
  CHECK(nlohmann::json::parse(read_bytes(dir / "config.json")) == in.config);
  CHECK(artifact_weights_file(dir) == dir / "model.safetensors");
  CHECK(artifact_weights_file(dir / "model.safetensors") == dir / "model.safetensors");

  CHECK(has_manifest(dir));
  CHECK(has_manifest(dir / "model.safetensors"));
  const auto m = read_manifest(dir);
  CHECK(m == written);
  CHECK(read_manifest(dir / "model.safetensors") == m);
  CHECK(m["format_version"] == 1);
  CHECK(m["format_version"] == kArtifactFormatVersion);
  CHECK(m["tool"]["name"] == "compressor");
  CHECK(m["tool"]["version"] == std::string(kVersion));
  CHECK(m["model_config"] == in.config);
  CHECK(m["recipe"] == "version: 1\n");
  CHECK(m["metrics"]["after"]["x/perplexity"] == 2.5);

  REQUIRE(m["tensors"].size() == 3);
  const auto& w = m["tensors"]["layer.weight"];
  CHECK(w["encoding"] == "f32");
  CHECK(w["dtype"] == "F32");
  CHECK(w["shape"] == std::vector<int64_t>{4, 8});
  CHECK(w["sparsity"].get<double>() == Approx(0.25));
  const auto weight = in.tensors[0].second.contiguous();
  CHECK(w["sha256"] == base::sha256_hex(weight.data_ptr(), static_cast<size_t>(weight.nbytes())));
  CHECK(w["sha256"].get<std::string>().size() == 64);
  CHECK(m["tensors"]["layer.bias"]["sparsity"].get<double>() == 0.0);
  CHECK(m["tensors"]["layer.bias"]["shape"] == std::vector<int64_t>{4});
  CHECK(m["tensors"]["positions"]["dtype"] == "I64");
  CHECK(m["tensors"]["positions"]["sparsity"].get<double>() == Approx(1.0 / 6));

  // Any safetensors reader sees the tensors under their names, bit for bit.
  auto st = SafetensorsFile::open(dir / "model.safetensors");
  CHECK(torch::equal(st->tensor("layer.weight"), in.tensors[0].second));
  CHECK(torch::equal(st->tensor("positions"), in.tensors[2].second));
  CHECK_NOTHROW(verify_artifact(dir));
  CHECK_NOTHROW(verify_artifact(dir / "model.safetensors"));

  // No temporary files left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 2);
}

TEST_CASE("artifact: one flipped byte fails verification naming the tensor", "[artifact]") {
  const auto dir = test_util::temp_dir("artifact-flip");
  write_artifact(dir, sample_input());
  const auto file = dir / "model.safetensors";
  uint64_t offset = 0;
  {
    auto st = SafetensorsFile::open(file);
    const auto& info = st->info("layer.bias");
    offset = st->data_start() + info.begin + 1;
  }
  std::string bytes = read_bytes(file);
  REQUIRE(offset < bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x01);
  write_bytes(file, bytes);

  CHECK(has_manifest(dir));  // the manifest itself is intact
  const std::string msg = bad_input_message([&] { verify_artifact(dir); });
  CHECK_THAT(msg, Catch::Contains(file.string()));
  CHECK_THAT(msg, Catch::Contains("'layer.bias'"));
  CHECK_THAT(msg, Catch::Contains("SHA-256"));
  CHECK_THAT(msg, !Catch::Contains("layer.weight"));
}

TEST_CASE("artifact: f16 and bf16 encodings round-trip within their precision", "[artifact]") {
  struct Case {
    const char* dtype;
    const char* st_dtype;
    torch::ScalarType type;
    double rtol;  // half an ulp at 1.0, with margin
  };
  for (const auto& c : {Case{"f16", "F16", torch::kFloat16, 1e-3}, Case{"bf16", "BF16", torch::kBFloat16, 8e-3}}) {
    INFO(c.dtype);
    const auto dir = test_util::temp_dir(std::string("artifact-") + c.dtype);
    const auto in = sample_input(c.dtype);
    write_artifact(dir, in);
    const auto m = read_manifest(dir);
    CHECK(m["tensors"]["layer.weight"]["encoding"] == c.dtype);
    CHECK(m["tensors"]["layer.weight"]["dtype"] == c.st_dtype);
    CHECK(m["tensors"]["layer.weight"]["sparsity"].get<double>() == Approx(0.25));
    CHECK(m["tensors"]["positions"]["dtype"] == "I64");  // integers are never re-encoded
    CHECK_NOTHROW(verify_artifact(dir));

    auto st = SafetensorsFile::open(dir / "model.safetensors");
    for (const auto& [name, original] : in.tensors) {
      INFO(name);
      const auto back = st->tensor(name);
      if (!original.is_floating_point()) {
        CHECK(torch::equal(back, original));
        continue;
      }
      REQUIRE(back.scalar_type() == c.type);
      CHECK(torch::allclose(back.to(torch::kFloat32), original, c.rtol, 0.0));
      // Zeros stay exactly zero.
      CHECK(torch::equal(back.to(torch::kFloat32) == 0, original == 0));
    }
  }
}

TEST_CASE("artifact: an unknown encoding is a BadInput naming output.dtype", "[artifact]") {
  const auto dir = test_util::temp_dir("artifact-dtype") / "out";
  const std::string msg = bad_input_message([&] { write_artifact(dir, sample_input("f8")); });
  CHECK_THAT(msg, Catch::Contains("output.dtype") && Catch::Contains("f8"));
  CHECK_FALSE(fs::exists(dir / "model.safetensors"));
}

TEST_CASE("artifact: a safetensors file without a manifest is not an artifact", "[artifact]") {
  const auto dir = test_util::temp_dir("artifact-none");
  const auto file = dir / "model.safetensors";
  write_safetensors(file, {{"w", torch::ones({2, 2})}}, {{"format", "pt"}});
  CHECK_FALSE(has_manifest(dir));
  CHECK_FALSE(has_manifest(file));
  CHECK_FALSE(has_manifest(dir / "absent"));
  const std::string msg = bad_input_message([&] { read_manifest(dir); });
  CHECK_THAT(msg, Catch::Contains(file.string()));
  CHECK_THAT(msg, Catch::Contains(kManifestKey));
  const std::string verify = bad_input_message([&] { verify_artifact(file); });
  CHECK_THAT(verify, Catch::Contains(file.string()));
}

TEST_CASE("artifact: manifests from a newer format or without a version are refused", "[artifact]") {
  const auto dir = test_util::temp_dir("artifact-version");
  const auto file = dir / "model.safetensors";
  write_safetensors(file, {{"w", torch::ones({2})}}, {{kManifestKey, R"({"format_version": 2, "tensors": {}})"}});
  CHECK(has_manifest(file));
  auto msg = bad_input_message([&] { read_manifest(file); });
  CHECK_THAT(msg, Catch::Contains(file.string()) && Catch::Contains("format_version 2") && Catch::Contains("0 to 1"));

  // Format 0 (dense, before quantization) still reads.
  write_safetensors(file, {{"w", torch::ones({2})}}, {{kManifestKey, R"({"format_version": 0, "tensors": {}})"}});
  CHECK(read_manifest(file)["format_version"] == 0);

  write_safetensors(file, {{"w", torch::ones({2})}}, {{kManifestKey, R"({"tensors": {}})"}});
  msg = bad_input_message([&] { read_manifest(file); });
  CHECK_THAT(msg, Catch::Contains("format_version"));

  write_safetensors(file, {{"w", torch::ones({2})}}, {{kManifestKey, "{not json"}});
  msg = bad_input_message([&] { read_manifest(file); });
  CHECK_THAT(msg, Catch::Contains(file.string()) && Catch::Contains("not valid JSON"));
}

TEST_CASE("artifact: a tensor missing from the manifest fails verification", "[artifact]") {
  const auto dir = test_util::temp_dir("artifact-extra");
  const auto m = write_artifact(dir, sample_input());
  auto manifest = m;
  manifest["tensors"].erase("layer.bias");
  auto st = SafetensorsFile::open(dir / "model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& info : st->tensors()) tensors.emplace_back(info.name, st->tensor(info.name).clone());
  st.reset();
  write_safetensors(dir / "model.safetensors", tensors, {{kManifestKey, manifest.dump()}});
  const std::string msg = bad_input_message([&] { verify_artifact(dir); });
  CHECK_THAT(msg, Catch::Contains("'layer.bias'") && Catch::Contains("not in the manifest"));
}

TEST_CASE("artifact: extra files (the tokenizer) are written beside the weights", "[artifact]") {
  const auto dir = test_util::temp_dir("artifact-extra") / "out";
  auto in = sample_input();
  in.extra_files = {{"tokenizer.json", "{\"model\": {}}\n"}, {"vocab.txt", "[PAD]\n[UNK]\n"}};
  write_artifact(dir, in);
  CHECK(read_bytes(dir / "tokenizer.json") == "{\"model\": {}}\n");
  CHECK(read_bytes(dir / "vocab.txt") == "[PAD]\n[UNK]\n");
  verify_artifact(dir);
  // A name that would overwrite the artifact's own files or leave the directory is refused.
  in.extra_files = {{"../escape.txt", "x"}};
  CHECK_THROWS_AS(write_artifact(test_util::temp_dir("artifact-extra-bad"), in), compressor::InternalError);
}
