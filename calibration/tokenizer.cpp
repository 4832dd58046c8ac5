#include "calibration/tokenizer.h"

#include "calibration/bpe.h"
#include "calibration/gguf_tokenizer.h"
#include "calibration/wordpiece.h"

#include "compressor/base/error.h"
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
  std::unique_ptr<Tokenizer> tok;
  std::filesystem::path source;
  if (dir.extension() == ".gguf" && std::filesystem::is_regular_file(dir)) {
    source = dir;
    tok = load_gguf_tokenizer(dir);
  } else if (std::filesystem::exists(dir / "tokenizer.json")) {
    source = dir / "tokenizer.json";
    tok = load_tokenizer_json(source);
  } else if (std::filesystem::exists(dir / "vocab.txt")) {
    source = dir / "vocab.txt";
    tok = WordPieceTokenizer::from_vocab_txt(source);
  } else if (std::filesystem::exists(dir / "vocab.json")) {
    throw BadInput((dir / "vocab.json").string(), "vocab.json + merges.txt tokenizers are not supported; "
                                                  "save the tokenizer as tokenizer.json");
  } else if (model.vocab_size() == 256) {
    return std::make_unique<ByteTokenizer>();
  } else {
    throw BadInput((dir / "config.json").string(),
                   "vocab_size " + std::to_string(model.vocab_size()) +
                       " and no tokenizer.json or vocab.txt beside it: only byte-level models (vocab_size 256) "
                       "need no tokenizer file");
  }
  if (tok->vocab_size() > model.vocab_size()) {
    throw BadInput(source.string(), "the tokenizer has " + std::to_string(tok->vocab_size()) +
                                        " tokens, more than the model's vocab_size " + std::to_string(model.vocab_size()));
  }
  return tok;
}

}  // namespace compressor::calibration
