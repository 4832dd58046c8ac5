// GGUF writer: what it writes, our reader (checked against gguf-py's files, gguf_test.cpp) reads
// back: every value type it offers, tensor shapes, types, offsets at the alignment, the bytes;
// a callback that writes the wrong number of bytes is an internal error and leaves no file.
#include <catch2/catch.hpp>

#include <cstring>

#include "compressor/base/error.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "tests/test_util.h"

using namespace compressor;
using namespace compressor::formats;

TEST_CASE("gguf writer: metadata and tensors read back through the reader") {
  const auto path = test_util::temp_dir("gguf-writer") / "w.gguf";
  GgufWriter w;
  w.set("general.architecture", std::string("llama"));
  w.set("u", uint32_t{4000000000u});
  w.set("i", int32_t{-7});
  w.set("f", 0.25f);
  w.set("b", true);
  w.set("strings", std::vector<std::string>{"a", "", "é"});
  w.set("ints", std::vector<int32_t>{1, -2, 3});
  w.set("floats", std::vector<float>{0.5f, -1.5f});
  std::vector<float> a(6);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) - 2.5f;
  w.add_tensor("a", {3, 2}, GgmlType::F32, [&](const base::ChunkWriter& write) { write(a.data(), 24); });
  std::vector<uint8_t> q(34, 0);
  q[0] = 0x00;
  q[1] = 0x3c;  // d = 1.0 in float16
  for (int i = 0; i < 32; ++i) q[2 + static_cast<size_t>(i)] = static_cast<uint8_t>(i - 16);
  w.add_tensor("q", {32}, GgmlType::Q8_0, [&](const base::ChunkWriter& write) {
    write(q.data(), 10);  // in pieces
    write(q.data() + 10, 24);
  });
  w.write(path);

  const auto f = GgufFile::open(path);
  CHECK(f->version() == 3);
  CHECK(f->get_string("general.architecture") == "llama");
  CHECK(f->get_uint("u") == 4000000000u);
  CHECK(f->value("u").type == GgufValueType::UINT32);
  CHECK(f->get_int("i") == -7);
  CHECK(f->get_float("f") == 0.25);
  CHECK(f->get_bool("b"));
  CHECK(f->get_array("strings").strings == std::vector<std::string>{"a", "", "é"});
  CHECK(f->get_array("ints").ints == std::vector<int64_t>{1, -2, 3});
  CHECK(f->get_array("floats").floats == std::vector<double>{0.5, -1.5});
  REQUIRE(f->tensors().size() == 2);
  CHECK(f->info("a").shape() == std::vector<int64_t>{2, 3});
  CHECK(f->info("q").offset % 32 == 0);
  CHECK(f->data_start() % 32 == 0);
  const auto ta = f->dequantize("a");
  CHECK(std::memcmp(ta.data_ptr<float>(), a.data(), 24) == 0);
  const auto tq = f->dequantize("q");
  for (int i = 0; i < 32; ++i) CHECK(tq[i].item<float>() == static_cast<float>(i - 16));
  CHECK(static_cast<uint64_t>(std::filesystem::file_size(path)) == f->data_start() + w.data_bytes());
}

TEST_CASE("gguf writer: a tensor callback writing the wrong size is an internal error and writes nothing") {
  const auto path = test_util::temp_dir("gguf-writer-short") / "w.gguf";
  GgufWriter w;
  w.add_tensor("a", {4}, GgmlType::F32, [](const base::ChunkWriter& write) {
    const float x[3] = {};
    write(x, sizeof x);
  });
  CHECK_THROWS_AS(w.write(path), InternalError);
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_THROWS_AS(w.add_tensor("a", {4}, GgmlType::F32, {}), InternalError);      // duplicate name
  CHECK_THROWS_AS(w.add_tensor("b", {31}, GgmlType::Q4_0, {}), InternalError);    // not whole blocks
  w.set("k", true);
  CHECK_THROWS_AS(w.set("k", false), InternalError);
}
