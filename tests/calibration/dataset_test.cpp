// Calibration sources and samplers: .npy bytes written by hand to numpy's format specification,
// JSON Lines and safetensors ids, every sampler mode against its definition, and the overlap
// check against a naive search.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>

#include "calibration/documents.h"
#include "calibration/overlap.h"
#include "calibration/sampler.h"
#include "compressor/tokenizers/tokenizer.h"
#include "compressor/base/error.h"
#include "formats/npy.h"
#include "formats/safetensors.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

using namespace compressor;
namespace fs = std::filesystem;

namespace {

using test_util::npy_bytes;

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

torch::Tensor doc(int64_t first, int64_t n) { return torch::arange(first, first + n, torch::kLong); }

}  // namespace

TEST_CASE("npy: integer arrays in every accepted dtype and header version", "[calibration][dataset][npy]") {
  const auto dir = test_util::temp_dir("npy");
  test_util::write_bytes(dir / "a.npy", npy_bytes("<i4", "(2, 3)", raw<int32_t>({1, 2, 3, 4, 5, 6})));
  auto a = formats::read_npy_integers(dir / "a.npy");
  REQUIRE(a.sizes() == torch::IntArrayRef({2, 3}));
  REQUIRE(to_vector(a) == std::vector<int64_t>{1, 2, 3, 4, 5, 6});

  test_util::write_bytes(dir / "b.npy", npy_bytes("<i8", "(4,)", raw<int64_t>({7, 0, 1LL << 40, 9}), 2));
  auto b = formats::read_npy_integers(dir / "b.npy");
  REQUIRE(b.sizes() == torch::IntArrayRef({4}));
  REQUIRE(to_vector(b) == std::vector<int64_t>{7, 0, 1LL << 40, 9});

  test_util::write_bytes(dir / "c.npy", npy_bytes("<u2", "(3,)", raw<uint16_t>({65535, 1, 2})));
  REQUIRE(to_vector(formats::read_npy_integers(dir / "c.npy")) == std::vector<int64_t>{65535, 1, 2});
}

TEST_CASE("npy: what cannot be token ids is refused naming the file", "[calibration][dataset][npy][bad-input]") {
  const auto dir = test_util::temp_dir("npy-bad");
  auto refuse = [&](const std::string& bytes, const std::string& needle) {
    test_util::write_bytes(dir / "x.npy", bytes);
    const auto message = test_util::bad_input_message([&] { formats::read_npy_integers(dir / "x.npy"); });
    CHECK_THAT(message, Catch::Contains("x.npy") && Catch::Contains(needle));
  };
  refuse(npy_bytes("<f4", "(2,)", raw<float>({1, 2})), "'<f4'");
  refuse(npy_bytes(">i4", "(2,)", raw<int32_t>({1, 2})), "little-endian");
  refuse(npy_bytes("<i4", "(2,)", raw<int32_t>({1, 2}), 1, true), "Fortran");
  refuse(npy_bytes("<i4", "(3,)", raw<int32_t>({1, 2})), "truncated");
  refuse("not numpy at all", "NUMPY");
}

TEST_CASE("documents: JSON Lines rows, text and pre-tokenized ids", "[calibration][dataset]") {
  const auto dir = test_util::temp_dir("documents");
  tokenizers::ByteTokenizer tok;
  test_util::write_bytes(dir / "d.jsonl", "{\"text\": \"ab\", \"id\": 1}\n\n{\"text\": \"\"}\n{\"body\": 2, \"text\": \"xyz\"}\n");
  calibration::SourceOptions s{dir / "d.jsonl"};
  auto docs = calibration::load_documents(s, &tok, 256, "calibration.source");
  REQUIRE(docs.size() == 2);  // the empty text is left out, the blank line is not a row
  CHECK(to_vector(docs[0]) == std::vector<int64_t>{'a', 'b'});
  CHECK(to_vector(docs[1]) == std::vector<int64_t>{'x', 'y', 'z'});

  test_util::write_bytes(dir / "t.txt", "hello\n");
  docs = calibration::load_documents({dir / "t.txt"}, &tok, 256, "calibration.source");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].numel() == 6);

  test_util::write_bytes(dir / "ids.npy", npy_bytes("<i4", "(2, 3)", raw<int32_t>({1, 2, 3, 4, 5, 6})));
  docs = calibration::load_documents({dir / "ids.npy"}, nullptr, 10, "calibration.source");
  REQUIRE(docs.size() == 2);
  CHECK(to_vector(docs[1]) == std::vector<int64_t>{4, 5, 6});

  // safetensors: padding marked by attention_mask is dropped from each row.
  formats::write_safetensors(dir / "ids.safetensors",
                             {{"input_ids", torch::tensor({{1, 2, 3}, {4, 5, 0}}, torch::kInt)},
                              {"attention_mask", torch::tensor({{1, 1, 1}, {1, 1, 0}}, torch::kInt)}});
  docs = calibration::load_documents({dir / "ids.safetensors"}, nullptr, 10, "calibration.source");
  REQUIRE(docs.size() == 2);
  CHECK(to_vector(docs[1]) == std::vector<int64_t>{4, 5});
}

