// Every built-in pass, in one place.
#include "passes/registry.h"
#include "passes/pruning/fisher_obs_pass.h"
#include "passes/pruning/magnitude.h"
#include "passes/pruning/sparsegpt_pass.h"
#include "passes/pruning/structured_pass.h"
#include "passes/pruning/wanda.h"
#include "passes/quantization/awq_pass.h"
#include "passes/quantization/gptq_pass.h"
#include "passes/quantization/rtn.h"
#include "passes/quantization/smoothquant.h"
#include "passes/training/distillation_pass.h"
#include "passes/training/gmp_pass.h"
#include "passes/training/qat_pass.h"

namespace compressor::passes {

void register_builtin_passes(PassRegistry& registry) {
  registry.add(passes::magnitude_pass_info());
  registry.add(passes::wanda_pass_info());
  registry.add(passes::sparsegpt_pass_info());
  registry.add(passes::structured_pass_info());
  registry.add(passes::fisher_obs_pass_info());
  registry.add(passes::quantization_pass_info());
  registry.add(passes::awq_pass_info());
  registry.add(passes::gptq_pass_info());
  registry.add(passes::smoothquant_pass_info());
  registry.add(passes::distillation_pass_info());
  registry.add(passes::qat_pass_info());
  registry.add(passes::gmp_pass_info());
}

}  // namespace compressor::passes
