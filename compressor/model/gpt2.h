// GPT-2 (Hugging Face `GPT2LMHeadModel` names and layout). Conv1D weights are stored [in, out] in
// the checkpoint and transposed to [out, in] slots on load, back on save.
#pragma once

#include "compressor/model/architecture.h"
#include "formats/gpt2_config.h"

namespace compressor::model {

using formats::Gpt2Config;
using formats::parse_gpt2_config;
ArchitectureInfo gpt2_architecture();

}  // namespace compressor::model
