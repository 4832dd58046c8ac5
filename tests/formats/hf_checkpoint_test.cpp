// Hugging Face checkpoint layouts: single model.safetensors, a sharded index, a bare file path,
// and every way the index can disagree with its shards.
#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "formats/hf_checkpoint.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace compressor;
using namespace compressor::formats;
using test_util::bad_input_message;
using test_util::write_bytes;

namespace {

const char* kShard1 = "model-00001-of-00002.safetensors";
const char* kShard2 = "model-00002-of-00002.safetensors";

// Two shards: a.weight + a.bias in the first, b.weight in the second.
fs::path sharded_dir(const std::string& tag) {
  const auto dir = test_util::temp_dir(tag);
  write_safetensors(dir / kShard1,
                    {{"a.weight", torch::arange(6, torch::kFloat32).reshape({2, 3})},
                     {"a.bias", torch::ones({2}, torch::kFloat16)}},
                    {{"format", "pt"}, {"shard", "1"}});
  write_safetensors(dir / kShard2, {{"b.weight", torch::arange(4, torch::kInt64)}},
                    {{"shard", "2"}});
  return dir;
}

std::string index_json(const std::string& weight_map_body) {
  return R"({"metadata": {"total_size": 40}, "weight_map": {)" + weight_map_body + "}}";
}

const std::string kGoodMap = std::string(R"("b.weight": ")") + kShard2 +
                             R"(", "a.weight": ")" + kShard1 + R"(", "a.bias": ")" + kShard1 +
                             R"(")";

}  // namespace

TEST_CASE("checkpoint: directory with model.safetensors", "[hf_checkpoint]") {
  const auto dir = test_util::temp_dir("ckpt-single");
  write_bytes(dir / "config.json", "{}");
  write_safetensors(dir / "model.safetensors",
                    {{"z", torch::ones({3})}, {"a", torch::zeros({2, 2}, torch::kInt32)}},
                    {{"m", "v"}});
  auto ckpt = CheckpointTensors::open(dir);
  CHECK(ckpt.names() == std::vector<std::string>{"a", "z"});
  CHECK(ckpt.contains("z"));
  CHECK_FALSE(ckpt.contains("y"));
  CHECK(ckpt.total_bytes() == 3 * 4 + 4 * 4);
  CHECK(ckpt.metadata().at("m") == "v");
  CHECK(ckpt.file_of("a") == dir / "model.safetensors");
  CHECK(torch::equal(ckpt.tensor("z"), torch::ones({3})));
  CHECK(ckpt.info("a").dtype == DType::I32);
  CHECK(ckpt.root() == dir);
  const std::string msg = bad_input_message([&] { ckpt.tensor("y"); });
  CHECK_THAT(msg, Catch::Contains(dir.string()) && Catch::Contains("'y'"));
}

TEST_CASE("checkpoint: a single .safetensors file path", "[hf_checkpoint]") {
  const auto dir = test_util::temp_dir("ckpt-file");
  write_safetensors(dir / "weights.safetensors", {{"w", torch::arange(5, torch::kFloat32)}});
  auto ckpt = CheckpointTensors::open(dir / "weights.safetensors");
  CHECK(ckpt.names() == std::vector<std::string>{"w"});
  CHECK(torch::equal(ckpt.tensor("w"), torch::arange(5, torch::kFloat32)));
  // Zero-copy: two calls view the same mapped bytes (copies would be two buffers).
  CHECK(ckpt.tensor("w").data_ptr() == ckpt.tensor("w").data_ptr());
}

TEST_CASE("checkpoint: sharded index", "[hf_checkpoint]") {
  const auto dir = sharded_dir("ckpt-sharded");
  write_bytes(dir / "model.safetensors.index.json", index_json(kGoodMap));
  auto ckpt = CheckpointTensors::open(dir);
  CHECK(ckpt.names() == std::vector<std::string>{"a.bias", "a.weight", "b.weight"});
  CHECK(ckpt.file_of("a.bias") == dir / kShard1);
  CHECK(ckpt.file_of("b.weight") == dir / kShard2);
  CHECK(ckpt.total_bytes() == 6 * 4 + 2 * 2 + 4 * 8);
  // The metadata is that of the first shard, whatever the index's order.
  CHECK(ckpt.metadata().at("shard") == "1");
  CHECK(torch::equal(ckpt.tensor("b.weight"), torch::arange(4, torch::kInt64)));
  CHECK(torch::equal(ckpt.tensor("a.weight"),
                     torch::arange(6, torch::kFloat32).reshape({2, 3})));
}

TEST_CASE("checkpoint: model.safetensors wins over an index, as in transformers",
          "[hf_checkpoint]") {
  const auto dir = sharded_dir("ckpt-both");
  write_bytes(dir / "model.safetensors.index.json", "not even json");
  write_safetensors(dir / "model.safetensors", {{"only", torch::ones({1})}});
  CHECK(CheckpointTensors::open(dir).names() == std::vector<std::string>{"only"});
}

