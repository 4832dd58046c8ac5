// Base of the passes the stage's trainer runs (distillation, qat, gmp): they describe the
// training (Pass::training(), qat(), gmp()) and the pipeline runs distill::Trainer, since passes
// sit beside the trainer, not above it. Their apply() is never called.
#pragma once

#include <string>

#include "compressor/base/error.h"
#include "passes/pass.h"

namespace compressor::passes {

class TrainerPass : public Pass {
 public:
  void apply(model::Model&, const std::vector<model::LinearSlot*>&, Context&) override {
    throw InternalError(std::string(name()), "runs inside its stage's training, not through apply()");
  }
};

}  // namespace compressor::passes
