// How far a compressed encoder's sentence embeddings are from the uncompressed one's: the cosine
// similarity of the two embeddings of each sentence of a labelled file (mean-pooled, L2-normalised,
// as sentence-transformers computes them), averaged, with the worst sentence.
//   build/bench/bench_embedding_fidelity REFERENCE COMPRESSED --text data/kjv-books/test.tsv [--rows 400]
// REFERENCE and COMPRESSED: checkpoint or artifact directories (the artifact read back as every
// loader reads it, dynamic activation schemes included).
#include <cstdio>
#include <string>

#include "calibration/tokenizer_for.h"
#include "compressor/eval/embedding.h"
#include "compressor/eval/probe.h"
#include "compressor/model/architecture.h"

#include "bench/bench_util.h"

using namespace compressor;

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  std::string reference, compressed, text;
  int64_t rows = 400, seq_len = 128;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--text" && i + 1 < argc) text = argv[++i];
    else if (a == "--rows" && i + 1 < argc) rows = std::stoll(argv[++i]);
    else if (reference.empty()) reference = a;
    else compressed = a;
  }
  if (reference.empty() || compressed.empty() || text.empty()) {
    std::fprintf(stderr, "usage: bench_embedding_fidelity REFERENCE COMPRESSED --text FILE.tsv [--rows N]\n");
    return 1;
  }
  try {
    auto ref = model::load_model(reference);
    auto cmp = model::load_model(compressed);
    auto tok = calibration::tokenizer_for(*ref, reference);
    const auto data = eval::read_labelled_tsv(text);
    const int64_t n = std::min<int64_t>(rows, static_cast<int64_t>(data.text.size()));
    double sum = 0, worst = 1;
    for (int64_t i = 0; i < n; ++i) {
      auto v = tok->encode(data.text[static_cast<size_t>(i)]);
      if (static_cast<int64_t>(v.size()) > seq_len) v.resize(static_cast<size_t>(seq_len));
      const auto ids = torch::tensor(v, torch::kLong);
      const double cos = 1.0 - eval::cosine_distance(eval::sentence_embedding(*ref, ids), eval::sentence_embedding(*cmp, ids));
      sum += cos;
      worst = std::min(worst, cos);
    }
    std::printf("%s against %s on %lld sentences of %s: mean cosine %.6f, worst %.6f\n", compressed.c_str(),
                reference.c_str(), static_cast<long long>(n), text.c_str(), sum / static_cast<double>(n), worst);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_embedding_fidelity: %s\n", e.what());
    return 2;
  }
  return 0;
}