TEST_CASE("documents: bad rows and ids are named by line, tensor and position", "[calibration][dataset][bad-input]") {
  const auto dir = test_util::temp_dir("documents-bad");
  tokenizers::ByteTokenizer tok;
  auto message = [&](const std::string& name, const std::string& bytes, calibration::SourceOptions s = {}) {
    test_util::write_bytes(dir / name, bytes);
    s.path = dir / name;
    return test_util::bad_input_message([&] { calibration::load_documents(s, &tok, 10, "calibration.source"); });
  };
  CHECK_THAT(message("a.jsonl", "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n"),
             Catch::Contains("a.jsonl:2") && Catch::Contains("'text' field"));
  CHECK_THAT(message("b.jsonl", "{\"text\": \"a\"}\n\n{\"text\": 3}\n"),
             Catch::Contains("b.jsonl:3") && Catch::Contains("not a string"));
  CHECK_THAT(message("c.jsonl", "{\"text\": \"a\"\n"), Catch::Contains("c.jsonl:1") && Catch::Contains("not valid JSON"));
  calibration::SourceOptions body;
  body.text_field = "body";
  CHECK_THAT(message("d.jsonl", "{\"text\": \"a\"}\n", body), Catch::Contains("d.jsonl:1") && Catch::Contains("'body'"));
  CHECK_THAT(message("e.npy", npy_bytes("<i8", "(2, 3)", raw<int64_t>({1, 2, 3, 4, 5, 10}))),
             Catch::Contains("e.npy") && Catch::Contains("id 10 at position [1, 2]") && Catch::Contains("[0, 10)"));
  CHECK_THAT(message("f.npy", npy_bytes("<i4", "(3,)", raw<int32_t>({1, -1, 2}))), Catch::Contains("id -1 at position [1]"));
  formats::write_safetensors(dir / "g.safetensors", {{"ids", torch::tensor({1, 2}, torch::kLong)}});
  auto g = test_util::bad_input_message([&] { calibration::load_documents({dir / "g.safetensors"}, nullptr, 10, "calibration.source"); });
  CHECK_THAT(g, Catch::Contains("tensor 'input_ids'") && Catch::Contains("the file has: ids"));
  formats::write_safetensors(dir / "h.safetensors", {{"input_ids", torch::tensor({1.0f, 2.0f})}});
  auto h = test_util::bad_input_message([&] { calibration::load_documents({dir / "h.safetensors"}, nullptr, 10, "calibration.source"); });
  CHECK_THAT(h, Catch::Contains("must be integers"));
  auto text = test_util::bad_input_message([&] { calibration::load_documents({dir / "a.jsonl"}, nullptr, 10, "calibration.source"); });
  CHECK_THAT(text, Catch::Contains("no tokenizer"));
}

TEST_CASE("sampler: pack + random is the random-window sampler, deterministic from the seed", "[calibration][dataset][sampler]") {
  std::vector<torch::Tensor> docs{doc(0, 50), doc(1000, 70)};
  calibration::SamplingOptions o{5, 16, 7, calibration::Sampler::random, calibration::ShortDocuments::pack};
  auto a = calibration::sample_calibration(docs, o, "c");
  CHECK(!a.mask.defined());
  CHECK(torch::equal(a.ids, calibration::random_windows(torch::cat(docs), 5, 16, 7)));
  CHECK(torch::equal(a.ids, calibration::sample_calibration(docs, o, "c").ids));
  o.seed = 8;
  CHECK(!torch::equal(a.ids, calibration::sample_calibration(docs, o, "c").ids));
  o.samples = 8;  // 120 tokens < 8 x 16
  CHECK_THAT(test_util::bad_input_message([&] { calibration::sample_calibration(docs, o, "c"); }),
             Catch::Contains("120 tokens") && Catch::Contains("8 x 16 = 128"));
}

TEST_CASE("sampler: pack + chunk takes distinct aligned chunks of the joined stream", "[calibration][dataset][sampler]") {
  std::vector<torch::Tensor> docs{doc(0, 50), doc(50, 70)};  // the stream is 0..119
  calibration::SamplingOptions o{7, 16, 3, calibration::Sampler::chunk, calibration::ShortDocuments::pack};
  auto set = calibration::sample_calibration(docs, o, "c");
  REQUIRE(set.ids.sizes() == torch::IntArrayRef({7, 16}));
  std::set<int64_t> starts;
  for (int64_t i = 0; i < 7; ++i) {
    const int64_t first = set.ids[i][0].item<int64_t>();
    CHECK(first % 16 == 0);
    CHECK(torch::equal(set.ids[i], doc(first, 16)));
    starts.insert(first);
  }
  CHECK(starts.size() == 7);  // 7 of the 7 whole chunks, each once
  o.samples = 8;
  CHECK_THAT(test_util::bad_input_message([&] { calibration::sample_calibration(docs, o, "c"); }),
             Catch::Contains("7 chunks") && Catch::Contains("samples = 8"));
}

