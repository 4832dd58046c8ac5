// The runtime's BERT encoder against the LibTorch model on the same sentences, in one process:
// sentences per second (LibTorch one sentence per forward, as eval::sentence_embedding runs; the
// runtime one at a time and in batches) and how far the runtime's embeddings are from LibTorch's
// (cosine distance, mean and worst). For an artifact, LibTorch runs its weights dequantized with
// activation rounding as stored, the runtime the artifact as stored.
//   build/bench/bench_encoder_runtime MODEL --text data/kjv-books/test.tsv [--rows 400] [--batch 32] [--repeat 3]
// Cache-hot: an untimed pass first; best of --repeat passes; every core (OpenBLAS and our kernels),
// LibTorch's own OpenMP pool on one thread as `compressor bench` times it (its workers contend
// with OpenBLAS's threads otherwise).
#include <cstdio>
#include <string>

#include <torch/torch.h>

#include "bench/bench_util.h"
#include "calibration/tokenizer_for.h"
#include "compressor/eval/embedding.h"
#include "compressor/eval/probe.h"
#include "compressor/model/architecture.h"
#include "compressor/runtime/encoder.h"
#include "compressor/runtime/kernels/threads.h"

using namespace compressor;

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  std::string dir, text;
  int64_t rows = 400, batch = 32;
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--text" && i + 1 < argc) text = argv[++i];
    else if (a == "--rows" && i + 1 < argc) rows = std::stoll(argv[++i]);
    else if (a == "--batch" && i + 1 < argc) batch = std::stoll(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc) repeat = std::stoi(argv[++i]);
    else dir = a;
  }
  if (dir.empty() || text.empty() || rows < 1 || batch < 1 || repeat < 1) {
    std::fprintf(stderr, "usage: bench_encoder_runtime MODEL --text FILE.tsv [--rows N] [--batch B] [--repeat R]\n");
    return 1;
  }
  try {
    torch::InferenceMode inference;
    const int threads = runtime::kernel_threads();
    at::set_num_threads(1);
    auto torch_model = model::load_model(dir);
    const auto encoder = runtime::Encoder::load(dir);
    auto tok = calibration::tokenizer_for(*torch_model, dir);
    const auto data = eval::read_labelled_tsv(text);
    const int64_t n = std::min<int64_t>(rows, static_cast<int64_t>(data.text.size()));
    const int64_t limit = encoder->config().max_positions;
    std::vector<std::vector<int32_t>> sentences;
    int64_t tokens = 0;
    for (int64_t i = 0; i < n; ++i) {
      auto v = tok->encode(data.text[static_cast<size_t>(i)]);
      if (static_cast<int64_t>(v.size()) > limit) v.resize(static_cast<size_t>(limit));
      sentences.emplace_back(v.begin(), v.end());
      tokens += static_cast<int64_t>(v.size());
    }
    std::vector<torch::Tensor> torch_out(sentences.size());
    auto run_torch = [&] {
      for (size_t i = 0; i < sentences.size(); ++i) {
        const std::vector<int64_t> ids(sentences[i].begin(), sentences[i].end());
        torch_out[i] = eval::sentence_embedding(*torch_model, torch::tensor(ids, torch::kLong));
      }
    };
    runtime::Matrix runtime_out(static_cast<int64_t>(sentences.size()), encoder->config().hidden);
    auto run_runtime = [&](int64_t b) {
      for (size_t first = 0; first < sentences.size(); first += static_cast<size_t>(b)) {
        const size_t end = std::min(sentences.size(), first + static_cast<size_t>(b));
        const std::vector<std::vector<int32_t>> part(sentences.begin() + static_cast<std::ptrdiff_t>(first),
                                                     sentences.begin() + static_cast<std::ptrdiff_t>(end));
        const auto e = encoder->sentence_embeddings(part);
        std::copy(e.data.begin(), e.data.end(), runtime_out.row(static_cast<int64_t>(first)));
      }
    };
    run_torch();
    run_runtime(batch);
    const double t_torch = bench::best_of(repeat, run_torch);
    const double t_one = bench::best_of(repeat, [&] { run_runtime(1); });
    const double t_batch = bench::best_of(repeat, [&] { run_runtime(batch); });
    double sum = 0, worst = 0;
    for (size_t i = 0; i < sentences.size(); ++i) {
      const auto r = torch::from_blob(runtime_out.row(static_cast<int64_t>(i)), {runtime_out.cols}, torch::kFloat32);
      const double d = eval::cosine_distance(r, torch_out[i]);
      sum += d;
      worst = std::max(worst, d);
    }
    const double s = static_cast<double>(sentences.size());
    std::printf("%s: %lld sentences (%lld tokens) of %s, %d threads, best of %d (cache-hot)\n", dir.c_str(),
                static_cast<long long>(n), static_cast<long long>(tokens), text.c_str(), threads, repeat);
    std::printf("| engine | sentences/s | tokens/s | vs LibTorch |\n|---|---|---|---|\n");
    std::printf("| LibTorch float32, one sentence a forward | %.1f | %.0f | 1.00 |\n", s / t_torch, tokens / t_torch);
    std::printf("| runtime, one sentence a forward | %.1f | %.0f | %.2f |\n", s / t_one, tokens / t_one, t_torch / t_one);
    std::printf("| runtime, batches of %lld | %.1f | %.0f | %.2f |\n", static_cast<long long>(batch), s / t_batch,
                tokens / t_batch, t_torch / t_batch);
    std::printf("runtime vs LibTorch embeddings: mean cosine distance %.3g, worst %.3g\n", sum / s, worst);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_encoder_runtime: %s\n", e.what());
    return 2;
  }
  return 0;
}
