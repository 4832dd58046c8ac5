// The unigram baseline for the embedded model's card: byte frequencies counted on the training
// text (add-one smoothing over 256 bytes), cross entropy on the held-out text.
//   build/bench/bench_unigram_baseline models/kjv-gpt2/data/train.txt models/kjv-gpt2/data/test.txt
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TRAIN.txt TEST.txt\n", argv[0]);
    return 1;
  }
  auto slurp = [](const char* p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string train = slurp(argv[1]), test = slurp(argv[2]);
  if (train.empty() || test.empty()) {
    std::fprintf(stderr, "empty or missing input\n");
    return 2;
  }
  std::vector<double> count(256, 1.0);
  for (unsigned char c : train) count[c] += 1;
  const double total = static_cast<double>(train.size()) + 256;
  double nll = 0;
  for (unsigned char c : test) nll -= std::log(count[c] / total);
  const double per_byte = nll / static_cast<double>(test.size());
  std::printf("unigram on %s: perplexity %.4f, bits/byte %.4f (%zu bytes)\n", argv[2], std::exp(per_byte),
              per_byte / std::log(2.0), test.size());
  return 0;
}
