// The CUDA decoder against the CPU decoder on the golden tiny models (GPT-2, Llama with grouped
// heads, Llama with a tied head): a prompt, then one token at a time through the device cache.
// Skipped where no CUDA device answers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "compressor/base/error.h"
#include "compressor/runtime/decoder.h"
#include "compressor/runtime/generate.h"
#include "compressor/runtime/kernels/cuda/cuda_decoder.h"
#include "tests/test_util.h"

using namespace compressor;
using namespace compressor::runtime;

namespace {

// max |a − b| / max |b|.
double relative_max_diff(const Matrix& a, const Matrix& b) {
  REQUIRE(a.data.size() == b.data.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a.data[i]) - b.data[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b.data[i])));
  }
  return diff / scale;
}

}  // namespace

TEST_CASE("cuda decoder equals the CPU decoder on a prompt and on cached decode steps", "[cuda]") {
  if (cuda::device_count() == 0) {
    WARN("skipped: no CUDA device answers (cudaGetDeviceCount)");
    return;
  }
  for (const char* name : {"tiny-gpt2", "tiny-llama", "tiny-llama-tied"}) {
    CAPTURE(name);
    const auto cpu = Decoder::load(test_util::source_dir() / "tests/golden" / name);
    const cuda::CudaDecoder gpu(*cpu);
    const int64_t vocab = cpu->config().vocab_size;
    std::vector<int32_t> tokens;
    for (int32_t i = 0; i < 12; ++i) tokens.push_back(static_cast<int32_t>((i * 7 + 3) % vocab));
    auto cpu_state = cpu->new_state(16);
    auto gpu_state = gpu.new_state(16);
    // A 9-token prompt, then three single-token steps reading the cache.
    const int64_t prompt = 9;
    CHECK(relative_max_diff(gpu.logits(gpu.forward(tokens.data(), prompt, gpu_state)),
                            cpu->logits(cpu->forward(tokens.data(), prompt, cpu_state))) <= 1e-4);
    for (int64_t t = prompt; t < 12; ++t) {
      CAPTURE(t);
      CHECK(relative_max_diff(gpu.logits(gpu.forward(tokens.data() + t, 1, gpu_state)),
                              cpu->logits(cpu->forward(tokens.data() + t, 1, cpu_state))) <= 1e-4);
    }
    CHECK(gpu_state.length == 12);
    // Past the cache, and outside the vocabulary: the CPU decoder's errors, the state untouched.
    CHECK_THROWS_AS(gpu.forward(tokens.data(), 5, gpu_state), BadInput);
    const int32_t bad = static_cast<int32_t>(vocab);
    CHECK_THROWS_WITH(gpu.forward(&bad, 1, gpu_state), Catch::Contains("outside the vocabulary"));
    CHECK(gpu_state.length == 12);
  }
}

TEST_CASE("generate on the CUDA decoder gives the CPU decoder's greedy tokens", "[cuda]") {
  if (cuda::device_count() == 0) {
    WARN("skipped: no CUDA device answers (cudaGetDeviceCount)");
    return;
  }
  for (const char* name : {"tiny-gpt2", "tiny-llama"}) {
    CAPTURE(name);
    const auto cpu = Decoder::load(test_util::source_dir() / "tests/golden" / name);
    const cuda::CudaDecoder gpu(*cpu);
    const std::vector<int32_t> prompt = {5, 9, 2, 7};
    const SamplingOptions greedy;
    const auto on_cpu = generate(*cpu, prompt, 6, greedy);
    const auto on_gpu = generate(gpu, prompt, 6, greedy);
    CHECK(on_gpu.tokens == on_cpu.tokens);
    CHECK(on_gpu.tokens.size() == 6);
  }
}
