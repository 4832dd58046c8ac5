// Safetensors reader/writer: round trips, zero-copy mapping, exact byte layout, and one test per
// kind of corrupt header (each must be a BadInput naming the file and, where there is one, the tensor).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
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

std::string u64_le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// A file built by hand, byte by byte: independent of the writer under test.
std::string hand_file(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

fs::path put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::path p = dir / name;
  write_bytes(p, bytes);
  return p;
}

std::string bytes_of(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && bytes_of(a) == bytes_of(b);
}

std::vector<std::string> leftover_temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

// One tensor of every supported dtype, with values that stress the encoding.
std::vector<std::pair<std::string, torch::Tensor>> every_dtype() {
  torch::manual_seed(7);
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto specials = torch::tensor({0.0, -0.0, 1.0, -2.5, inf, -inf, nan, 1e-30, 65504.0},
                                torch::kFloat64);
  return {
      {"f64", torch::cat({specials, torch::randn({7}, torch::kFloat64)}).reshape({4, 4})},
      {"f32", torch::cat({specials.to(torch::kFloat32), torch::randn({3}, torch::kFloat32)})},
      {"f16", torch::randn({3, 5}).to(torch::kFloat16)},
      {"bf16", torch::randn({2, 3, 2}).to(torch::kBFloat16)},
      {"i64", torch::tensor({std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0},
                             std::numeric_limits<int64_t>::max()})},
      {"i32", torch::tensor({std::numeric_limits<int32_t>::min(), -1, 0, 7,
                             std::numeric_limits<int32_t>::max()}, torch::kInt32)},
      {"i16", torch::arange(-300, 300, 37, torch::kInt16)},
      {"i8", torch::arange(-128, 128, 5, torch::kInt8)},
      {"u8", torch::arange(0, 256, torch::kInt32).to(torch::kUInt8).reshape({16, 16})},
      {"bool", torch::tensor({true, false, false, true, true})},
  };
}

}  // namespace

TEST_CASE("dtype table: names, sizes and torch types agree", "[safetensors]") {
  const std::vector<std::tuple<std::string, DType, std::size_t, torch::ScalarType>> rows = {
      {"F64", DType::F64, 8, torch::kFloat64}, {"F32", DType::F32, 4, torch::kFloat32},
      {"F16", DType::F16, 2, torch::kFloat16}, {"BF16", DType::BF16, 2, torch::kBFloat16},
      {"I64", DType::I64, 8, torch::kInt64},   {"I32", DType::I32, 4, torch::kInt32},
      {"I16", DType::I16, 2, torch::kInt16},   {"I8", DType::I8, 1, torch::kInt8},
      {"U8", DType::U8, 1, torch::kUInt8},     {"BOOL", DType::BOOL, 1, torch::kBool}};
  for (const auto& [name, dt, size, st] : rows) {
    DType parsed;
    REQUIRE(parse_dtype(name, &parsed));
    CHECK(parsed == dt);
    CHECK(std::string(dtype_name(dt)) == name);
    CHECK(dtype_size(dt) == size);
    CHECK(to_torch(dt) == st);
    CHECK(from_torch(st) == dt);
  }
  // FP8 has no LibTorch 1.13 type: its bit patterns travel as uint8, and uint8 reads back as U8.
  for (const auto& [name, dt] : {std::pair{"F8_E4M3", DType::F8_E4M3}, std::pair{"F8_E5M2", DType::F8_E5M2}}) {
    DType parsed;
    REQUIRE(parse_dtype(name, &parsed));
    CHECK(parsed == dt);
    CHECK(std::string(dtype_name(dt)) == name);
    CHECK(dtype_size(dt) == 1);
    CHECK(to_torch(dt) == torch::kUInt8);
  }
  CHECK(from_torch(torch::kUInt8) == DType::U8);
  DType unused;
  CHECK_FALSE(parse_dtype("f32", &unused));
  CHECK_FALSE(parse_dtype("F4", &unused));
  CHECK_THROWS_AS(from_torch(torch::kComplexFloat), BadInput);
}

