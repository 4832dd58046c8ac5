// `qat`: quantization-aware training of the linears it selects, which an earlier stage quantized
// (quantization, gptq, awq; integer schemes). It runs inside the same stage's training pass
// (distillation): the latent weights train through fake quantization on the PTQ grid with the
// straight-through estimator (and, with learn_scales, LSQ scales), then freeze into the same
// packed codes PTQ writes (distill/qat.h).
#pragma once

#include "passes/registry.h"
#include "passes/training/training_spec.h"

namespace compressor::passes {

PassInfo qat_pass_info();

}  // namespace compressor::passes
