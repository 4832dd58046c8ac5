#include "formats/hf_checkpoint.h"

#include <set>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"
#include "compressor/base/quote.h"
#include "compressor/base/atomic_file.h"

namespace compressor::formats {

namespace fs = std::filesystem;
using base::in_quotes;
using json = nlohmann::json;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";


// A shard name from the index must stay inside the checkpoint directory. The check is lexical
// on purpose: the Hugging Face hub cache stores shards as symlinks into ../../blobs, so
// resolving links and comparing real paths would reject every downloaded model.
bool stays_inside(const std::string& shard) {
  const fs::path p(shard);
  if (shard.empty() || p.is_absolute() || p.has_root_name() || p.has_root_directory()) return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return p.has_filename() && p.filename() != ".";
}

// Tensor name -> shard file name, with duplicate tensor names rejected (JSON parsers keep the
// last of two equal keys silently, which would hide a tensor listed in two shards).
std::vector<std::pair<std::string, std::string>> read_weight_map(const fs::path& index) {
  const std::string text = base::read_text_file(index, "sharded checkpoint index");
  std::vector<std::set<std::string>> open_objects;  // keys seen in each enclosing object
  std::string duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) open_objects.emplace_back();
    if (ev == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (ev == json::parse_event_t::key && duplicate.empty() && !open_objects.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  // nlohmann stops at a NUL byte as if the input ended there; JSON never contains a raw NUL.
  if (const auto nul = text.find('\0'); nul != std::string::npos) {
    throw BadInput(index.string(), "not valid JSON: NUL byte at offset " + std::to_string(nul));
  }
  json doc;
  try {
    doc = json::parse(text, cb);
  } catch (const json::parse_error& e) {
    throw BadInput(index.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) {
    throw BadInput(index.string(), "key " + in_quotes(duplicate) + " appears twice");
  }
  if (!doc.is_object()) throw BadInput(index.string(), "not a JSON object");
  auto wm = doc.find("weight_map");
  if (wm == doc.end() || !wm->is_object()) {
    throw BadInput(index.string(), "missing 'weight_map' object {tensor name: shard file}");
  }
  if (wm->empty()) throw BadInput(index.string(), "'weight_map' lists no tensors");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : wm->items()) {
    if (!item.value().is_string()) {
      throw BadInput(index.string(), "weight_map entry for tensor " + in_quotes(item.key()) +
                                         " is not a file name string");
    }
    out.emplace_back(item.key(), item.value().get<std::string>());
  }
  return out;
}

}  // namespace

CheckpointTensors CheckpointTensors::open(const fs::path& path) {
  CheckpointTensors ckpt;
  ckpt.root_ = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError(path.string(), "checkpoint path does not exist");

  auto add_whole_file = [&](const fs::path& file) {
    ckpt.files_.push_back(SafetensorsFile::open(file));
    for (const auto& t : ckpt.files_.back()->tensors()) ckpt.owner_.emplace(t.name, 0);
  };

  if (!fs::is_directory(path, ec)) {
    add_whole_file(path);
    return ckpt;
  }
  // Same preference as transformers: the single file wins when both layouts are present.
  if (fs::is_regular_file(path / kSingleFile, ec)) {
    add_whole_file(path / kSingleFile);
    return ckpt;
  }
  const fs::path index = path / kIndexFile;
  if (!fs::is_regular_file(index, ec)) {
    std::string hint;
    if (fs::exists(path / "pytorch_model.bin", ec) ||
        fs::exists(path / "pytorch_model.bin.index.json", ec)) {
      hint = " (pytorch_model.bin is there, but only safetensors weights are read: convert them)";
    }
    throw BadInput(path.string(), std::string("no weights found: looked for ") + kSingleFile +
                                      " and " + kIndexFile + hint);
  }

  const auto weight_map = read_weight_map(index);
  // Open every shard once, in sorted order so metadata() ("the first file") is the
  // 00001-of-N shard and the result does not depend on the index's key order.
  std::map<std::string, std::size_t> shard_slot;
  for (const auto& [tensor, shard] : weight_map) {
    if (!stays_inside(shard)) {
      throw BadInput(index.string(), "tensor " + in_quotes(tensor) + ": shard path " +
                                         in_quotes(shard) + " leaves the checkpoint directory");
    }
    shard_slot.emplace(shard, 0);
  }
  for (auto& [shard, slot] : shard_slot) {
    const fs::path file = path / shard;
    if (!fs::is_regular_file(file, ec)) {
      throw BadInput(index.string(), "shard " + in_quotes(shard) + " listed in weight_map is missing");
    }
    slot = ckpt.files_.size();
    ckpt.files_.push_back(SafetensorsFile::open(file));
  }

  for (const auto& [tensor, shard] : weight_map) {
    const std::size_t slot = shard_slot.at(shard);
    if (!ckpt.files_[slot]->contains(tensor)) {
      throw BadInput(index.string(), "tensor " + in_quotes(tensor) + " is listed in shard " +
                                         in_quotes(shard) + " but that file does not contain it");
    }
    ckpt.owner_.emplace(tensor, slot);
  }
  // The index must describe the shards exactly: a tensor stored in a second shard, or one
  // that the index does not list, means the index and files are out of step.
  for (const auto& [shard, slot] : shard_slot) {
    for (const auto& t : ckpt.files_[slot]->tensors()) {
      auto it = ckpt.owner_.find(t.name);
      if (it == ckpt.owner_.end()) {
        throw BadInput(index.string(), "shard " + in_quotes(shard) + " contains tensor " +
                                           in_quotes(t.name) + " that weight_map does not list");
      }
      if (it->second != slot) {
        throw BadInput(index.string(),
                       "tensor " + in_quotes(t.name) + " appears in two shards: " +
                           in_quotes(ckpt.files_[it->second]->path().filename().string()) + " and " +
                           in_quotes(shard));
      }
    }
  }
  return ckpt;
}

bool CheckpointTensors::contains(const std::string& name) const { return owner_.count(name) != 0; }

const TensorInfo& CheckpointTensors::info(const std::string& name) const {
  auto it = owner_.find(name);
  if (it == owner_.end()) {
    throw BadInput(root_.string(), "tensor " + in_quotes(name) + " is not in the checkpoint");
  }
  return files_[it->second]->info(name);
}

torch::Tensor CheckpointTensors::tensor(const std::string& name) const {
  info(name);  // throws with the checkpoint's path when absent
  return files_[owner_.at(name)]->tensor(name);
}

void CheckpointTensors::release_pages(const std::string& name) const {
  info(name);
  files_[owner_.at(name)]->release_pages(name);
}

FindPart CheckpointTensors::parts() const {
  return [this](const std::string& name) -> std::optional<PartView> {
    auto it = owner_.find(name);
    if (it == owner_.end()) return std::nullopt;
    const auto& file = *files_[it->second];
    const auto& info = file.info(name);
    return PartView{info, file.data(info), file.where(name)};
  };
}

std::vector<std::string> CheckpointTensors::names() const {
  std::vector<std::string> out;
  out.reserve(owner_.size());
  for (const auto& [name, slot] : owner_) out.push_back(name);
  return out;
}

const fs::path& CheckpointTensors::file_of(const std::string& name) const {
  info(name);
  return files_[owner_.at(name)]->path();
}

uint64_t CheckpointTensors::total_bytes() const {
  uint64_t sum = 0;
  for (const auto& [name, slot] : owner_) {
    const TensorInfo& t = files_[slot]->info(name);
    sum += t.end - t.begin;
  }
  return sum;
}

const std::map<std::string, std::string>& CheckpointTensors::metadata() const {
  static const std::map<std::string, std::string> kEmpty;
  return files_.empty() ? kEmpty : files_.front()->metadata();
}

}  // namespace compressor::formats