TEST_CASE("every dtype round-trips bit-exactly", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-dtypes");
  const auto tensors = every_dtype();
  write_safetensors(dir / "all.safetensors", tensors);
  auto f = SafetensorsFile::open(dir / "all.safetensors");
  REQUIRE(f->tensors().size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, expected] = tensors[i];
    INFO("tensor " << name);
    CHECK(f->tensors()[i].name == name);  // file order is the order given to the writer
    CHECK(bit_equal(f->tensor(name), expected));
  }
}

TEST_CASE("shapes: scalar, empty, and zero-sized dimensions", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-shapes");
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"scalar", torch::tensor(3.5f)},
      {"empty", torch::empty({0}, torch::kFloat32)},
      {"zero_mid", torch::empty({3, 0, 2}, torch::kInt16)},
      {"after_empty", torch::arange(6, torch::kInt64).reshape({2, 3})},
      {"scalar_i8", torch::tensor(-5, torch::kInt8)},
  };
  write_safetensors(dir / "s.safetensors", tensors);
  auto f = SafetensorsFile::open(dir / "s.safetensors");
  CHECK(f->info("scalar").shape.empty());
  CHECK(f->tensor("scalar").dim() == 0);
  CHECK(f->tensor("scalar").item<float>() == 3.5f);
  CHECK(f->info("empty").begin == f->info("empty").end);
  for (const auto& [name, t] : tensors) {
    INFO("tensor " << name);
    CHECK(bit_equal(f->tensor(name), t));
  }
}

TEST_CASE("metadata round-trips, and the file has no __metadata__ when there is none",
          "[safetensors]") {
  const auto dir = test_util::temp_dir("st-meta");
  const std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"empty", ""}, {"unicode", "π ≈ 3.14159 — ✓"},
      {"json", R"({"nested": [1, 2, "x"]})"}, {"quote\"key", "line\nbreak"}};
  write_safetensors(dir / "m.safetensors", {{"w", torch::ones({2})}}, meta);
  CHECK(SafetensorsFile::open(dir / "m.safetensors")->metadata() == meta);

  write_safetensors(dir / "n.safetensors", {{"w", torch::ones({2})}});
  CHECK(SafetensorsFile::open(dir / "n.safetensors")->metadata().empty());
  CHECK(read_bytes(dir / "n.safetensors").find("__metadata__") == std::string::npos);
}

TEST_CASE("aligned tensors are zero-copy views, and writes stay private to the process",
          "[safetensors]") {
  const auto dir = test_util::temp_dir("st-zero-copy");
  const fs::path path = dir / "z.safetensors";
  auto original = torch::arange(1024, torch::kFloat32).reshape({32, 32});
  write_safetensors(path, {{"a", torch::arange(3, torch::kFloat64)}, {"w", original}});
  const std::string bytes_before = read_bytes(path);

  auto f = SafetensorsFile::open(path);
  torch::Tensor w = f->tensor("w");
  const auto* mapped = f->data(f->info("w"));
  // Zero-copy: the tensor's storage is the mapped file data itself.
  CHECK(w.data_ptr() == static_cast<const void*>(mapped));
  CHECK(reinterpret_cast<uintptr_t>(mapped) % 4 == 0);
  CHECK(torch::equal(w, original));

  torch::Tensor w_other = f->tensor("w");
  // The views outlive the file object (their deleters hold the mapping).
  f.reset();
  CHECK(torch::equal(w, original));

  // Copy-on-write: the process sees its write, the file does not change.
  w.fill_(-7.0f);
  CHECK(w.sum().item<float>() == -7.0f * 1024);
  CHECK(read_bytes(path) == bytes_before);
  // Documented sharing: another view from the same open() sees the write...
  CHECK(w_other.sum().item<float>() == -7.0f * 1024);
  // ...a new open() maps the file afresh and sees the original values.
  auto again = SafetensorsFile::open(path);
  CHECK(torch::equal(again->tensor("w"), original));
}

