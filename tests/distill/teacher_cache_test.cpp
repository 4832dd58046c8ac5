// The teacher-logit cache returns, for any windows, exactly the top k of what the teacher computes
// on them; a second run over the same windows reads the file without running the teacher, and
// another teacher or other windows make it recompute.
#include <catch2/catch.hpp>

#include "distill/teacher_cache.h"
#include "tests/test_util.h"

using namespace compressor;

namespace {

// A deterministic "teacher": logits from a fixed random table indexed by (id, position).
struct FakeTeacher {
  torch::Tensor table = torch::randn({20, 6, 11}, at::make_generator<at::CPUGeneratorImpl>(4));
  int64_t calls = 0;
  torch::Tensor operator()(const torch::Tensor& ids) {
    ++calls;
    auto out = torch::empty({ids.size(0), ids.size(1), 11});
    for (int64_t b = 0; b < ids.size(0); ++b) {
      for (int64_t p = 0; p < ids.size(1); ++p) out[b][p] = table[ids[b][p].item<int64_t>()][p];
    }
    return out;
  }
};

}  // namespace

TEST_CASE("teacher cache: reads back the teacher's top k for any windows and is reused", "[distill][teacher-cache]") {
  const auto dir = test_util::temp_dir("teacher-cache");
  const auto file = dir / "teacher-top4.bin";
  const auto inputs = torch::randint(0, 20, {7, 6}, at::make_generator<at::CPUGeneratorImpl>(5), torch::kLong);
  FakeTeacher teacher;
  auto fn = [&](const torch::Tensor& ids) { return teacher(ids); };
  const nlohmann::json identity = {{"teacher", "a"}};
  {
    distill::TeacherCache cache(file, inputs, 4, identity, fn, 3);
    CHECK_FALSE(cache.reused());
    CHECK(teacher.calls == 3);  // 7 windows, 3 per forward
    const auto rows = torch::tensor({5, 0, 5}, torch::kLong);
    const auto got = cache.read(rows);
    const auto want = distill::top_logits(teacher(inputs.index_select(0, rows)), 4);
    CHECK(torch::equal(got.values, want.values));
    CHECK(torch::equal(got.indices, want.indices));
    CHECK(cache.bytes() == std::filesystem::file_size(file));
  }
  teacher.calls = 0;
  {
    distill::TeacherCache again(file, inputs, 4, identity, fn, 3);
    CHECK(again.reused());
    CHECK(teacher.calls == 0);
  }
  // Another teacher, other windows, another k: computed afresh.
  distill::TeacherCache other(file, inputs, 4, {{"teacher", "b"}}, fn, 3);
  CHECK_FALSE(other.reused());
  distill::TeacherCache shifted(file, inputs.roll(1, 0), 4, {{"teacher", "b"}}, fn, 3);
  CHECK_FALSE(shifted.reused());
  distill::TeacherCache fewer(file, inputs.roll(1, 0), 2, {{"teacher", "b"}}, fn, 3);
  CHECK_FALSE(fewer.reused());
  CHECK(fewer.read(torch::tensor({6}, torch::kLong)).values.sizes() == at::IntArrayRef({1, 6, 2}));
  CHECK_FALSE(std::filesystem::exists(dir / "teacher-top4.bin.partial"));
}
