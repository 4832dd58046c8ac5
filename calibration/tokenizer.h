// Tokenizers. The embedded model is byte-level (vocab 256: token id = byte value), which needs no
// vocabulary file; pretrained checkpoints bring a Hugging Face tokenizer.json (byte-level BPE or
// WordPiece, calibration/bpe.h and calibration/wordpiece.h) or a BERT vocab.txt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace compressor::model {
class Model;
}

namespace compressor::calibration {

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

// The tokenizer a checkpoint implies: a GGUF file's own (tokenizer.ggml.*), a directory's tokenizer.json, else its vocab.txt (BERT
// WordPiece), else byte-level when the model has a 256-token vocabulary; otherwise a clear error.
// A tokenizer with more ids than the model's vocabulary is an error too.
std::unique_ptr<Tokenizer> tokenizer_for(const model::Model& model, const std::filesystem::path& checkpoint_dir);

}  // namespace compressor::calibration
