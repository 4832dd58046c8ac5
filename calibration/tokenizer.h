// Tokenizers. The embedded model is byte-level (vocab 256: token id = byte value), which needs no
// vocabulary file; BPE and WordPiece tokenizers for pretrained checkpoints arrive with issue 4.
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

// The tokenizer a checkpoint directory implies. Today: byte-level when the model has a 256-token
// vocabulary and the directory has no tokenizer files; anything else is a clear error.
std::unique_ptr<Tokenizer> tokenizer_for(const model::Model& model, const std::filesystem::path& checkpoint_dir);

}  // namespace compressor::calibration
