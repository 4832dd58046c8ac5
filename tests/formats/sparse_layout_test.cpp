// compressed-tensors' sparse layouts (sparse-24-bitmask, sparse-bitmask) and this toolkit's 2:4
// pack-quantized layout: the bit order against numpy.packbits(bitorder="little") worked by hand,
// exact round trips of float weights and of int8, int4 and FP8 codes through the artifact, the
// stored size against its theory, and every inconsistency a file can carry, named.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>

#include "compressor/base/error.h"
#include "compressor/quant/scheme.h"
#include "formats/artifact.h"
#include "formats/compressed_tensors.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors.h"
#include "formats/sparse_layout.h"
#include "formats/sparse_parts.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace compressor;
using namespace compressor::formats;
using test_util::bad_input_message;

namespace {

// An in-memory checkpoint for the torch-free readers: the parts as written.
struct PartStore {
  std::map<std::string, StoredTensor> parts;
  explicit PartStore(const std::vector<StoredTensor>& ps) {
    for (const auto& p : ps) parts.emplace(p.name, StoredTensor{p.name, p.tensor.contiguous(), p.dtype});
  }
  FindPart find() const {
    return [this](const std::string& name) -> std::optional<PartView> {
      auto it = parts.find(name);
      if (it == parts.end()) return std::nullopt;
      TensorInfo info{name, it->second.dtype, it->second.tensor.sizes().vec(), 0,
                      static_cast<uint64_t>(it->second.tensor.nbytes())};
      return PartView{info, static_cast<const uint8_t*>(it->second.tensor.data_ptr()), "mem: tensor '" + name + "'"};
    };
  }
};

// A weight that is 2:4 in every row, with no accidental zeros among the kept values.
torch::Tensor two_four_weight(int64_t rows, int64_t cols, uint64_t seed) {
  torch::manual_seed(seed);
  auto w = torch::randn({rows, cols}) + 0.01;
  auto groups = w.abs().reshape({rows, cols / 4, 4});
  const auto order = std::get<1>(groups.sort(-1));  // the two smallest of each group go
  auto mask = torch::ones_like(groups, torch::kBool);
  mask.scatter_(-1, order.narrow(-1, 0, 2), false);
  return (w * mask.reshape({rows, cols}).to(torch::kFloat32)).contiguous();
}

ArtifactInput dense_input(const torch::Tensor& w, const std::string& dtype, SparseFormat f) {
  ArtifactInput in;
  in.config = {{"model_type", "gpt2"}};
  in.tensors = {{"layer.weight", w}, {"other.weight", torch::ones({4, 4})}};
  in.dtype = dtype;
  in.sparse_format = f;
  in.linear_weights = {{"layer.weight", w}, {"other.weight", torch::ones({4, 4})}};
  return in;
}

QuantizedTensor quantized(const std::string& preset, const torch::Tensor& codes, const torch::Tensor& scale) {
  auto scheme = quant::preset_scheme(preset, {"Linear"}, "test");
  QuantizedTensor q;
  q.args = *scheme.weights;
  q.format = quant::format_of(scheme);
  q.input_activations = scheme.input_activations;
  q.scale_dtype = quant::ScaleDtype::f16;
  q.codes = codes.contiguous();
  q.scale = scale.contiguous();
  return q;
}

}  // namespace

