#include "compressor/runtime/throughput.h"

#include <algorithm>
#include <chrono>

#include "compressor/base/error.h"
#include "compressor/quant/packing.h"

namespace compressor::runtime {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The greedy token of one row of logits.
int32_t argmax(const Matrix& logits) {
  const float* row = logits.row(0);
  return static_cast<int32_t>(std::max_element(row, row + logits.cols) - row);
}

ThroughputRun run_once(const Decoder& model, const ThroughputOptions& o, OpProfile* prefill_ops, OpProfile* decode_ops) {
  const auto n = static_cast<int64_t>(o.prompt.size());
  auto state = model.new_state(n + o.decode_tokens);
  ThroughputRun r;
  state.profile = prefill_ops;
  auto start = Clock::now();
  int32_t token = argmax(model.last_logits(model.forward(o.prompt.data(), n, state), prefill_ops));
  r.prefill_seconds = seconds_since(start);
  state.profile = decode_ops;
  start = Clock::now();
  for (int64_t i = 0; i < o.decode_tokens; ++i) {
    token = argmax(model.logits(model.forward(&token, 1, state), decode_ops));
  }
  r.decode_seconds = seconds_since(start);
  return r;
}

int64_t linear_bytes(const LinearWeight& w) {
  int64_t codes = 0;
  switch (w.storage) {
    case WeightStorage::dense: codes = w.rows * w.cols * 4; break;
    case WeightStorage::packed: codes = w.rows * quant::packed_words(w.cols, w.args.num_bits) * 4; break;
    case WeightStorage::int_bytes:
    case WeightStorage::fp8_bytes: codes = w.rows * w.cols; break;
  }
  return codes + 4 * static_cast<int64_t>(w.scale.size() + w.zero_point.size() + w.bias.size());
}

int64_t vector_bytes(const FloatVector& v) { return 4 * static_cast<int64_t>(v.size()); }

}  // namespace

double Throughput::median_prefill_seconds() const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.prefill_seconds);
  return median(v);
}

double Throughput::median_decode_seconds() const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.decode_seconds);
  return median(v);
}

Throughput measure_throughput(const Decoder& model, const ThroughputOptions& o) {
  const auto n = static_cast<int64_t>(o.prompt.size());
  const int64_t context = model.config().max_positions;
  if (n < 1) throw BadInput("--prompt-tokens", "the prompt is empty");
  if (o.decode_tokens < 1) throw BadInput("--decode-tokens", "must be >= 1, got " + std::to_string(o.decode_tokens));
  if (o.runs < 1) throw BadInput("--runs", "must be >= 1, got " + std::to_string(o.runs));
  if (n + o.decode_tokens > context) {
    throw BadInput("--prompt-tokens", std::to_string(n) + " prompt tokens + " + std::to_string(o.decode_tokens) +
                                          " decoded pass the model's context of " + std::to_string(context));
  }
  Throughput t;
  t.prompt_tokens = n;
  t.decode_tokens = o.decode_tokens;
  run_once(model, o, nullptr, nullptr);  // warm-up: maps the weights' pages, fills caches
  for (int i = 0; i < o.runs; ++i) t.runs.push_back(run_once(model, o, &t.prefill_ops, &t.decode_ops));
  return t;
}

int64_t weight_bytes_per_token(const Decoder& model) {
  const auto& c = model.config();
  int64_t bytes = 4 * c.hidden_size;  // the token's embedding row, as float32 after dequantization
  for (const auto& l : model.layers()) {
    for (const auto* w : {&l.qkv, &l.q, &l.k, &l.v, &l.gate}) {
      if (*w) bytes += linear_bytes(**w);
    }
    bytes += linear_bytes(l.out) + linear_bytes(l.up) + linear_bytes(l.down);
    for (const auto* v : {&l.norm1_weight, &l.norm1_bias, &l.norm2_weight, &l.norm2_bias}) bytes += vector_bytes(*v);
  }
  bytes += vector_bytes(model.final_norm_weight()) + vector_bytes(model.final_norm_bias());
  bytes += linear_bytes(model.lm_head() ? *model.lm_head() : model.embedding());
  return bytes;
}

int64_t kv_bytes_per_position(const Decoder& model) {
  const auto& c = model.config();
  return 2 * c.layers * c.kv_heads * c.head_dim * 4;
}

int64_t logical_parameters(const Decoder& model) {
  int64_t n = 0;
  for (const LinearWeight* w : model.linear_weights()) n += w->rows * w->cols + static_cast<int64_t>(w->bias.size());
  for (const auto& l : model.layers()) {
    for (const auto* v : {&l.norm1_weight, &l.norm1_bias, &l.norm2_weight, &l.norm2_bias}) n += static_cast<int64_t>(v->size());
  }
  n += static_cast<int64_t>(model.final_norm_weight().size() + model.final_norm_bias().size() + model.positions().size());
  return n;
}

}  // namespace compressor::runtime
