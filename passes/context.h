// What a pass may use besides the model and its slots. It holds no recipe types: the pipeline
// fills it from the Plan.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "calibration/loss_source.h"

namespace compressor::passes {

struct Context {
  uint64_t seed = 0;
  // Progress sink (label, done, total); empty when nobody draws it.
  std::function<void(const std::string&, int64_t, int64_t)> progress;
  // The loss a pass asked for with Pass::loss_request(), set by the pipeline while that pass runs.
  const calibration::LossSource* loss = nullptr;
};

}  // namespace compressor::passes