TEST_CASE("sparse layouts pack bits as numpy.packbits little and keep exactly the non-zeros", "[formats][sparse]") {
  // Row 0: groups [1 0 0 2] [0 3 4 0]: kept columns 0, 3, 5, 6 -> bits 1 + 8 + 32 + 64 = 105.
  // Row 1: groups [0 5 0 0] [0 0 0 0]: a group with fewer than two non-zeros keeps its first zeros:
  // columns 0, 1 and 4, 5 -> 1 + 2 + 16 + 32 = 51, values 0 5 0 0.
  const std::vector<float> w = {1, 0, 0, 2, 0, 3, 4, 0, 0, 5, 0, 0, 0, 0, 0, 0};
  const auto* bytes = reinterpret_cast<const uint8_t*>(w.data());
  REQUIRE(is_two_four(bytes, 2, 8, 4, true));
  auto s = sparse_compress(bytes, 2, 8, 4, true, SparseFormat::two_four);
  CHECK(s.bitmask == std::vector<uint8_t>{105, 51});
  std::vector<float> kept(8);
  std::memcpy(kept.data(), s.values.data(), 32);
  CHECK(kept == std::vector<float>{1, 2, 3, 4, 0, 5, 0, 0});
  // The bitmask layout keeps the non-zeros alone and says where each row starts.
  auto b = sparse_compress(bytes, 2, 8, 4, true, SparseFormat::bitmask);
  CHECK(b.bitmask == std::vector<uint8_t>{105, 2});
  CHECK(b.kept() == 5);
  CHECK(b.row_offsets == std::vector<int64_t>{0, 4});
  // Three non-zeros in a group is not 2:4; a width that is not a multiple of 4 is not either.
  const std::vector<float> three = {1, 1, 1, 0};
  CHECK_FALSE(is_two_four(reinterpret_cast<const uint8_t*>(three.data()), 1, 4, 4, true));
  CHECK_FALSE(is_two_four(bytes, 1, 6, 4, true));
  // A float's negative zero is zero (a mask multiplied into a negative weight leaves one) and is
  // stored as +0; int8's 0x80 is -128.
  const std::vector<float> negative_zero = {-0.0f, 1, -0.0f, 2};
  const auto* nz = reinterpret_cast<const uint8_t*>(negative_zero.data());
  CHECK(count_nonzero(nz, 1, 4, 4, true) == 2);
  auto z = sparse_compress(nz, 1, 4, 4, true, SparseFormat::two_four);
  std::vector<float> zk(2);
  std::memcpy(zk.data(), z.values.data(), 8);
  CHECK(zk == std::vector<float>{1, 2});
  const uint8_t fp8[4] = {0x80, 0x00, 0x00, 0x00};
  CHECK(count_nonzero(fp8, 1, 4, 1, true) == 0);
  CHECK(count_nonzero(fp8, 1, 4, 1, false) == 1);
}

TEST_CASE("dense float weights round-trip through the artifact in both sparse layouts", "[formats][sparse]") {
  const auto w = two_four_weight(16, 64, 3);
  for (const std::string dtype : {"f32", "f16", "bf16"}) {
    for (auto f : {SparseFormat::two_four, SparseFormat::bitmask}) {
      INFO(dtype << " " << sparse_format_name(f));
      const auto dir = test_util::temp_dir("sparse-dense");
      const auto manifest = write_artifact(dir, dense_input(w, dtype, f));
      auto ckpt = CheckpointTensors::open(dir);
      CHECK_FALSE(ckpt.contains("layer.weight"));
      CHECK(ckpt.contains("layer.compressed"));
      CHECK(ckpt.contains("other.weight"));  // all ones: no layout suits it, it stays dense
      const auto d = sparse_decompress(ckpt.parts(), "layer", {DType::F32, DType::F16, DType::BF16}, dir.string());
      CHECK(d.format == f);
      auto back = torch::empty({16, 64}, to_torch(d.dtype));
      std::memcpy(back.data_ptr(), d.bytes.data(), d.bytes.size());
      const auto encoded = w.to(dtype == "f32" ? torch::kFloat32 : dtype == "f16" ? torch::kFloat16 : torch::kBFloat16);
      CHECK(torch::equal(back, encoded));
      // Stored bytes as the theory says: half the values (or the non-zeros), one bit per weight,
      // the shape (and row offsets).
      const int64_t es = dtype == "f32" ? 4 : 2;
      const int64_t theory = sparse_stored_bytes(f, 16, 64, 16 * 32, static_cast<size_t>(es));
      const auto& e = manifest.at("tensors").at("layer.compressed");
      CHECK(e.at("module") == "layer");
      CHECK(e.at("sparse_format") == sparse_format_name(f));
      CHECK(e.at("bits_per_weight").get<double>() == Approx(8.0 * static_cast<double>(theory) / (16 * 64)));
      CHECK(e.at("weight_shape") == std::vector<int64_t>{16, 64});
      CHECK(e.at("sparsity").get<double>() == 0.5);
      // 2:4 f16: 8 bits of values + 1 of mask.
      if (f == SparseFormat::two_four && es == 2) CHECK(e.at("bits_per_weight").get<double>() == Approx(9.0 + 128.0 / 1024));
      const auto sc = manifest.at("model_config").at("quantization_config").at("sparsity_config");
      CHECK(sc.at("format") == sparse_format_name(f));
      CHECK(sc.at("targets") == std::vector<std::string>{"layer"});
      CHECK(sc.at("ignore") == std::vector<std::string>{"other"});
      CHECK(sc.at("sparsity_structure") == (f == SparseFormat::two_four ? "2:4" : "unstructured"));
      CHECK(sc.at("global_sparsity").get<double>() == 0.5);
    }
  }
}