TEST_CASE("released pages read back the same bytes, and written neighbours keep their writes",
          "[safetensors]") {
  // Three tensors of about three pages each, back to back, so that each boundary page holds the
  // end of one tensor and the start of the next.
  const auto dir = test_util::temp_dir("st-release");
  const fs::path path = dir / "r.safetensors";
  const auto a = torch::arange(3000, torch::kFloat32), b = a * 2 + 1, c = a * -3;
  write_safetensors(path, {{"a", a}, {"b", b}, {"c", c}});
  auto f = SafetensorsFile::open(path);
  auto va = f->tensor("a"), vb = f->tensor("b"), vc = f->tensor("c");
  const auto page = [](const void* p) { return reinterpret_cast<uintptr_t>(p) / 4096; };
  const auto* b_begin = f->data(f->info("b"));
  REQUIRE(page(b_begin - 1) == page(b_begin));  // a and b share a page
  REQUIRE(page(b_begin + 12000 - 1) == page(b_begin + 12000));  // b and c share a page

  // Copy-on-write writes right next to b, on the pages b shares with its neighbours.
  va[2999] = -7.0f;
  vc[0] = -9.0f;
  CHECK(torch::equal(vb, b));  // b's pages are resident now
  f->release_pages("b");
  CHECK(torch::equal(vb, b));  // read again from the file
  CHECK(va[2999].item<float>() == -7.0f);
  CHECK(vc[0].item<float>() == -9.0f);
  CHECK(torch::equal(va.narrow(0, 0, 2999), a.narrow(0, 0, 2999)));
  CHECK(torch::equal(vc.narrow(0, 1, 2999), c.narrow(0, 1, 2999)));
}

TEST_CASE("unaligned tensors are copied, with the right values", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-unaligned");
  // U8 [2] at [0, 2), then F32 [2] at [2, 10): the F32 data is 2 bytes off alignment.
  std::string header =
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
      R"("f":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})";
  header.append((8 - (8 + header.size()) % 8) % 8, ' ');  // data section 8-aligned
  const float vals[2] = {1.5f, -2.25f};
  std::string data = "\x01\x02";
  data.append(reinterpret_cast<const char*>(vals), sizeof vals);
  auto f = SafetensorsFile::open(put(dir, "u.safetensors", hand_file(header, data)));

  torch::Tensor t = f->tensor("f");
  CHECK(t.data_ptr() != static_cast<const void*>(f->data(f->info("f"))));
  CHECK(t[0].item<float>() == 1.5f);
  CHECK(t[1].item<float>() == -2.25f);
  // U8 is always aligned, so it is still a view.
  CHECK(f->tensor("b").data_ptr() == static_cast<const void*>(f->data(f->info("b"))));
}

TEST_CASE("the writer's bytes: deterministic, aligned, contiguous offsets", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-layout");
  torch::manual_seed(1);
  auto a = torch::randn({3, 5});
  auto b = torch::arange(7, torch::kInt16);
  const std::map<std::string, std::string> meta = {{"k", "v"}};
  // Non-contiguous input is written as its logical (row-major) values.
  write_safetensors(dir / "1.safetensors", {{"z_a", a.t().contiguous()}, {"b", b}}, meta);
  write_safetensors(dir / "2.safetensors", {{"z_a", a.t()}, {"b", b}}, meta);
  const std::string bytes = read_bytes(dir / "1.safetensors");
  CHECK(bytes == read_bytes(dir / "2.safetensors"));

  // Parse the file by hand, not with the reader under test.
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK((8 + n) % 8 == 0);
  const std::string header = bytes.substr(8, n);
  CHECK(header.find_last_not_of(' ') + 1 >= header.size() - 7);  // at most 7 pad spaces
  auto j = nlohmann::ordered_json::parse(header);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"__metadata__", "z_a", "b"});  // given order kept
  CHECK(j["z_a"]["dtype"] == "F32");
  CHECK(j["z_a"]["shape"] == nlohmann::ordered_json::array({5, 3}));
  CHECK(j["z_a"]["data_offsets"] == nlohmann::ordered_json::array({0, 60}));
  CHECK(j["b"]["dtype"] == "I16");
  CHECK(j["b"]["data_offsets"] == nlohmann::ordered_json::array({60, 74}));
  CHECK(bytes.size() == 8 + n + 74);
  CHECK(bytes.substr(8 + n, 60) == bytes_of(a.t()));
  CHECK(bytes.substr(8 + n + 60) == bytes_of(b));
}

