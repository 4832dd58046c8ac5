#include "passes/pass.h"

#include "compressor/base/error.h"

namespace compressor::passes {

void Pass::apply(model::Model&, const std::vector<model::LinearSlot*>&, Context&) {
  throw InternalError(std::string(name()), "a data-aware pass runs per block, inside the sequential driver");
}

void Pass::compress_block(model::BlockView&, const std::vector<model::LinearSlot*>&, calibration::BlockStats&,
                          Context&) {
  throw InternalError(std::string(name()), "a data-free pass runs on the whole model, not per block");
}

}  // namespace compressor::passes
