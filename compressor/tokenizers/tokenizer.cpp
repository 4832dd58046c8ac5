#include "compressor/tokenizers/tokenizer.h"

#include "compressor/base/error.h"

namespace compressor::tokenizers {

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

}  // namespace compressor::tokenizers
