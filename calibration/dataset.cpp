#include "calibration/dataset.h"

#include "compressor/base/error.h"
#include "compressor/base/atomic_file.h"

namespace compressor::calibration {

torch::Tensor load_text_tokens(const std::filesystem::path& path, const tokenizers::Tokenizer& tokenizer, int64_t max_bytes,
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

}  // namespace compressor::calibration