TEST_CASE("sampler: pad keeps each sample inside one document and masks the padding", "[calibration][dataset][sampler]") {
  std::vector<torch::Tensor> docs{doc(0, 5), doc(100, 40), doc(200, 16), doc(300, 3)};
  SECTION("random: one window per chosen document") {
    calibration::SamplingOptions o{4, 16, 1, calibration::Sampler::random, calibration::ShortDocuments::pad};
    auto set = calibration::sample_calibration(docs, o, "c");
    REQUIRE(set.mask.defined());
    std::set<int64_t> seen;
    for (int64_t i = 0; i < 4; ++i) {
      const int64_t len = set.mask[i].sum().item<int64_t>();
      const int64_t first = set.ids[i][0].item<int64_t>();
      const int64_t d = first / 100;
      seen.insert(d);
      const int64_t doc_len = docs[static_cast<size_t>(d)].numel();
      CHECK(len == std::min<int64_t>(doc_len, 16));
      CHECK(torch::equal(set.ids[i].slice(0, 0, len), doc(first, len)));  // consecutive ids of that document
      CHECK(first + len <= d * 100 + doc_len);
      CHECK(set.mask[i].slice(0, 0, len).eq(1).all().item<bool>());
      CHECK(set.mask[i].slice(0, len).eq(0).all().item<bool>());
      CHECK(set.ids[i].slice(0, len).eq(0).all().item<bool>());
    }
    CHECK(seen.size() == 4);  // without replacement
    CHECK(set.real_tokens() == 5 + 16 + 16 + 3);
    o.samples = 5;
    CHECK_THAT(test_util::bad_input_message([&] { calibration::sample_calibration(docs, o, "c"); }),
               Catch::Contains("4 documents") && Catch::Contains("samples = 5"));
  }
  SECTION("chunk: consecutive pieces of each document, the last one padded") {
    // pieces: [0..5) | [100..116) [116..132) [132..140) | [200..216) | [300..303)  = 6 pieces
    calibration::SamplingOptions o{6, 16, 2, calibration::Sampler::chunk, calibration::ShortDocuments::pad};
    auto set = calibration::sample_calibration(docs, o, "c");
    std::multiset<std::pair<int64_t, int64_t>> pieces;
    for (int64_t i = 0; i < 6; ++i) pieces.insert({set.ids[i][0].item<int64_t>(), set.mask[i].sum().item<int64_t>()});
    CHECK(pieces == std::multiset<std::pair<int64_t, int64_t>>{{0, 5}, {100, 16}, {116, 16}, {132, 8}, {200, 16}, {300, 3}});
    o.samples = 7;
    CHECK_THAT(test_util::bad_input_message([&] { calibration::sample_calibration(docs, o, "c"); }),
               Catch::Contains("6 pieces") && Catch::Contains("4 documents"));
  }
  SECTION("no mask when nothing is padded") {
    std::vector<torch::Tensor> long_docs{doc(0, 40), doc(100, 40)};
    calibration::SamplingOptions o{2, 16, 0, calibration::Sampler::random, calibration::ShortDocuments::pad};
    CHECK(!calibration::sample_calibration(long_docs, o, "c").mask.defined());
  }
}

TEST_CASE("overlap: samples sharing an n-gram with the evaluation tokens, against a naive search", "[calibration][dataset][overlap]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto eval = at::randint(0, 6, {300}, gen, torch::kLong);  // a small alphabet: chance matches happen
  calibration::CalibrationSet set{at::randint(0, 6, {40, 12}, gen, torch::kLong), torch::ones({40, 12}, torch::kLong)};
  set.mask.slice(0, 0, 10).slice(1, 6).fill_(0);  // padded rows: only their first 6 ids count
  for (int64_t n : {3, 4, 5}) {
    const auto e = to_vector(eval);
    int64_t expected = 0;
    for (int64_t r = 0; r < 40; ++r) {
      const int64_t len = set.mask[r].sum().item<int64_t>();
      const auto row = to_vector(set.ids[r].slice(0, 0, len));
      bool hit = false;
      for (int64_t i = 0; i + n <= len && !hit; ++i) {
        for (int64_t j = 0; j + n <= static_cast<int64_t>(e.size()) && !hit; ++j) {
          hit = std::equal(row.begin() + i, row.begin() + i + n, e.begin() + j);
        }
      }
      expected += hit;
    }
    CHECK(calibration::overlapping_samples(set, eval, n) == expected);
  }
  calibration::CalibrationSet same{eval.slice(0, 0, 96).view({3, 32}), {}};
  CHECK(calibration::overlapping_samples(same, eval, 32) == 3);
  calibration::CalibrationSet disjoint{eval.slice(0, 0, 96).view({3, 32}) + 10, {}};
  CHECK(calibration::overlapping_samples(disjoint, eval, 4) == 0);
}
