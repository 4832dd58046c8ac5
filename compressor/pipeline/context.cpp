#include "compressor/pipeline/context.h"

#include "calibration/dataset.h"
#include "compressor/error.h"

namespace compressor::pipeline {

const torch::Tensor& Context::calibration_windows(const std::string& requested_by) {
  if (calibration_.defined()) return calibration_;
  const auto& c = plan_.calibration;
  if (!c.enabled) {
    throw BadInput(plan_.source_file, requested_by + " needs calibration data, but the recipe has no 'calibration' block");
  }
  if (!tokenizer_) throw InternalError("calibration", "no tokenizer");
  auto tokens = calibration::load_text_tokens(c.source, *tokenizer_, 0, c.where.str() + " calibration.source");
  calibration_ = calibration::random_windows(tokens, c.samples, c.seq_len, c.seed);
  return calibration_;
}

}  // namespace compressor::pipeline
