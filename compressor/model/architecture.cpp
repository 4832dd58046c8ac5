#include "compressor/model/architecture.h"

#include "compressor/base/error.h"
#include "compressor/base/finite.h"
#include "compressor/base/shape.h"
#include "compressor/model/bert.h"
#include "compressor/model/gguf_model.h"
#include "compressor/model/gpt2.h"
#include "compressor/model/llama.h"
#include "formats/compressed_tensors.h"

namespace compressor::model {

namespace {
std::map<std::string, ArchitectureInfo> make_registry() {
  std::map<std::string, ArchitectureInfo> r;
  auto add = [&](ArchitectureInfo info) { r.emplace(info.name, std::move(info)); };
  add(gpt2_architecture());
  add(bert_architecture());
  add(llama_architecture());
  return r;
}
}  // namespace

const std::map<std::string, ArchitectureInfo>& architectures() {
  static const auto registry = make_registry();
  return registry;
}

const ArchitectureInfo& architecture_info(const std::string& name) {
  const auto it = architectures().find(name);
  if (it == architectures().end()) throw InternalError("model", "architecture '" + name + "' is not registered");
  return it->second;
}

std::vector<std::string> architecture_names() {
  std::vector<std::string> out;
  for (const auto& [name, info] : architectures()) out.push_back(name);
  return out;
}

torch::Tensor load_weight(const formats::CheckpointTensors& ckpt, const std::string& name,
                          const std::vector<int64_t>& expected, bool transpose) {
  if (!ckpt.contains(name)) {
    throw BadInput(ckpt.root().string(), "tensor '" + name + "' is missing (expected shape " +
                                             base::shape_string(expected) + ")");
  }
  torch::Tensor t = ckpt.tensor(name);
  if (t.sizes() != at::IntArrayRef(expected)) {
    throw BadInput(ckpt.file_of(name).string(), "tensor '" + name + "' has shape " + base::shape_string(t.sizes()) +
                                                    ", the config implies " + base::shape_string(expected));
  }
  if (!t.is_floating_point()) {
    throw BadInput(ckpt.file_of(name).string(), "tensor '" + name + "' is not floating point");
  }
  torch::Tensor w = t.to(torch::kFloat32);
  if (transpose) w = w.t().contiguous();
  if (!base::all_finite(w)) {
    throw BadInput(ckpt.file_of(name).string(), "tensor '" + name + "' contains NaN or Inf");
  }
  if (!w.is_alias_of(t)) ckpt.release_pages(name);  // a copy: nobody reads the mapped bytes again
  return w;
}

namespace {

// A compressed-tensors checkpoint whose groups quantize input activations (W8A8, FP8_DYNAMIC):
// the slots they target fake-quantize their inputs, as the model was evaluated when compressed.
void attach_activation_schemes(Model& model, const HfConfig& config, const formats::CheckpointTensors& ckpt) {
  const auto it = config.raw.find("quantization_config");
  if (it == config.raw.end() || it->is_null()) return;
  const auto qc = formats::parse_quantization_config(*it, config.file.string() + ": quantization_config");
  for (auto& slot : model.slots()) {
    if (!slot.is_linear() && slot.role != TensorRole::LmHead) continue;  // "Linear" does not mean embeddings
    const auto* g = qc.group_for(slot.name);
    if (!g || !g->scheme.input_activations) continue;
    const auto& a = *g->scheme.input_activations;
    if (!a.dynamic && a.strategy != quant::Strategy::tensor) {
      throw BadInput(config.file.string(), "quantization_config." + g->name + " quantizes " + slot.name +
                                               "'s inputs with static scales per " + quant::to_string(a.strategy) +
                                               "; only per-tensor static scales are read");
    }
    slot.input_quant = a;
    if (!a.dynamic) slot.input_qparams = formats::read_input_qparams(ckpt, slot.name, a);
  }
}

}  // namespace

std::unique_ptr<Model> load_model(const std::filesystem::path& dir, const std::string& architecture) {
  if (dir.extension() == ".gguf" && std::filesystem::is_regular_file(dir)) {
    if (architecture != "auto" && architecture != "llama") {
      throw BadInput(dir.string(), "recipe asks for architecture '" + architecture +
                                       "' but only llama GGUF files can be loaded");
    }
    return load_gguf_model(dir);
  }
  HfConfig config = load_hf_config(dir);
  std::string arch = architecture == "auto" ? config.model_type : architecture;
  auto it = architectures().find(arch);
  if (it == architectures().end()) {
    std::string valid;
    for (const auto& n : architecture_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw BadInput(config.file.string(), "unsupported architecture '" + arch + "' (model_type); supported: " + valid);
  }
  if (architecture != "auto" && architecture != config.model_type) {
    throw BadInput(config.file.string(), "recipe asks for architecture '" + architecture +
                                             "' but config.json says model_type '" + config.model_type + "'");
  }
  auto ckpt = formats::CheckpointTensors::open(dir);
  auto model = it->second.load(config, ckpt);
  attach_activation_schemes(*model, config, ckpt);
  return model;
}

}  // namespace compressor::model
