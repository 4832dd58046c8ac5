// Calibration samples [N, T] cut from documents of token ids, deterministically from the seed.
//
//   short_documents: pack  the documents are joined in file order into one stream of ids:
//     sampler random  N windows at uniform random offsets of the stream (they may overlap);
//     sampler chunk   the stream cut into consecutive windows of T ids, N of them chosen at random
//                     without replacement (concatenate-and-chunk, as Hugging Face's group_texts).
//   short_documents: pad   every sample lies inside one document; a document shorter than T is
//                     right-padded and its padding masked, so statistics never see it:
//     sampler random  N documents chosen without replacement; a longer one gives one window at a
//                     random offset;
//     sampler chunk   each document cut into consecutive pieces of T ids (its last piece padded),
//                     N pieces chosen without replacement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace compressor::calibration {

enum class Sampler { random, chunk };
enum class ShortDocuments { pack, pad };

bool parse_sampler(const std::string& s, Sampler* out);               // "random" | "chunk"
bool parse_short_documents(const std::string& s, ShortDocuments* out);  // "pack" | "pad"
const char* to_string(Sampler s);
const char* to_string(ShortDocuments s);

struct SamplingOptions {
  int64_t samples = 128;
  int64_t seq_len = 256;
  uint64_t seed = 0;
  Sampler sampler = Sampler::random;
  ShortDocuments short_documents = ShortDocuments::pack;
};

struct CalibrationSet {
  torch::Tensor ids;   // int64 [N, T]; padded positions hold id 0
  torch::Tensor mask;  // int64 [N, T], 1 = real token; undefined when no position is padded
  int64_t real_tokens() const;
};

// Samples from `documents` (1-D int64 each). Too little data for N samples is BadInput naming
// `where` with what there is: tokens (pack), documents (pad + random) or pieces (pad + chunk).
CalibrationSet sample_calibration(const std::vector<torch::Tensor>& documents, const SamplingOptions& options,
                                  const std::string& where);

// `samples` windows of `seq_len` tokens at random offsets drawn from `seed`: [samples, seq_len].
// The same seed gives the same windows on every machine (torch's CPU generator is portable).
torch::Tensor random_windows(const torch::Tensor& tokens, int64_t samples, int64_t seq_len, uint64_t seed);

}  // namespace compressor::calibration
