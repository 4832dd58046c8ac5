#include "calibration/tokenizer.h"

#include "compressor/error.h"
#include "compressor/model/model.h"

namespace compressor::calibration {

std::vector<int64_t> ByteTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id > 255) throw InternalError("byte tokenizer", "token id " + std::to_string(id) + " is not a byte");
    out.push_back(static_cast<char>(id));
  }
  return out;
}

std::unique_ptr<Tokenizer> tokenizer_for(const model::Model& model, const std::filesystem::path& dir) {
  for (const char* f : {"tokenizer.json", "vocab.txt", "vocab.json"}) {
    if (std::filesystem::exists(dir / f)) {
      throw BadInput((dir / f).string(), "this tokenizer format is not supported yet; only byte-level "
                                         "models (vocab_size 256, no tokenizer file) can be evaluated");
    }
  }
  if (model.vocab_size() != 256) {
    throw BadInput((dir / "config.json").string(),
                   "vocab_size " + std::to_string(model.vocab_size()) +
                       " with no tokenizer file: only byte-level models (vocab_size 256) can be tokenized");
  }
  return std::make_unique<ByteTokenizer>();
}

}  // namespace compressor::calibration