TEST_CASE("a hand-built file reads back (padding spaces, gaps, empty tensors)",
          "[safetensors]") {
  const auto dir = test_util::temp_dir("st-hand");
  // Header padded with spaces; an I16 [2] at [0,4); a gap; an I32 [] scalar at [8,12);
  // an empty F32 at [4,4). Values little-endian.
  const std::string header =
      R"({"__metadata__":{"who":"hand"},"h":{"dtype":"I16","shape":[2],"data_offsets":[0,4]},)"
      R"("s":{"dtype":"I32","shape":[],"data_offsets":[8,12]},)"
      R"("e":{"dtype":"F32","shape":[0,4],"data_offsets":[4,4]}}     )";
  const std::string data = std::string("\x01\x00\xff\xff", 4) + std::string("\xAA\xAA\xAA\xAA", 4) +
                           std::string("\x2a\x00\x00\x80", 4);
  auto f = SafetensorsFile::open(put(dir, "hand.safetensors", hand_file(header, data)));
  CHECK(f->metadata() == std::map<std::string, std::string>{{"who", "hand"}});
  REQUIRE(f->tensors().size() == 3);
  CHECK(f->tensors()[0].name == "h");
  CHECK(torch::equal(f->tensor("h"), torch::tensor({1, -1}, torch::kInt16)));
  CHECK(f->tensor("s").item<int32_t>() == static_cast<int32_t>(0x8000002Au));
  CHECK(f->tensor("e").sizes() == torch::IntArrayRef({0, 4}));
  CHECK(f->file_size() == 8 + header.size() + data.size());
  CHECK(f->contains("h"));
  CHECK_FALSE(f->contains("nope"));
}

TEST_CASE("an empty header object is a file with no tensors", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-empty");
  auto f = SafetensorsFile::open(put(dir, "e.safetensors", hand_file("{}", "")));
  CHECK(f->tensors().empty());
  write_safetensors(dir / "w.safetensors", {});
  CHECK(SafetensorsFile::open(dir / "w.safetensors")->tensors().empty());
}

// ---------------------------------------------------------------------------------------------
// Corrupt files

namespace {
const char* kGood = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
const std::string kEight(8, '\0');

// Writes `bytes` to a file named after the case and returns the BadInput message of opening it.
std::string open_error(const std::string& case_name, const std::string& bytes) {
  const auto dir = test_util::temp_dir("st-corrupt");
  const fs::path p = put(dir, case_name + ".safetensors", bytes);
  const std::string msg = bad_input_message([&] { SafetensorsFile::open(p); });
  CHECK_THAT(msg, Catch::Contains(p.string()));
  return msg;
}
std::string header_error(const std::string& case_name, const std::string& header,
                         const std::string& data = kEight) {
  return open_error(case_name, hand_file(header, data));
}
}  // namespace

TEST_CASE("corrupt: truncated files", "[safetensors][corrupt]") {
  SECTION("shorter than the 8-byte length") {
    CHECK_THAT(open_error("tiny", "abc"), Catch::Contains("truncated"));
    CHECK_THAT(open_error("zero", ""), Catch::Contains("truncated"));
  }
  SECTION("header length past the end of the file") {
    const std::string full = hand_file(kGood, kEight);
    CHECK_THAT(open_error("cut_header", full.substr(0, 20)), Catch::Contains("past the end"));
  }
  SECTION("absurd header length") {
    CHECK_THAT(open_error("huge_len", u64_le(1ull << 40) + "{}"), Catch::Contains("absurd"));
    CHECK_THAT(open_error("max_len", u64_le(~0ull) + "{}"), Catch::Contains("absurd"));
  }
  SECTION("data section cut short") {
    const std::string full = hand_file(kGood, kEight);
    const std::string msg = open_error("cut_data", full.substr(0, full.size() - 3));
    CHECK_THAT(msg, Catch::Contains("'t'") && Catch::Contains("past the end of the data"));
  }
}

