// The runtime checked against the LibTorch model: both run the same sliding windows of a text
// (base/sliding_windows.h) and every logit of every scored row is compared, while each engine's
// negative log-likelihood is summed, so one pass gives the agreement and both perplexities.
// The LibTorch side is the artifact's fake-quant model (weights dequantized, dynamic activation
// schemes fake-quantized), i.e. what the compression measured and what vLLM computes.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "compressor/eval/perplexity.h"
#include "compressor/model/model.h"
#include "compressor/runtime/decoder.h"

namespace compressor::eval {

struct LogitAgreement {
  double max_abs_diff = 0;   // over every logit of every scored row
  double sum_abs_diff = 0;
  double max_abs_logit = 0;  // of the LibTorch logits: the scale the differences are read against
  int64_t values = 0;        // logits compared
  int64_t rows = 0;          // scored rows
  int64_t top1_same = 0;     // rows whose most likely token is the same in both engines
  double mean_abs_diff() const { return values ? sum_abs_diff / static_cast<double>(values) : 0; }
  double top1_agreement() const { return rows ? static_cast<double>(top1_same) / static_cast<double>(rows) : 1; }
};

struct EngineComparison {
  PerplexityResult torch;    // the LibTorch model
  PerplexityResult runtime;  // the artifact executed by the runtime
  LogitAgreement logits;
};

// BadInput when the two models disagree on the vocabulary or the windows do not fit the context.
// `progress(done, total)` after each window.
EngineComparison compare_with_runtime(model::Model& torch_model, const runtime::Decoder& runtime_model,
                                      const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride,
                                      const std::function<void(int64_t, int64_t)>& progress = {});


// How closely the runtime must reproduce the LibTorch model, by what the artifact makes it compute.
// Both engines dequantize weights with the same scalar references, so weight-only encodings differ
// only by float32 summation order: every logit is bounded. A dynamically quantized activation
// (W8A8, FP8_DYNAMIC) is a step function of its input: where summation order moves a value across
// a rounding boundary its code changes by one step, and with outlier channels (SmolLM2) a step is
// large and the change travels through the later layers. There no logit bound holds (the runtime's
// own reference and BLAS kernels differ as much from each other as from LibTorch), so the check is
// on the perplexity and the most likely tokens.
struct AgreementTolerance {
  double max_abs_diff = 0;    // |runtime - torch| over all logits, as a fraction of max |logit|; 0: not checked
  double max_ppl_gap = 0;     // |runtime / torch perplexity - 1|
  double min_top1 = 0;        // fraction of scored rows whose most likely token must agree
  std::string basis;          // which encodings set it, for the report
};
AgreementTolerance agreement_tolerance(const runtime::Decoder& model);
bool within_tolerance(const EngineComparison& c, const AgreementTolerance& t);
double perplexity_gap(const EngineComparison& c);  // runtime / torch perplexity - 1

}  // namespace compressor::eval
