// The `gptq` pass (llm-compressor's GPTQModifier): the scheme options of the `quantization` pass
// plus block_size, dampening_frac, actorder and static_groups. Data-aware: it runs inside the
// sequential driver with one Hessian per input group (q, k and v share theirs) and leaves each
// slot's weight as the dequantization of its codes, the codes on the slot for the artifact.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo gptq_pass_info();

}  // namespace compressor::passes