TEST_CASE("int8, int4 and FP8 codes round-trip through the artifact in a sparse layout", "[formats][sparse]") {
  const auto pattern = two_four_weight(8, 128, 5);
  const auto nonzero = pattern.ne(0);
  struct Case {
    const char* preset;
    SparseFormat f;
    torch::Tensor codes;
    int64_t scale_cols;
  };
  torch::manual_seed(9);
  const auto int8 = (torch::randint(1, 100, {8, 128}, torch::kInt8) * nonzero.to(torch::kInt8)).contiguous();
  const auto int4 = (torch::randint(1, 7, {8, 128}, torch::kInt8) * nonzero.to(torch::kInt8)).contiguous();
  const auto fp8 = (torch::randint(1, 0x70, {8, 128}, torch::kUInt8) * nonzero.to(torch::kUInt8)).contiguous();
  for (const auto& c : {Case{"W8A8", SparseFormat::two_four, int8, 1}, Case{"W8A8", SparseFormat::bitmask, int8, 1},
                        Case{"W4A16", SparseFormat::two_four, int4, 1}, Case{"FP8_DYNAMIC", SparseFormat::two_four, fp8, 1},
                        Case{"FP8_DYNAMIC", SparseFormat::bitmask, fp8, 1}}) {
    INFO(c.preset << " " << sparse_format_name(c.f));
    const auto scale_cols = std::string(c.preset) == "W4A16" ? int64_t{1} : c.scale_cols;
    auto q = quantized(c.preset, c.codes, torch::full({8, scale_cols}, 0.5f));
    ArtifactInput in;
    in.config = {{"model_type", "gpt2"}};
    in.tensors = {{"layer.weight", torch::zeros({8, 128})}};
    in.quantized = {{"layer.weight", &q}};
    in.sparse_format = c.f;
    const auto dir = test_util::temp_dir("sparse-quantized");
    const auto manifest = write_artifact(dir, in);
    auto ckpt = CheckpointTensors::open(dir);
    CHECK(ckpt.contains("layer.bitmask"));
    const auto config = manifest.at("model_config").at("quantization_config");
    CHECK(config.at("sparsity_config").at("targets") == std::vector<std::string>{"layer"});
    auto scheme = quant::preset_scheme(c.preset, {"layer"}, "test");
    scheme.format = q.format;
    const auto back = decompress(ckpt, "layer", scheme);
    CHECK(torch::equal(back.codes, q.codes));
    if (q.format == "pack-quantized") {
      // The kept codes packed: [8, 64] int4 is 8 words a row, plus one mask bit per weight.
      CHECK(ckpt.info("layer.weight_packed").shape == std::vector<int64_t>{8, 8});
      CHECK(ckpt.tensor("layer.weight_shape").equal(torch::tensor({8, 64}, torch::kInt64)));
      const double bpw = manifest.at("tensors").at("layer.weight_packed").at("bits_per_weight").get<double>();
      // Exactly 2 bits of kept codes + 1 of mask per weight + the f16 scale per 128, and the two
      // int64 [2] shapes (256 bits over these 1024 weights; nothing at a real layer's size).
      CHECK(bpw == Approx(3.0 + 16.0 / 128 + 256.0 / 1024));
    }
  }
}

TEST_CASE("an asymmetric int4 weight's pruned codes are its zero points: it stays packed dense", "[formats][sparse]") {
  auto q = quantized("W4A16_ASYM", torch::full({4, 128}, 3, torch::kInt8), torch::full({4, 1}, 0.5f));
  q.zero_point = torch::full({4, 1}, 3, torch::kInt32);
  ArtifactInput in;
  in.config = {{"model_type", "gpt2"}};
  in.tensors = {{"layer.weight", torch::zeros({4, 128})}};
  in.quantized = {{"layer.weight", &q}};
  in.sparse_format = SparseFormat::two_four;
  const auto dir = test_util::temp_dir("sparse-asym");
  const auto msg = bad_input_message([&] { write_artifact(dir, in); });
  CHECK_THAT(msg, Catch::Contains("output.sparse_format") && Catch::Contains("suits no linear weight"));
  CHECK_FALSE(fs::exists(dir / "model.safetensors"));
}

