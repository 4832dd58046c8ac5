#include "calibration/sampler.h"

#include "compressor/base/error.h"

namespace compressor::calibration {

bool parse_sampler(const std::string& s, Sampler* out) {
  if (s == "random") *out = Sampler::random;
  else if (s == "chunk") *out = Sampler::chunk;
  else return false;
  return true;
}

bool parse_short_documents(const std::string& s, ShortDocuments* out) {
  if (s == "pack") *out = ShortDocuments::pack;
  else if (s == "pad") *out = ShortDocuments::pad;
  else return false;
  return true;
}

const char* to_string(Sampler s) { return s == Sampler::random ? "random" : "chunk"; }
const char* to_string(ShortDocuments s) { return s == ShortDocuments::pack ? "pack" : "pad"; }

int64_t CalibrationSet::real_tokens() const { return mask.defined() ? mask.sum().item<int64_t>() : ids.numel(); }

torch::Tensor random_windows(const torch::Tensor& tokens, int64_t samples, int64_t seq_len, uint64_t seed) {
  const int64_t n = tokens.size(0);
  if (n < seq_len) {
    throw BadInput("calibration", "the text has " + std::to_string(n) + " tokens, fewer than seq_len " +
                                      std::to_string(seq_len));
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto starts = at::randint(0, n - seq_len + 1, {samples}, gen, torch::kLong);
  auto offsets = torch::arange(seq_len, torch::kLong);
  return tokens.index({starts.unsqueeze(1) + offsets.unsqueeze(0)});
}

namespace {

std::string str(int64_t v) { return std::to_string(v); }

// `k` distinct indices of [0, n) in a seeded random order.
std::vector<int64_t> choose(int64_t n, int64_t k, at::Generator& gen) {
  auto perm = at::randperm(n, gen, torch::kLong).slice(0, 0, k);
  return std::vector<int64_t>(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + k);
}

// One padded sample per piece: ids right-padded with 0, mask 1 on the real ids.
CalibrationSet stack_padded(const std::vector<torch::Tensor>& pieces, int64_t seq_len) {
  const auto n = static_cast<int64_t>(pieces.size());
  CalibrationSet set{torch::zeros({n, seq_len}, torch::kLong), torch::zeros({n, seq_len}, torch::kLong)};
  bool padded = false;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = pieces[static_cast<size_t>(i)].numel();
    set.ids[i].slice(0, 0, len).copy_(pieces[static_cast<size_t>(i)]);
    set.mask[i].slice(0, 0, len).fill_(1);
    padded = padded || len < seq_len;
  }
  if (!padded) set.mask = torch::Tensor();
  return set;
}

}  // namespace

CalibrationSet sample_calibration(const std::vector<torch::Tensor>& documents, const SamplingOptions& o,
                                  const std::string& where) {
  const int64_t T = o.seq_len, N = o.samples;
  if (o.short_documents == ShortDocuments::pack) {
    auto stream = documents.size() == 1 ? documents.front() : torch::cat(documents);
    const int64_t n = stream.size(0);
    if (o.sampler == Sampler::random) {
      // Windows may overlap, but a stream shorter than N x T would make the same tokens count several
      // times over: refuse it rather than over-weight them.
      if (n < N * T) {
        throw BadInput(where, "has " + str(n) + " tokens, fewer than samples x seq_len = " + str(N) + " x " + str(T) +
                                  " = " + str(N * T));
      }
      return {random_windows(stream, N, T, o.seed), {}};
    }
    const int64_t chunks = n / T;
    if (chunks < N) {
      throw BadInput(where, "has " + str(n) + " tokens, " + str(chunks) + " chunks of seq_len " + str(T) +
                                ", fewer than samples = " + str(N));
    }
    auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    auto picked = torch::tensor(choose(chunks, N, gen), torch::kLong);
    return {stream.slice(0, 0, chunks * T).view({chunks, T}).index({picked}).contiguous(), {}};
  }

  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  std::vector<torch::Tensor> pieces;
  if (o.sampler == Sampler::random) {
    const auto docs = static_cast<int64_t>(documents.size());
    if (docs < N) throw BadInput(where, "has " + str(docs) + " documents, fewer than samples = " + str(N));
    for (int64_t d : choose(docs, N, gen)) {
      const auto& doc = documents[static_cast<size_t>(d)];
      const int64_t len = doc.numel();
      int64_t start = 0;
      if (len > T) start = at::randint(0, len - T + 1, {1}, gen, torch::kLong).item<int64_t>();
      pieces.push_back(doc.slice(0, start, std::min(len, start + T)));
    }
  } else {
    std::vector<torch::Tensor> all;
    for (const auto& doc : documents) {
      for (int64_t s = 0; s < doc.numel(); s += T) all.push_back(doc.slice(0, s, std::min(doc.numel(), s + T)));
    }
    const auto total = static_cast<int64_t>(all.size());
    if (total < N) {
      throw BadInput(where, "has " + str(total) + " pieces of at most seq_len " + str(T) + " tokens in " +
                                str(static_cast<int64_t>(documents.size())) + " documents, fewer than samples = " + str(N));
    }
    for (int64_t p : choose(total, N, gen)) pieces.push_back(all[static_cast<size_t>(p)]);
  }
  return stack_padded(pieces, T);
}

}  // namespace compressor::calibration
