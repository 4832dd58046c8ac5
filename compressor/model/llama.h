// Llama (Hugging Face `LlamaForCausalLM` names and layout): RMSNorm, rotary position embeddings
// (rotate_half layout), grouped-query attention, SwiGLU MLP. nn.Linear weights are [out, in] in the
// checkpoint and the slot alike. Scaled RoPE (`rope_scaling`) is not supported yet.
#pragma once

#include "compressor/model/architecture.h"
#include "formats/llama_config.h"

namespace compressor::model {

using formats::LlamaConfig;
using formats::parse_llama_config;
ArchitectureInfo llama_architecture();

class WeightSource;
// Builds the model with every tensor taken from `src` under HF names relative to src.prefix()
// (lm_head unprefixed); used by load/init above and by the GGUF loader (gguf_model.h).
std::unique_ptr<Model> build_llama(const HfConfig& config, WeightSource& src);

}  // namespace compressor::model