TEST_CASE("corrupt: header is not UTF-8, not JSON, or not an object", "[safetensors][corrupt]") {
  SECTION("invalid UTF-8 byte") {
    CHECK_THAT(header_error("latin1", "{\"caf\xe9\":{}}"), Catch::Contains("UTF-8"));
  }
  SECTION("overlong UTF-8 encoding") {
    CHECK_THAT(header_error("overlong", "{\"\xc0\xaf\":{}}"), Catch::Contains("UTF-8"));
  }
  SECTION("UTF-16 surrogate encoded in UTF-8") {
    CHECK_THAT(header_error("surrogate", "{\"\xed\xa0\x80\":{}}"), Catch::Contains("UTF-8"));
  }
  SECTION("not JSON") {
    CHECK_THAT(header_error("not_json", "{\"t\": nope}"), Catch::Contains("not valid JSON"));
    CHECK_THAT(header_error("empty_header", ""), Catch::Contains("not valid JSON"));
    CHECK_THAT(header_error("nul_padding", std::string(kGood) + std::string(3, '\0')),
               Catch::Contains("not valid JSON"));
  }
  SECTION("not an object") {
    CHECK_THAT(header_error("array", "[1, 2]"), Catch::Contains("not a JSON object"));
  }
}

TEST_CASE("corrupt: entries with missing or mistyped fields", "[safetensors][corrupt]") {
  auto entry = [](const std::string& body) { return R"({"w.0":)" + body + "}"; };
  struct Case {
    const char* name;
    std::string header;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"not_object", entry("[1]"), "not an object"},
      {"no_dtype", entry(R"({"shape":[2],"data_offsets":[0,8]})"), "missing 'dtype'"},
      {"no_shape", entry(R"({"dtype":"F32","data_offsets":[0,8]})"), "missing 'shape'"},
      {"no_offsets", entry(R"({"dtype":"F32","shape":[2]})"), "missing 'data_offsets'"},
      {"dtype_int", entry(R"({"dtype":4,"shape":[2],"data_offsets":[0,8]})"), "not a string"},
      {"shape_str", entry(R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})"), "not an array"},
      {"shape_float", entry(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"),
       "not an integer"},
      {"negative_dim", entry(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
       "out of range"},
      {"offsets_one", entry(R"({"dtype":"F32","shape":[2],"data_offsets":[8]})"),
       "data_offsets"},
      {"offsets_neg", entry(R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})"),
       "data_offsets"},
      {"offsets_str", entry(R"({"dtype":"F32","shape":[2],"data_offsets":["0","8"]})"),
       "data_offsets"},
      {"extra_key", entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1})"),
       "unknown key 'x'"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::string msg = header_error(c.name, c.header);
      CHECK_THAT(msg, Catch::Contains("'w.0'") && Catch::Contains(c.expect));
    }
  }
}

TEST_CASE("corrupt: unknown dtype lists the supported ones", "[safetensors][corrupt]") {
  const std::string msg =
      header_error("dtype", R"({"q":{"dtype":"F4","shape":[8],"data_offsets":[0,8]}})");
  CHECK_THAT(msg, Catch::Contains("'q'") && Catch::Contains("F4") &&
                      Catch::Contains("F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2"));
}

