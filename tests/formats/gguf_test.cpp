// GGUF reader: metadata of every value type, bit-exact dequantization of every supported ggml
// type against gguf-py's reference (tests/golden/make_gguf_golden.py), and one test per kind of
// corrupt file (each a BadInput naming the file and, where there is one, the key or tensor).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "compressor/base/error.h"
#include "formats/gguf.h"
#include "compressor/quant/float_formats.h"
#include "compressor/quant/gguf_blocks.h"
#include "formats/safetensors.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace compressor;
using namespace compressor::formats;
using Catch::Matchers::Contains;
using test_util::bad_input_message;
using test_util::read_bytes;
using test_util::write_bytes;

namespace {

fs::path golden_dir() { return test_util::source_dir() / "tests" / "golden" / "gguf"; }
fs::path tiny_path() { return golden_dir() / "tiny.gguf"; }

std::string le(uint64_t v, int bytes) {
  std::string s(static_cast<std::size_t>(bytes), '\0');
  for (int i = 0; i < bytes; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string u32(uint32_t v) { return le(v, 4); }
std::string u64(uint64_t v) { return le(v, 8); }
std::string gstr(const std::string& s) { return u64(s.size()) + s; }

// A tensor info record as the spec lays it out.
std::string tensor_info(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type,
                        uint64_t offset) {
  std::string s = gstr(name) + u32(static_cast<uint32_t>(ne.size()));
  for (uint64_t d : ne) s += u64(d);
  return s + u32(type) + u64(offset);
}

// A whole file built by hand, independent of any writer: header, `kvs` (already encoded),
// tensor infos, zero padding to 32, then `data`.
std::string hand_file(const std::vector<std::string>& kvs, const std::vector<std::string>& infos,
                      const std::string& data, uint32_t version = 3) {
  std::string s = "GGUF" + u32(version) + u64(infos.size()) + u64(kvs.size());
  for (const auto& kv : kvs) s += kv;
  for (const auto& ti : infos) s += ti;
  s.append((32 - s.size() % 32) % 32, '\0');
  return s + data;
}

std::string kv_u32(const std::string& key, uint32_t v) { return gstr(key) + u32(4) + u32(v); }

// One F32 tensor "w" of ne [4, 2] at offset 0: a valid baseline for the corrupt variants.
std::string good_file() {
  return hand_file({kv_u32("k", 7)}, {tensor_info("w", {4, 2}, 0, 0)}, std::string(32, '\0'));
}

fs::path put(const std::string& tag, const std::string& bytes) {
  fs::path p = test_util::temp_dir("gguf") / (tag + ".gguf");
  write_bytes(p, bytes);
  return p;
}

std::string open_error(const fs::path& p) {
  return bad_input_message([&] { GgufFile::open(p); });
}

}  // namespace

TEST_CASE("gguf reads metadata of every value type", "[gguf]") {
  auto f = GgufFile::open(tiny_path());
  CHECK(f->version() == 3);
  CHECK(f->alignment() == 64);
  CHECK(f->data_start() % 64 == 0);
  CHECK(f->get_string("general.architecture") == "tiny");

  CHECK(f->value("test.uint8").type == GgufValueType::UINT8);
  CHECK(f->get_int("test.uint8") == 200);
  CHECK(f->value("test.int8").type == GgufValueType::INT8);
  CHECK(f->get_int("test.int8") == -100);
  CHECK(f->get_uint("test.uint16") == 60000);
  CHECK(f->get_int("test.int16") == -30000);
  CHECK(f->get_uint("test.uint32") == 4000000000u);
  CHECK(f->get_int("test.int32") == -2000000000);
  CHECK(f->value("test.float32").type == GgufValueType::FLOAT32);
  CHECK(f->get_float("test.float32") == 1.5);
  CHECK(f->get_bool("test.bool") == true);
  CHECK(f->get_string("test.string") == "h\xc3\xa9llo GGUF");
  CHECK(f->get_uint("test.uint64") == std::numeric_limits<uint64_t>::max());
  CHECK(f->get_int("test.int64") == std::numeric_limits<int64_t>::min());
  CHECK(f->value("test.float64").type == GgufValueType::FLOAT64);
  CHECK(f->get_float("test.float64") == 0.1);

  CHECK(f->get_array("test.array.uint8").type == GgufValueType::UINT8);
  CHECK(f->get_array("test.array.uint8").uints == std::vector<uint64_t>{0, 1, 255});
  CHECK(f->get_array("test.array.int8").ints == std::vector<int64_t>{-128, 0, 127});
  CHECK(f->get_array("test.array.uint16").uints == std::vector<uint64_t>{0, 65535});
  CHECK(f->get_array("test.array.int16").ints == std::vector<int64_t>{-32768, 32767});
  CHECK(f->get_array("test.array.uint32").uints == std::vector<uint64_t>{0, 4294967295u});
  CHECK(f->get_array("test.array.int32").ints == std::vector<int64_t>{-2147483648LL, 2147483647});
  CHECK(f->get_array("test.array.float32").type == GgufValueType::FLOAT32);
  CHECK(f->get_array("test.array.float32").floats == std::vector<double>{0.5, -2.25});
  CHECK(f->get_array("test.array.bool").type == GgufValueType::BOOL);
  CHECK(f->get_array("test.array.bool").uints == std::vector<uint64_t>{1, 0, 1});
  CHECK(f->get_array("test.array.string").strings == std::vector<std::string>{"a", "", "xyz"});
  CHECK(f->get_array("test.array.uint64").uints ==
        std::vector<uint64_t>{std::numeric_limits<uint64_t>::max()});
  CHECK(f->get_array("test.array.int64").ints ==
        std::vector<int64_t>{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()});
  CHECK(f->get_array("test.array.float64").floats == std::vector<double>{0.1, -1e300});

  const GgufArray& nested = f->get_array("test.array.nested");  // [[1, 2], [3], [[4, 5], [6]]]
  REQUIRE(nested.type == GgufValueType::ARRAY);
  REQUIRE(nested.size() == 3);
  CHECK(nested.arrays[0].type == GgufValueType::INT32);
  CHECK(nested.arrays[0].ints == std::vector<int64_t>{1, 2});
  CHECK(nested.arrays[1].ints == std::vector<int64_t>{3});
  REQUIRE(nested.arrays[2].type == GgufValueType::ARRAY);
  REQUIRE(nested.arrays[2].arrays.size() == 2);
  CHECK(nested.arrays[2].arrays[0].ints == std::vector<int64_t>{4, 5});
  CHECK(nested.arrays[2].arrays[1].ints == std::vector<int64_t>{6});
  const GgufArray& ns = f->get_array("test.array.nested_strings");
  REQUIRE(ns.arrays.size() == 2);
  CHECK(ns.arrays[0].strings == std::vector<std::string>{"a", "b"});
  CHECK(ns.arrays[1].strings == std::vector<std::string>{"c"});

  // Metadata keeps file order.
  REQUIRE(f->metadata().size() >= 2);
  CHECK(f->metadata()[0].first == "general.architecture");
}

TEST_CASE("gguf typed getters reject a missing key or a wrong type naming file and key", "[gguf]") {
  auto f = GgufFile::open(tiny_path());
  std::string msg = bad_input_message([&] { f->get_string("test.uint8"); });
  CHECK_THAT(msg, Contains("tiny.gguf") && Contains("test.uint8") && Contains("expected string") &&
                      Contains("uint8"));
  msg = bad_input_message([&] { f->get_int("no.such.key"); });
  CHECK_THAT(msg, Contains("tiny.gguf") && Contains("no.such.key") && Contains("no such"));
  msg = bad_input_message([&] { f->get_int("test.uint64"); });
  CHECK_THAT(msg, Contains("test.uint64") && Contains("int64"));
  msg = bad_input_message([&] { f->get_uint("test.int8"); });
  CHECK_THAT(msg, Contains("test.int8") && Contains("negative"));
  msg = bad_input_message([&] { f->get_float("test.string"); });
  CHECK_THAT(msg, Contains("test.string") && Contains("float"));
  msg = bad_input_message([&] { f->get_bool("test.int32"); });
  CHECK_THAT(msg, Contains("test.int32") && Contains("bool"));
  msg = bad_input_message([&] { f->get_array("test.string"); });
  CHECK_THAT(msg, Contains("test.string") && Contains("array"));
  msg = bad_input_message([&] { f->dequantize("no.such.tensor"); });
  CHECK_THAT(msg, Contains("tiny.gguf") && Contains("no.such.tensor"));
}

TEST_CASE("gguf tensor infos give type, ggml dims and torch shape", "[gguf]") {
  auto f = GgufFile::open(tiny_path());
  REQUIRE(f->tensors().size() == 11);
  CHECK(f->tensors()[0].name == "t.f32");  // file order
  const GgufTensorInfo& q6 = f->info("t.q6_k");
  CHECK(ggml_type_name(q6.type) == "Q6_K");
  CHECK(q6.ne == std::vector<uint64_t>{256, 2, 2});
  CHECK(q6.shape() == std::vector<int64_t>{2, 2, 256});
  CHECK(q6.numel == 1024);
  CHECK(q6.size == 4 * 210);
  const GgufTensorInfo& q4 = f->info("t.q4_0");
  CHECK(q4.shape() == std::vector<int64_t>{3, 64});
  CHECK(q4.size == 6 * 18);
  for (const auto& t : f->tensors()) {
    CHECK(t.offset % 64 == 0);
    CHECK(ggml_type_supported(t.type));
  }
  CHECK(f->info("t.f32").shape() == std::vector<int64_t>{2, 3, 4});
  CHECK(ggml_type_name(12) == "Q4_K");
  CHECK(ggml_type_name(30) == "BF16");
  CHECK(ggml_type_name(99) == "type 99");
}

TEST_CASE("gguf dequantizes every supported type bit-exact against gguf-py", "[gguf]") {
  auto f = GgufFile::open(tiny_path());
  auto expected = SafetensorsFile::open(golden_dir() / "tiny.expected.safetensors");
  REQUIRE(expected->tensors().size() == 11);
  std::set<std::string> types;
  for (const auto& ti : expected->tensors()) {
    INFO("tensor " << ti.name);
    const torch::Tensor want = expected->tensor(ti.name).contiguous();
    const torch::Tensor got = f->dequantize(ti.name);
    REQUIRE(got.scalar_type() == torch::kFloat32);
    REQUIRE(got.sizes() == want.sizes());
    CHECK(std::memcmp(got.data_ptr(), want.data_ptr(), static_cast<std::size_t>(want.numel()) * 4) == 0);
    CHECK(torch::isfinite(got).all().item<bool>());
    types.insert(ggml_type_name(f->info(ti.name).type));
  }
  CHECK(types == std::set<std::string>{"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                       "Q5_1", "Q4_K", "Q5_K", "Q6_K"});
}

TEST_CASE("gguf fp16 and bf16 conversions are exact", "[gguf]") {
  using quant::bf16_to_fp32;
  using quant::fp16_to_fp32;
  CHECK(fp16_to_fp32(0x3C00) == 1.0f);
  CHECK(fp16_to_fp32(0xC000) == -2.0f);
  CHECK(fp16_to_fp32(0x7BFF) == 65504.0f);
  CHECK(fp16_to_fp32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(fp16_to_fp32(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(std::signbit(fp16_to_fp32(0x8000)));
  CHECK(std::isinf(fp16_to_fp32(0x7C00)));
  CHECK(std::isnan(fp16_to_fp32(0x7E00)));
  CHECK(bf16_to_fp32(0x3F80) == 1.0f);
  CHECK(bf16_to_fp32(0xC040) == -3.0f);
}

TEST_CASE("gguf hand-built file reads back", "[gguf]") {
  std::string data(32, '\0');
  const float vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::memcpy(&data[0], vals, 32);
  const fs::path p = put("good", hand_file({kv_u32("k", 7)}, {tensor_info("w", {4, 2}, 0, 0)}, data));
  auto f = GgufFile::open(p);
  CHECK(f->alignment() == 32);  // default
  CHECK(f->get_int("k") == 7);
  const torch::Tensor t = f->dequantize("w");
  CHECK(t.sizes() == torch::IntArrayRef{2, 4});
  CHECK(t[1][0].item<float>() == 5.0f);
}

TEST_CASE("gguf corrupt files are BadInput naming the file", "[gguf]") {
  const std::string tiny = read_bytes(tiny_path());

  SECTION("wrong magic") {
    std::string b = tiny;
    b.replace(0, 4, "GGML");
    const std::string msg = open_error(put("magic", b));
    CHECK_THAT(msg, Contains("magic.gguf") && Contains("GGML") && Contains("not a GGUF file"));
  }
  SECTION("version 1") {
    std::string b = tiny;
    b.replace(4, 4, u32(1));
    const std::string msg = open_error(put("v1", b));
    CHECK_THAT(msg, Contains("v1.gguf") && Contains("version 1") && Contains("supported: 2, 3"));
  }
  SECTION("version 4") {
    std::string b = tiny;
    b.replace(4, 4, u32(4));
    CHECK_THAT(open_error(put("v4", b)), Contains("v4.gguf") && Contains("version 4"));
  }
  SECTION("tensor count past the file") {
    std::string b = tiny;
    b.replace(8, 8, u64(1ull << 60));
    CHECK_THAT(open_error(put("count", b)), Contains("count.gguf") && Contains("tensor count"));
  }
  SECTION("metadata count past the file") {
    std::string b = tiny;
    b.replace(16, 8, u64(~0ull));
    CHECK_THAT(open_error(put("kvcount", b)), Contains("kvcount.gguf") && Contains("metadata count"));
  }
  SECTION("tensor count one too many") {
    std::string b = good_file();
    b.replace(8, 8, u64(2));
    CHECK_THAT(open_error(put("plus1", b)), Contains("plus1.gguf"));
  }
  SECTION("truncated file") {
    const std::string msg = open_error(put("trunc", tiny.substr(0, tiny.size() / 2)));
    CHECK_THAT(msg, Contains("trunc.gguf"));
  }
  SECTION("shorter than the header") {
    CHECK_THAT(open_error(put("short", "GGUF")), Contains("short.gguf") && Contains("truncated"));
  }
  SECTION("string length past the end") {
    const std::string kv = gstr("key") + u32(8) + u64(1000000000) + "abc";
    const std::string msg = open_error(put("strlen", hand_file({kv}, {}, "")));
    CHECK_THAT(msg, Contains("strlen.gguf") && Contains("'key'") && Contains("past the end"));
  }
  SECTION("key length past the end") {
    const std::string kv = u64(~0ull) + "k";
    CHECK_THAT(open_error(put("keylen", hand_file({kv}, {}, ""))), Contains("keylen.gguf") && Contains("past the end"));
  }
  SECTION("array length past the end") {
    const std::string kv = gstr("arr") + u32(9) + u32(5) + u64(1ull << 62) + u32(1);
    const std::string msg = open_error(put("arrlen", hand_file({kv}, {}, "")));
    CHECK_THAT(msg, Contains("arrlen.gguf") && Contains("'arr'") && Contains("array length"));
  }
  SECTION("bad value type") {
    const std::string kv = gstr("odd") + u32(13) + u32(0);
    CHECK_THAT(open_error(put("vtype", hand_file({kv}, {}, ""))), Contains("vtype.gguf") && Contains("'odd'"));
  }
  SECTION("duplicate key") {
    const std::string msg = open_error(put("dupkey", hand_file({kv_u32("a", 1), kv_u32("a", 2)}, {}, "")));
    CHECK_THAT(msg, Contains("dupkey.gguf") && Contains("'a'") && Contains("duplicate"));
  }
  SECTION("tensor offset outside the data") {
    const std::string msg =
        open_error(put("offset", hand_file({}, {tensor_info("w", {4, 2}, 0, 64)}, std::string(32, '\0'))));
    CHECK_THAT(msg, Contains("offset.gguf") && Contains("'w'") && Contains("outside"));
  }
  SECTION("tensor data past the end") {
    const std::string msg =
        open_error(put("short_data", hand_file({}, {tensor_info("w", {4, 2}, 0, 0)}, std::string(31, '\0'))));
    CHECK_THAT(msg, Contains("short_data.gguf") && Contains("'w'"));
  }
  SECTION("offset overflow") {
    const std::string msg = open_error(
        put("overflow", hand_file({}, {tensor_info("w", {4, 2}, 0, ~0ull - 31)}, std::string(32, '\0'))));
    CHECK_THAT(msg, Contains("overflow.gguf") && Contains("'w'"));
  }
  SECTION("misaligned offset") {
    const std::string msg =
        open_error(put("misaligned", hand_file({}, {tensor_info("w", {4}, 0, 4)}, std::string(32, '\0'))));
    CHECK_THAT(msg, Contains("misaligned.gguf") && Contains("'w'") && Contains("alignment"));
  }
  SECTION("overlapping tensors") {
    const std::string msg = open_error(put(
        "overlap", hand_file({}, {tensor_info("a", {16}, 0, 0), tensor_info("b", {8}, 0, 32)},
                             std::string(64, '\0'))));
    CHECK_THAT(msg, Contains("overlap.gguf") && Contains("overlaps"));
  }
  SECTION("duplicate tensor name") {
    const std::string msg = open_error(put(
        "duptensor", hand_file({}, {tensor_info("a", {8}, 0, 0), tensor_info("a", {8}, 0, 32)},
                               std::string(64, '\0'))));
    CHECK_THAT(msg, Contains("duptensor.gguf") && Contains("'a'") && Contains("duplicate"));
  }
  SECTION("dimension product overflow") {
    const std::string msg = open_error(
        put("dims", hand_file({}, {tensor_info("w", {1ull << 40, 1ull << 40}, 0, 0)}, std::string(32, '\0'))));
    CHECK_THAT(msg, Contains("dims.gguf") && Contains("'w'"));
  }
  SECTION("too many dimensions") {
    const std::string msg = open_error(
        put("ndims", hand_file({}, {tensor_info("w", {1, 1, 1, 1, 1}, 0, 0)}, std::string(32, '\0'))));
    CHECK_THAT(msg, Contains("ndims.gguf") && Contains("'w'") && Contains("dimensions"));
  }
  SECTION("ne0 not a multiple of the block size") {
    const std::string msg = open_error(
        put("block", hand_file({}, {tensor_info("w", {16}, 2, 0)}, std::string(32, '\0'))));
    CHECK_THAT(msg, Contains("block.gguf") && Contains("'w'") && Contains("Q4_0"));
  }
  SECTION("unsupported type id") {
    const std::string msg =
        open_error(put("type", hand_file({}, {tensor_info("w", {4, 2}, 99, 0)}, std::string(32, '\0'))));
    CHECK_THAT(msg, Contains("type.gguf") && Contains("'w'") && Contains("99") && Contains("Q4_K") &&
                        Contains("supported"));
  }
  SECTION("bad alignment") {
    const std::string msg = open_error(put("align", hand_file({kv_u32("general.alignment", 48)}, {}, "")));
    CHECK_THAT(msg, Contains("align.gguf") && Contains("general.alignment") && Contains("power of two"));
  }
  SECTION("bool out of range") {
    const std::string kv = gstr("flag") + u32(7) + std::string(1, '\x02');
    CHECK_THAT(open_error(put("bool", hand_file({kv}, {}, ""))), Contains("bool.gguf") && Contains("'flag'"));
  }
  SECTION("arrays nested too deep") {
    std::string kv = gstr("deep") + u32(9);
    for (int i = 0; i < 100; ++i) kv += u32(9) + u64(1);
    kv += u32(0) + u64(0);
    CHECK_THAT(open_error(put("deep", hand_file({kv}, {}, ""))), Contains("deep.gguf") && Contains("nested"));
  }
}

TEST_CASE("gguf known but unsupported type fails at dequantize naming tensor and type", "[gguf]") {
  // Q2_K: 256 values in 84 bytes. Its size is known, so the file opens; dequantize refuses.
  const fs::path p = put("q2k", hand_file({}, {tensor_info("w", {256}, 10, 0)}, std::string(96, '\0')));
  auto f = GgufFile::open(p);
  CHECK(f->info("w").size == 84);
  const std::string msg = bad_input_message([&] { f->dequantize("w"); });
  CHECK_THAT(msg, Contains("q2k.gguf") && Contains("'w'") && Contains("Q2_K") && Contains("Q6_K") &&
                      Contains("supported"));
}

TEST_CASE("gguf reads the real SmolLM2 Q4_1 file", "[gguf]") {
  const fs::path p = test_util::smollm2_gguf();
  if (!fs::exists(p)) {
    WARN("skipped: " << p.string() << " is absent (real models live in .deps/models)");
    return;
  }
  auto f = GgufFile::open(p);
  CHECK(f->get_string("general.architecture") == "llama");
  CHECK(f->get_int("llama.block_count") == 30);
  CHECK(f->get_array("tokenizer.ggml.tokens").size() == 49152);
  const torch::Tensor emb = f->dequantize("token_embd.weight");
  CHECK(emb.sizes() == torch::IntArrayRef{49152, 576});
  CHECK(torch::isfinite(emb).all().item<bool>());
  CHECK(emb.abs().max().item<float>() > 0.0f);

  // Reference values from gguf-py 0.19.0's gguf.quants.dequantize on this file: exact elements
  // (bit-exact) and the float64 sum (summation order differs, hence the tolerance).
  struct Ref {
    const char* name;
    std::vector<int64_t> shape;
    double sum;
    float first, second, last, middle;  // [0,0], [0,1], [-1,-1], [rows/2, cols/3]
  };
  const Ref refs[] = {
      {"token_embd.weight", {49152, 576}, -15353.04449415207, -0x1.b468p-4f, 0x1.0e28p-5f, -0x1.55a0p-5f,
       0x1.ff10p-5f},
      {"blk.0.attn_q.weight", {576, 576}, 59.22322082519531, -0x1.8a80p-4f, 0x1.4240p-3f, -0x1.06p-2f,
       -0x1.aap-5f},
      {"blk.29.ffn_down.weight", {576, 1536}, 49.83570861816406, -0x1.17e0p-2f, 0x1.7d80p-3f, 0x1.d0p-5f,
       -0x1.3440p-3f},
  };
  for (const Ref& r : refs) {
    INFO("tensor " << r.name << " (" << ggml_type_name(f->info(r.name).type) << ")");
    const torch::Tensor t = f->dequantize(r.name);
    REQUIRE(t.sizes() == torch::IntArrayRef(r.shape));
    const int64_t rows = r.shape[0], cols = r.shape[1];
    CHECK(t[0][0].item<float>() == r.first);
    CHECK(t[0][1].item<float>() == r.second);
    CHECK(t[rows - 1][cols - 1].item<float>() == r.last);
    CHECK(t[rows / 2][cols / 3].item<float>() == r.middle);
    CHECK(t.to(torch::kFloat64).sum().item<double>() == Approx(r.sum).epsilon(1e-9));
  }
}

TEST_CASE("gguf survives every truncation and single-byte corruption of the header", "[gguf]") {
  // Each variant must either open (and dequantize) or throw BadInput; anything else (a crash,
  // another exception, a huge allocation) fails the test.
  const std::string tiny = read_bytes(tiny_path());
  auto f0 = GgufFile::open(tiny_path());
  const std::size_t header_end = static_cast<std::size_t>(f0->data_start());
  const fs::path dir = test_util::temp_dir("gguf-fuzz");
  int tried = 0, opened = 0;
  auto try_open = [&](const std::string& bytes, const std::string& tag) {
    ++tried;
    const fs::path p = dir / "f.gguf";
    write_bytes(p, bytes);
    try {
      auto f = GgufFile::open(p);
      for (const auto& t : f->tensors()) {
        if (ggml_type_supported(t.type)) f->dequantize(t.name);
      }
      ++opened;
    } catch (const BadInput& e) {
      if (std::string(e.what()).find(p.string()) == std::string::npos) {
        FAIL(tag << ": message does not name the file: " << e.what());
      }
    } catch (const std::exception& e) {
      FAIL(tag << ": not a BadInput: " << e.what());
    }
  };
  for (std::size_t n = 0; n < header_end; n += 7) try_open(tiny.substr(0, n), "truncated at " + std::to_string(n));
  const unsigned char values[] = {0xFF, 0x00, 0x80, 0x7F};  // one per byte, rotating
  for (std::size_t i = 0; i < header_end; ++i) {
    std::string b = tiny;
    unsigned char x = values[i % 4];
    if (static_cast<unsigned char>(b[i]) == x) x = static_cast<unsigned char>(x ^ 0x01);
    b[i] = static_cast<char>(x);
    try_open(b, "byte " + std::to_string(i) + " = " + std::to_string(x));
  }
  CHECK(tried > 1500);
  CHECK(opened > 0);       // some corruptions only change values
  CHECK(opened < tried);   // and most are caught
}