TEST_CASE("a sparse layout that suits no linear is refused before anything is written", "[formats][sparse]") {
  const auto dir = test_util::temp_dir("sparse-none");
  auto in = dense_input(torch::ones({4, 8}), "f32", SparseFormat::two_four);
  const auto msg = bad_input_message([&] { write_artifact(dir, in); });
  CHECK_THAT(msg, Catch::Contains("output.sparse_format") && Catch::Contains("2:4"));
  CHECK_FALSE(fs::exists(dir / "config.json"));
  CHECK_FALSE(fs::exists(dir / "model.safetensors"));
}

TEST_CASE("sparse parts that disagree are named: bit counts, offsets, values, shapes", "[formats][sparse]") {
  const auto w = two_four_weight(4, 16, 7);
  auto two = *sparse_dense_parts("m", w, SparseFormat::two_four);
  auto set = [](std::vector<StoredTensor>& parts, const std::string& name, const torch::Tensor& t) {
    for (auto& p : parts) {
      if (p.name == name) p.tensor = t;
    }
  };
  const std::vector<DType> floats{DType::F32};
  SECTION("a 2:4 group marking three values") {
    auto mask = two[1].tensor.clone();
    mask[2][1] = static_cast<uint8_t>(mask[2][1].item<uint8_t>() | 0x0f);
    set(two, "m.bitmask", mask);
    PartStore s(two);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", floats, "mem"); });
    CHECK_THAT(msg, Catch::Contains("tensor 'm.bitmask'") && Catch::Contains("row 2, columns 8..11") &&
                        Catch::Contains("exactly 2 of every 4"));
  }
  SECTION("2:4 values of the wrong shape") {
    set(two, "m.compressed", torch::zeros({4, 6}));
    PartStore s(two);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", floats, "mem"); });
    CHECK_THAT(msg, Catch::Contains("tensor 'm.compressed'") && Catch::Contains("[4, 8]"));
  }
  SECTION("a missing part") {
    two.erase(two.begin());
    PartStore s(two);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", floats, "mem"); });
    CHECK_THAT(msg, Catch::Contains("'m.compressed' is missing"));
  }
  SECTION("a non-positive shape") {
    set(two, "m.shape", torch::tensor({4, -16}, torch::kInt64).reshape({2, 1}));
    PartStore s(two);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", floats, "mem"); });
    CHECK_THAT(msg, Catch::Contains("tensor 'm.shape'") && Catch::Contains("positive"));
  }
  SECTION("a float layout read where codes are expected") {
    PartStore s(two);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", {DType::I8}, "mem"); });
    CHECK_THAT(msg, Catch::Contains("tensor 'm.compressed'") && Catch::Contains("I8"));
  }
  auto bits = *sparse_dense_parts("m", w, SparseFormat::bitmask);
  SECTION("row offsets that do not follow the bit counts") {
    set(bits, "m.row_offsets", torch::tensor({0, 8, 15, 24}, torch::kInt64));
    PartStore s(bits);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", floats, "mem"); });
    CHECK_THAT(msg, Catch::Contains("tensor 'm.row_offsets'") && Catch::Contains("row 2 starts at 15"));
  }
  SECTION("fewer values than the bitmask marks") {
    set(bits, "m.compressed", torch::zeros({30}));
    PartStore s(bits);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", floats, "mem"); });
    CHECK_THAT(msg, Catch::Contains("tensor 'm.compressed'") && Catch::Contains("holds 30 values"));
  }
  SECTION("a bit past the last column") {
    auto narrow = *sparse_dense_parts("m", two_four_weight(2, 12, 1), SparseFormat::bitmask);
    auto mask = narrow[1].tensor.clone();
    mask[0][1] = static_cast<uint8_t>(mask[0][1].item<uint8_t>() | 0x80);  // column 15 of 12
    set(narrow, "m.bitmask", mask);
    PartStore s(narrow);
    const auto msg = bad_input_message([&] { sparse_decompress(s.find(), "m", floats, "mem"); });
    CHECK_THAT(msg, Catch::Contains("tensor 'm.bitmask'") && Catch::Contains("past the last column"));
  }
}