TEST_CASE("corrupt: sizes and offsets", "[safetensors][corrupt]") {
  SECTION("element count overflows") {
    const std::string msg = header_error(
        "overflow", R"({"big":{"dtype":"U8","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}})");
    CHECK_THAT(msg, Catch::Contains("'big'") && Catch::Contains("64 bits"));
  }
  SECTION("byte size overflows after the element count fits") {
    const std::string msg = header_error(
        "byte_overflow",
        R"({"big":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})");
    CHECK_THAT(msg, Catch::Contains("'big'") && Catch::Contains("overflows"));
  }
  SECTION("dimension beyond int64") {
    const std::string msg = header_error(
        "dim_u64", R"({"big":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})");
    CHECK_THAT(msg, Catch::Contains("'big'") && Catch::Contains("out of range"));
  }
  SECTION("byte size disagrees with the offsets") {
    const std::string msg =
        header_error("size", R"({"m":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                     std::string(12, '\0'));
    CHECK_THAT(msg, Catch::Contains("'m'") && Catch::Contains("needs 12 bytes") &&
                        Catch::Contains("span 8"));
  }
  SECTION("begin after end") {
    const std::string msg =
        header_error("reversed", R"({"r":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})");
    CHECK_THAT(msg, Catch::Contains("'r'") && Catch::Contains("begin 8 > end 0"));
  }
  SECTION("end past the data section") {
    const std::string msg =
        header_error("outside", R"({"o":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})");
    CHECK_THAT(msg, Catch::Contains("'o'") && Catch::Contains("past the end of the data"));
  }
  SECTION("begin and end both past the data section") {
    const std::string msg =
        header_error("far", R"({"o":{"dtype":"F32","shape":[1],"data_offsets":[100,104]}})");
    CHECK_THAT(msg, Catch::Contains("'o'") && Catch::Contains("past the end of the data"));
  }
  SECTION("overlapping tensors") {
    const std::string msg = header_error(
        "overlap", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"I16","shape":[2],"data_offsets":[6,10]}})",
        std::string(16, '\0'));
    CHECK_THAT(msg, Catch::Contains("'a'") && Catch::Contains("'b'") && Catch::Contains("overlaps"));
  }
  SECTION("overlap found regardless of header order") {
    const std::string msg = header_error(
        "overlap_order", R"({"late":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},)"
                         R"("early":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})");
    CHECK_THAT(msg, Catch::Contains("'late'") && Catch::Contains("'early'") &&
                        Catch::Contains("overlaps"));
  }
}

TEST_CASE("zero-byte tensors may sit anywhere inside the data", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-zero-bytes");
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
  auto f = SafetensorsFile::open(put(dir, "z.safetensors", hand_file(header, kEight)));
  CHECK(f->tensor("z").numel() == 0);
}

TEST_CASE("corrupt: duplicates and bad metadata", "[safetensors][corrupt]") {
  SECTION("duplicate tensor name") {
    const std::string msg = header_error(
        "dup", R"({"d":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
               R"("d":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})");
    CHECK_THAT(msg, Catch::Contains("'d'") && Catch::Contains("duplicate"));
  }
  SECTION("duplicate key inside an entry") {
    const std::string msg = header_error(
        "dup_field", R"({"d":{"dtype":"U8","dtype":"F32","shape":[8],"data_offsets":[0,8]}})");
    CHECK_THAT(msg, Catch::Contains("'dtype'") && Catch::Contains("duplicate"));
  }
  SECTION("metadata value not a string") {
    CHECK_THAT(header_error("meta_int", R"({"__metadata__":{"epoch":3}})"),
               Catch::Contains("__metadata__") && Catch::Contains("'epoch'"));
  }
  SECTION("metadata not an object") {
    CHECK_THAT(header_error("meta_str", R"({"__metadata__":"x"})"),
               Catch::Contains("__metadata__"));
  }
}

