#include "compressor/eval/runtime_agreement.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "compressor/base/error.h"
#include "compressor/base/sliding_windows.h"
#include "compressor/runtime/perplexity.h"

namespace compressor::eval {

namespace {

// −log softmax(row)[target] summed over rows, in float64.
double nll_sum(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto x = logits.to(torch::kFloat64);
  return (x.logsumexp(1) - x.gather(1, targets.unsqueeze(1)).squeeze(1)).sum().item<double>();
}

}  // namespace

EngineComparison compare_with_runtime(model::Model& torch_model, const runtime::Decoder& runtime_model,
                                      const std::vector<int32_t>& tokens, int64_t seq_len, int64_t stride,
                                      const std::function<void(int64_t, int64_t)>& progress) {
  if (torch_model.vocab_size() != runtime_model.config().vocab_size) {
    throw BadInput("validate", "the LibTorch model has " + std::to_string(torch_model.vocab_size()) +
                                   " tokens and the runtime's " + std::to_string(runtime_model.config().vocab_size));
  }
  const int64_t context = std::min(torch_model.max_positions(), runtime_model.config().max_positions);
  const auto windows = base::sliding_windows(static_cast<int64_t>(tokens.size()), seq_len, stride, context, "validate");
  const auto ids = torch::tensor(tokens, torch::kLong);

  torch::NoGradGuard no_grad;
  EngineComparison r;
  const auto total = static_cast<int64_t>(windows.size());
  for (int64_t w = 0; w < total; ++w) {
    const auto& win = windows[static_cast<size_t>(w)];
    const int64_t from = win.first - win.begin - 1, to = win.end - win.begin;  // hidden rows scored
    const auto targets = ids.slice(0, win.first, win.end + 1);

    const auto hidden = torch_model.hidden_states(model::Batch{ids.slice(0, win.begin, win.end).unsqueeze(0), {}, {}}, nullptr);
    const auto expected = torch_model.head(hidden, torch::arange(from, to, torch::kLong)).to(torch::kFloat32).contiguous();
    runtime::Matrix got_m = runtime::scored_logits(runtime_model, tokens, win);
    const auto got = torch::from_blob(got_m.data.data(), {got_m.rows, got_m.cols}, torch::kFloat32);
    if (got.size(0) != expected.size(0)) throw InternalError("validate", "the engines scored different rows");

    const auto diff = (got.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs();
    r.logits.max_abs_diff = std::max(r.logits.max_abs_diff, diff.max().item<double>());
    r.logits.sum_abs_diff += diff.sum().item<double>();
    r.logits.max_abs_logit = std::max(r.logits.max_abs_logit, expected.abs().max().item<double>());
    r.logits.values += diff.numel();
    r.logits.rows += got.size(0);
    r.logits.top1_same += got.argmax(1).eq(expected.argmax(1)).sum().item<int64_t>();

    r.torch.nll_sum += nll_sum(expected, targets);
    r.runtime.nll_sum += nll_sum(got, targets);
    r.torch.tokens += got.size(0);
    r.runtime.tokens += got.size(0);
    if (progress) progress(w + 1, total);
  }
  r.torch.bytes = r.runtime.bytes = static_cast<int64_t>(tokens.size());
  return r;
}


AgreementTolerance agreement_tolerance(const runtime::Decoder& model) {
  bool activations = false, quantized = false;
  for (const runtime::LinearWeight* w : model.linear_weights()) {
    quantized = quantized || w->quantized();
    activations = activations || w->input_args.has_value();
  }
  AgreementTolerance t;
  if (activations) {
    t.max_ppl_gap = 0.02;
    t.min_top1 = 0.85;
    t.basis = "quantized activations: codes may round the other way, no logit bound";
  } else {
    t.max_abs_diff = 1e-4;
    t.max_ppl_gap = 1e-3;
    t.min_top1 = 0.995;
    t.basis = quantized ? "weight-only quantization: float32 summation order only" : "float weights: float32 summation order only";
  }
  return t;
}

double perplexity_gap(const EngineComparison& c) { return c.runtime.perplexity() / c.torch.perplexity() - 1; }

bool within_tolerance(const EngineComparison& c, const AgreementTolerance& t) {
  const bool logits_ok = t.max_abs_diff == 0 || c.logits.max_abs_diff <= t.max_abs_diff * std::max(c.logits.max_abs_logit, 1.0);
  return logits_ok && std::abs(perplexity_gap(c)) <= t.max_ppl_gap && c.logits.top1_agreement() >= t.min_top1;
}

}  // namespace compressor::eval
