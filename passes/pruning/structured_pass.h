// The `structured` recipe pass (passes/pruning/structured.h for the algorithm): removes a fraction
// of every block's attention heads and MLP neurons, physically. Each block is scored on its own
// calibration inputs inside the sequential driver, so later blocks are calibrated on the output of
// the blocks already made smaller. Every block loses the same number (config.json holds one head
// count and one MLP width), the heads as many from every key/value group.
#pragma once

#include "passes/registry.h"

namespace compressor::passes {

PassInfo structured_pass_info();

}  // namespace compressor::passes
