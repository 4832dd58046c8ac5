// Every built-in pass, in one place.
#include "compressor/pipeline/registry.h"
#include "passes/pruning/magnitude.h"
#include "passes/pruning/nm.h"

namespace compressor::pipeline {

void register_builtin_passes(PassRegistry& registry) {
  registry.add(passes::magnitude_pass_info());
  registry.add(passes::nm_pass_info());
}

}  // namespace compressor::pipeline