TEST_CASE("BOOL bytes other than 0 and 1 are rejected when the tensor is read",
          "[safetensors][corrupt]") {
  const auto dir = test_util::temp_dir("st-bool");
  const fs::path p = put(dir, "bool.safetensors",
                         hand_file(R"({"flags":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                                   std::string("\x01\x00\x02", 3)));
  auto f = SafetensorsFile::open(p);
  const std::string msg = bad_input_message([&] { f->tensor("flags"); });
  CHECK_THAT(msg, Catch::Contains(p.string()) && Catch::Contains("'flags'"));
}

TEST_CASE("missing files and missing tensors", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-missing");
  CHECK_THROWS_AS(SafetensorsFile::open(dir / "absent.safetensors"), IoError);
  CHECK_THAT(bad_input_message([&] { SafetensorsFile::open(dir / "absent.safetensors"); }),
             Catch::Contains("absent.safetensors"));
  CHECK_THROWS_AS(SafetensorsFile::open(dir), IoError);  // a directory is not a file

  write_safetensors(dir / "one.safetensors", {{"w", torch::ones({1})}});
  auto f = SafetensorsFile::open(dir / "one.safetensors");
  CHECK_THAT(bad_input_message([&] { f->info("nope"); }),
             Catch::Contains("one.safetensors") && Catch::Contains("'nope'"));
  CHECK_THAT(bad_input_message([&] { f->tensor("nope"); }), Catch::Contains("'nope'"));
}

// ---------------------------------------------------------------------------------------------
// Writer errors and atomicity

TEST_CASE("writer: a rejected call leaves an existing file byte-identical", "[safetensors]") {
  const auto dir = test_util::temp_dir("st-atomic");
  const fs::path p = dir / "keep.safetensors";
  write_safetensors(p, {{"w", torch::arange(4, torch::kFloat32)}}, {{"v", "1"}});
  const std::string before = read_bytes(p);

  SECTION("duplicate tensor name") {
    const std::string msg = bad_input_message([&] {
      write_safetensors(p, {{"x", torch::ones({2})}, {"x", torch::zeros({2})}});
    });
    CHECK_THAT(msg, Catch::Contains("keep.safetensors") && Catch::Contains("'x'"));
  }
  SECTION("unsupported dtype") {
    const std::string msg = bad_input_message([&] {
      write_safetensors(p, {{"ok", torch::ones({2})}, {"c", torch::ones({2}, torch::kComplexFloat)}});
    });
    CHECK_THAT(msg, Catch::Contains("keep.safetensors") && Catch::Contains("'c'"));
  }
  SECTION("reserved, empty or undefined names and tensors") {
    bad_input_message([&] { write_safetensors(p, {{"__metadata__", torch::ones({1})}}); });
    bad_input_message([&] { write_safetensors(p, {{"", torch::ones({1})}}); });
    bad_input_message([&] { write_safetensors(p, {{"u", torch::Tensor()}}); });
    bad_input_message([&] { write_safetensors(p, {{"bad\xff", torch::ones({1})}}); });
    bad_input_message([&] { write_safetensors(p, {{"ok", torch::ones({1})}}, {{"k", "\xc3"}}); });
  }
  CHECK(read_bytes(p) == before);
  CHECK(leftover_temp_files(dir).empty());
}

TEST_CASE("writer: a directory that does not exist is an IoError and leaves no temp file",
          "[safetensors]") {
  const auto dir = test_util::temp_dir("st-nodir");
  const fs::path p = dir / "missing" / "out.safetensors";
  CHECK_THROWS_AS(write_safetensors(p, {{"w", torch::ones({2})}}), IoError);
  CHECK_THAT(bad_input_message([&] { write_safetensors(p, {{"w", torch::ones({2})}}); }),
             Catch::Contains("out.safetensors"));
  CHECK_FALSE(fs::exists(dir / "missing"));
  CHECK(leftover_temp_files(dir).empty());
}

TEST_CASE("writer: a file can be rewritten from views of itself", "[safetensors]") {
  // The new content goes to a temp file and is renamed over the old one; the open mapping keeps
  // the old inode, so the views stay valid while they are being written out.
  const auto dir = test_util::temp_dir("st-self");
  const fs::path p = dir / "self.safetensors";
  auto w = torch::arange(64, torch::kFloat32);
  write_safetensors(p, {{"w", w}});
  {
    auto f = SafetensorsFile::open(p);
    auto view = f->tensor("w");
    write_safetensors(p, {{"w", view}, {"w2", view * 2}}, {{"gen", "2"}});
    CHECK(torch::equal(view, w));
  }
  auto f = SafetensorsFile::open(p);
  CHECK(torch::equal(f->tensor("w"), w));
  CHECK(torch::equal(f->tensor("w2"), w * 2));
  CHECK(f->metadata().at("gen") == "2");
}