TEST_CASE("checkpoint: bad layouts and inconsistent indexes", "[hf_checkpoint]") {
  const auto dir = sharded_dir("ckpt-bad");
  const fs::path index = dir / "model.safetensors.index.json";
  auto index_error = [&](const std::string& text) {
    write_bytes(index, text);
    const std::string msg = bad_input_message([&] { CheckpointTensors::open(dir); });
    CHECK_THAT(msg, Catch::Contains(index.string()));
    return msg;
  };

  SECTION("tensor listed in a shard that does not contain it") {
    const std::string msg = index_error(index_json(
        kGoodMap + R"(, "c.weight": ")" + kShard1 + R"(")"));
    CHECK_THAT(msg, Catch::Contains("'c.weight'") && Catch::Contains(kShard1));
  }
  SECTION("tensor listed in the wrong shard") {
    const std::string msg = index_error(index_json(
        std::string(R"("b.weight": ")") + kShard1 + R"(", "a.weight": ")" + kShard1 +
        R"(", "a.bias": ")" + kShard1 + R"(")"));
    CHECK_THAT(msg, Catch::Contains("'b.weight'") && Catch::Contains(kShard1));
  }
  SECTION("tensor present in two shards") {
    write_safetensors(dir / kShard2,
                      {{"b.weight", torch::arange(4, torch::kInt64)}, {"a.bias", torch::ones({2})}});
    const std::string msg = index_error(index_json(kGoodMap));
    CHECK_THAT(msg, Catch::Contains("'a.bias'") && Catch::Contains("two shards") &&
                        Catch::Contains(kShard1) && Catch::Contains(kShard2));
  }
  SECTION("shard holds a tensor the index does not list") {
    const std::string msg = index_error(index_json(
        std::string(R"("b.weight": ")") + kShard2 + R"(", "a.weight": ")" + kShard1 + R"(")"));
    CHECK_THAT(msg, Catch::Contains("'a.bias'") && Catch::Contains(kShard1));
  }
  SECTION("tensor listed twice in weight_map") {
    const std::string msg = index_error(
        index_json(kGoodMap + R"(, "a.bias": ")" + kShard2 + R"(")"));
    CHECK_THAT(msg, Catch::Contains("'a.bias'") && Catch::Contains("twice"));
  }
  SECTION("shard path escapes the directory") {
    fs::create_directories(dir / "sub");
    const std::string msg = index_error(index_json(R"("a.weight": "../evil.safetensors")"));
    CHECK_THAT(msg, Catch::Contains("'a.weight'") && Catch::Contains("../evil.safetensors") &&
                        Catch::Contains("leaves"));
    CHECK_THAT(index_error(index_json(R"("a.weight": "sub/../../x.safetensors")")),
               Catch::Contains("leaves"));
    CHECK_THAT(index_error(index_json(R"("a.weight": "/etc/passwd")")), Catch::Contains("leaves"));
    CHECK_THAT(index_error(index_json(R"("a.weight": "")")), Catch::Contains("leaves"));
  }
  SECTION("shard file missing") {
    const std::string msg = index_error(index_json(R"("a.weight": "model-gone.safetensors")"));
    CHECK_THAT(msg, Catch::Contains("model-gone.safetensors") && Catch::Contains("missing"));
  }
  SECTION("index is not JSON, has no weight_map, or maps to a non-string") {
    CHECK_THAT(index_error("{\"weight_map\": "), Catch::Contains("not valid JSON"));
    CHECK_THAT(index_error("[]"), Catch::Contains("not a JSON object"));
    CHECK_THAT(index_error(index_json(kGoodMap) + std::string("\0junk", 5)),
               Catch::Contains("NUL byte"));
    CHECK_THAT(index_error(R"({"metadata": {}})"), Catch::Contains("weight_map"));
    CHECK_THAT(index_error(R"({"weight_map": []})"), Catch::Contains("weight_map"));
    CHECK_THAT(index_error(index_json("")), Catch::Contains("no tensors"));
    CHECK_THAT(index_error(index_json(R"("a.weight": 1)")), Catch::Contains("'a.weight'"));
  }
  SECTION("a corrupt shard is reported with the shard's own path") {
    write_bytes(dir / kShard2, "garbage!garbage!");
    const std::string msg = bad_input_message([&] {
      write_bytes(index, index_json(kGoodMap));
      CheckpointTensors::open(dir);
    });
    CHECK_THAT(msg, Catch::Contains((dir / kShard2).string()));
  }
}

TEST_CASE("checkpoint: a directory without weights names what it looked for",
          "[hf_checkpoint]") {
  const auto dir = test_util::temp_dir("ckpt-empty");
  write_bytes(dir / "config.json", "{}");
  const std::string msg = bad_input_message([&] { CheckpointTensors::open(dir); });
  CHECK_THAT(msg, Catch::Contains(dir.string()) && Catch::Contains("model.safetensors") &&
                      Catch::Contains("model.safetensors.index.json"));
  CHECK_THROWS_AS(CheckpointTensors::open(dir / "nope"), IoError);
  write_bytes(dir / "pytorch_model.bin", "pickle");
  CHECK_THAT(bad_input_message([&] { CheckpointTensors::open(dir); }), Catch::Contains("convert"));
}
