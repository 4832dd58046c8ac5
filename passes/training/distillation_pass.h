// `distillation`: trains the selected linears of the compressed model (the student) towards the
// uncompressed model the session kept (the teacher), on a text the recipe names, with
// alpha · CE + (1 − alpha) · T² · KL and optionally a hidden-state loss. Pruned weights stay
// pruned (masks are re-applied after every optimizer step). The pipeline runs it
// (Pass::training()); the trainer and losses are in distill/.
#pragma once

#include "passes/registry.h"
#include "passes/training/training_spec.h"

namespace compressor::passes {

PassInfo distillation_pass_info();

}  // namespace compressor::passes
