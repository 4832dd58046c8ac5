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

// The greedy token of row r of logits.
int32_t argmax(const Matrix& logits, int64_t r = 0) {
  const float* row = logits.row(r);
  return static_cast<int32_t>(std::max_element(row, row + logits.cols) - row);
}

ThroughputRun run_once(const Decoder& model, const ThroughputOptions& o, OpProfile* prefill_ops, OpProfile* decode_ops) {
  const auto n = static_cast<int64_t>(o.prompt.size());
  const auto b = static_cast<size_t>(o.batch);
  std::vector<Decoder::State> states;
  for (size_t i = 0; i < b; ++i) states.push_back(model.new_state(n + o.decode_tokens));
  std::vector<int32_t> tokens(b);
  std::vector<Decoder::Segment> segments;
  for (size_t i = 0; i < b; ++i) segments.push_back({o.prompt.data(), n, &states[i]});
  ThroughputRun r;
  states[0].profile = prefill_ops;
  auto start = Clock::now();
  {
    const Matrix logits = model.last_logits(model.forward(segments), segments, prefill_ops);
    for (size_t i = 0; i < b; ++i) tokens[i] = argmax(logits, static_cast<int64_t>(i));
  }
  r.prefill_seconds = seconds_since(start);
  states[0].profile = decode_ops;
  for (size_t i = 0; i < b; ++i) segments[i] = {&tokens[i], 1, &states[i]};
  start = Clock::now();
  for (int64_t step = 0; step < o.decode_tokens; ++step) {
    const Matrix logits = model.logits(model.forward(segments), decode_ops);
    for (size_t i = 0; i < b; ++i) tokens[i] = argmax(logits, static_cast<int64_t>(i));
  }
  r.decode_seconds = seconds_since(start);
  return r;
}

int64_t linear_bytes(const LinearWeight& w) {
  int64_t codes = 0;
  switch (w.storage) {
    case WeightStorage::dense: codes = w.rows * w.cols * 4; break;
    case WeightStorage::dense16: codes = w.rows * w.cols * 2; break;
    case WeightStorage::packed: codes = w.rows * quant::packed_words(w.cols, w.args.num_bits) * 4; break;
    case WeightStorage::packed_2of4: codes = w.rows * ((w.cols + 127) / 128) * 48; break;  // kernels/gemv_2of4.h
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
  if (o.batch < 1) throw BadInput("--batch", "must be >= 1, got " + std::to_string(o.batch));
  if (n + o.decode_tokens > context) {
    throw BadInput("--prompt-tokens", std::to_string(n) + " prompt tokens + " + std::to_string(o.decode_tokens) +
                                          " decoded pass the model's context of " + std::to_string(context));
  }
  Throughput t;
  t.prompt_tokens = n;
  t.decode_tokens = o.decode_tokens;
  t.batch = o.batch;
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
