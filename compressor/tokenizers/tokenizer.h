// The tokenizer interface, and the byte tokenizer of the embedded model (vocab 256: token id = byte
// value), which needs no vocabulary file. Pretrained checkpoints bring a Hugging Face tokenizer.json
// (byte-level BPE or WordPiece: bpe.h, wordpiece.h, tokenizer_json.h), a BERT vocab.txt
// (vocab_txt.h) or GGUF metadata (gguf_vocab.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace compressor::tokenizers {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string name() const = 0;
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
};

class ByteTokenizer final : public Tokenizer {
 public:
  std::string name() const override { return "bytes"; }
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return 256; }
};

}  // namespace compressor::tokenizers
