#include "calibration/dataset.h"

#include "compressor/base/error.h"
#include "compressor/base/atomic_file.h"

namespace compressor::calibration {

torch::Tensor load_text_tokens(const std::filesystem::path& path, const Tokenizer& tokenizer, int64_t max_bytes,
                               const std::string& what, int64_t* bytes_out) {
  std::string text = base::read_text_file(path, what);
  if (max_bytes > 0 && static_cast<int64_t>(text.size()) > max_bytes) {
    text.resize(static_cast<size_t>(max_bytes));
    auto nl = text.rfind('\n');
    if (nl != std::string::npos) text.resize(nl + 1);
  }
  if (text.empty()) throw BadInput(path.string(), what + ": the file is empty");
  if (bytes_out) *bytes_out = static_cast<int64_t>(text.size());
  auto ids = tokenizer.encode(text);
  return torch::tensor(ids, torch::kLong);
}

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

}  // namespace compressor::calibration
