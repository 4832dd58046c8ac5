#include "calibration/documents.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/base/quote.h"
#include "formats/npy.h"
#include "formats/safetensors.h"

namespace compressor::calibration {

namespace fs = std::filesystem;
using base::in_quotes;

bool parse_source_format(const std::string& s, SourceFormat* out) {
  static const std::pair<const char*, SourceFormat> names[] = {{"auto", SourceFormat::automatic},
                                                               {"text", SourceFormat::text},
                                                               {"jsonl", SourceFormat::jsonl},
                                                               {"npy", SourceFormat::npy},
                                                               {"safetensors", SourceFormat::safetensors}};
  for (const auto& [name, f] : names) {
    if (s == name) {
      *out = f;
      return true;
    }
  }
  return false;
}

const char* to_string(SourceFormat f) {
  switch (f) {
    case SourceFormat::automatic: return "auto";
    case SourceFormat::text: return "text";
    case SourceFormat::jsonl: return "jsonl";
    case SourceFormat::npy: return "npy";
    case SourceFormat::safetensors: return "safetensors";
  }
  return "?";
}

SourceFormat detect_source_format(const fs::path& path) {
  const auto ext = path.extension().string();
  if (ext == ".jsonl" || ext == ".ndjson") return SourceFormat::jsonl;
  if (ext == ".npy") return SourceFormat::npy;
  if (ext == ".safetensors") return SourceFormat::safetensors;
  return SourceFormat::text;
}

namespace {

torch::Tensor ids_of(const tokenizers::Tokenizer& tokenizer, const std::string& text) {
  return torch::tensor(tokenizer.encode(text), torch::kLong);
}

const tokenizers::Tokenizer& need_tokenizer(const tokenizers::Tokenizer* tokenizer, const SourceOptions& s, const std::string& where) {
  if (!tokenizer) {
    throw BadInput(where, s.path.string() + " is text, but the model has no tokenizer; give ids tokenized beforehand (.npy or .safetensors)");
  }
  return *tokenizer;
}

std::vector<torch::Tensor> read_jsonl(const SourceOptions& s, const tokenizers::Tokenizer& tokenizer, const std::string& where) {
  std::ifstream in(s.path, std::ios::binary);
  if (!in) throw IoError(where, "cannot open " + s.path.string());
  std::vector<torch::Tensor> docs;
  std::string line;
  int64_t rows = 0;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines carry no row
    const std::string at = s.path.string() + ":" + std::to_string(number);
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw BadInput(at, where + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!row.is_object()) throw BadInput(at, where + ": a JSON Lines row must be an object with a " + in_quotes(s.text_field) + " field");
    auto field = row.find(s.text_field);
    if (field == row.end()) {
      throw BadInput(at, where + ": the row has no " + in_quotes(s.text_field) + " field (set calibration.text_field to the field that holds the text)");
    }
    if (!field->is_string()) throw BadInput(at, where + ": field " + in_quotes(s.text_field) + " is not a string");
    ++rows;
    auto ids = ids_of(tokenizer, field->get<std::string>());
    if (ids.numel() > 0) docs.push_back(std::move(ids));
  }
  if (rows == 0) throw BadInput(s.path.string(), where + ": the file has no JSON Lines rows");
  return docs;
}

// Rows of a 1-D or 2-D id array as documents, keeping the positions `mask` marks (when defined).
std::vector<torch::Tensor> rows_of(const torch::Tensor& ids, const torch::Tensor& mask, int64_t vocab_size,
                                   const std::string& at) {
  if (ids.dim() != 1 && ids.dim() != 2) {
    throw BadInput(at, "token ids must be 1-D (one document) or 2-D [documents, tokens], not " +
                           std::to_string(ids.dim()) + "-D");
  }
  if (ids.numel() == 0) throw BadInput(at, "holds no token ids");
  auto bad = (ids < 0) | (ids >= vocab_size);
  if (mask.defined()) bad &= mask != 0;
  if (bad.any().item<bool>()) {
    const int64_t flat = bad.flatten().nonzero()[0][0].item<int64_t>();
    std::string pos = ids.dim() == 1 ? std::to_string(flat)
                                     : std::to_string(flat / ids.size(1)) + ", " + std::to_string(flat % ids.size(1));
    throw BadInput(at, "id " + std::to_string(ids.flatten()[flat].item<int64_t>()) + " at position [" + pos +
                           "] is outside the model's vocabulary [0, " + std::to_string(vocab_size) + ")");
  }
  std::vector<torch::Tensor> docs;
  auto two_d = ids.dim() == 1 ? ids.unsqueeze(0) : ids;
  auto two_d_mask = !mask.defined() ? mask : mask.dim() == 1 ? mask.unsqueeze(0) : mask;
  for (int64_t r = 0; r < two_d.size(0); ++r) {
    auto row = two_d[r];
    if (two_d_mask.defined()) row = row.index({two_d_mask[r] != 0});
    if (row.numel() > 0) docs.push_back(row.contiguous());
  }
  return docs;
}

std::vector<torch::Tensor> read_safetensors_ids(const SourceOptions& s, int64_t vocab_size) {
  auto file = formats::SafetensorsFile::open(s.path);
  const std::string at = s.path.string() + ": tensor " + in_quotes(s.tensor);
  if (!file->contains(s.tensor)) {
    std::string names;
    for (const auto& t : file->tensors()) names += (names.empty() ? "" : ", ") + t.name;
    throw BadInput(at, "no such tensor (the file has: " + names + "; set calibration.tensor)");
  }
  auto ids = file->tensor(s.tensor);
  if (torch::isFloatingType(ids.scalar_type()) || ids.scalar_type() == torch::kBool) {
    throw BadInput(at, "token ids must be integers, not " + std::string(formats::dtype_name(file->info(s.tensor).dtype)));
  }
  ids = ids.to(torch::kLong);
  torch::Tensor mask;
  if (file->contains("attention_mask") && s.tensor != "attention_mask") {
    mask = file->tensor("attention_mask").to(torch::kLong);
    if (mask.sizes() != ids.sizes()) {
      throw BadInput(s.path.string() + ": tensor 'attention_mask'", "shape differs from " + in_quotes(s.tensor) + "'s");
    }
  }
  return rows_of(ids, mask, vocab_size, at);
}

}  // namespace

std::vector<torch::Tensor> load_documents(const SourceOptions& s, const tokenizers::Tokenizer* tokenizer, int64_t vocab_size,
                                          const std::string& where) {
  std::error_code ec;
  if (!fs::is_regular_file(s.path, ec)) throw BadInput(where, "calibration file not found: " + s.path.string());
  if (fs::file_size(s.path, ec) == 0) throw BadInput(s.path.string(), where + ": the file is empty");
  const SourceFormat format = s.format == SourceFormat::automatic ? detect_source_format(s.path) : s.format;
  std::vector<torch::Tensor> docs;
  switch (format) {
    case SourceFormat::automatic:
    case SourceFormat::text: {
      auto ids = ids_of(need_tokenizer(tokenizer, s, where), base::read_text_file(s.path, where));
      if (ids.numel() > 0) docs.push_back(std::move(ids));
      break;
    }
    case SourceFormat::jsonl: docs = read_jsonl(s, need_tokenizer(tokenizer, s, where), where); break;
    case SourceFormat::npy: docs = rows_of(formats::read_npy_integers(s.path), {}, vocab_size, s.path.string()); break;
    case SourceFormat::safetensors: docs = read_safetensors_ids(s, vocab_size); break;
  }
  if (docs.empty()) throw BadInput(s.path.string(), where + ": the file has no tokens");
  return docs;
}

}  // namespace compressor::calibration
