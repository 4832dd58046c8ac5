#include "calibration/tokenizer_for.h"

#include "calibration/gguf_tokenizer.h"
#include "compressor/base/error.h"
#include "compressor/model/model.h"
#include "compressor/tokenizers/tokenizer_json.h"
#include "compressor/tokenizers/vocab_txt.h"

namespace compressor::calibration {

std::unique_ptr<tokenizers::Tokenizer> tokenizer_for(const model::Model& model, const std::filesystem::path& dir) {
  return tokenizer_for(model.vocab_size(), dir);
}

std::unique_ptr<tokenizers::Tokenizer> tokenizer_for(int64_t vocab_size, const std::filesystem::path& dir) {
  std::unique_ptr<tokenizers::Tokenizer> tok;
  std::filesystem::path source;
  if (dir.extension() == ".gguf" && std::filesystem::is_regular_file(dir)) {
    source = dir;
    tok = load_gguf_tokenizer(dir);
  } else if (std::filesystem::exists(dir / "tokenizer.json")) {
    source = dir / "tokenizer.json";
    tok = tokenizers::load_tokenizer_json(source);
  } else if (std::filesystem::exists(dir / "vocab.txt")) {
    source = dir / "vocab.txt";
    tok = tokenizers::load_vocab_txt(source);
  } else if (std::filesystem::exists(dir / "vocab.json")) {
    throw BadInput((dir / "vocab.json").string(), "vocab.json + merges.txt tokenizers are not supported; "
                                                  "save the tokenizer as tokenizer.json");
  } else if (vocab_size == 256) {
    return std::make_unique<tokenizers::ByteTokenizer>();
  } else {
    throw BadInput((dir / "config.json").string(),
                   "vocab_size " + std::to_string(vocab_size) +
                       " and no tokenizer.json or vocab.txt beside it: only byte-level models (vocab_size 256) "
                       "need no tokenizer file");
  }
  if (tok->vocab_size() > vocab_size) {
    throw BadInput(source.string(), "the tokenizer has " + std::to_string(tok->vocab_size()) +
                                        " tokens, more than the model's vocab_size " + std::to_string(vocab_size));
  }
  return tok;
}

}  // namespace compressor::calibration
