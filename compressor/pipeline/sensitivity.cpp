#include "compressor/pipeline/sensitivity.h"

#include <cmath>
#include <regex>

#include "compressor/base/error.h"
#include "compressor/quant/encoding.h"

namespace compressor::pipeline {

namespace {

constexpr const char* kForms =
    "wN (N-bit int weights per output channel), wNgG (groups of G columns; a trailing 'a' for asymmetric: w4g64a), "
    "e4m3 (FP8 weights per channel) or a preset (W8A16, W4A16, W4A16_ASYM, W8A8, FP8_DYNAMIC, ...)";

// Windows per forward: [8, 512, hidden] states and the MLP's intermediate stay near 30 MB for
// SmolLM2 while the GEMMs keep full speed.
constexpr int64_t kWindowsPerChunk = 8;
// Head rows per logits block: [256, vocab] in float64 (100 MB for a 49152-token vocabulary).
constexpr int64_t kHeadRows = 256;

struct Chunk {
  torch::Tensor hidden;   // [w, T-1, D]: the states entering the current block
  torch::Tensor targets;  // [w·(T-1)] int64
  model::BlockInputs inputs;
};

// Σ -log p(target) over a chunk whose states have passed every block.
double chunk_nll(const model::Model& model, const torch::Tensor& hidden, const torch::Tensor& targets) {
  const int64_t rows = targets.size(0);
  double nll = 0;
  for (int64_t c = 0; c < rows; c += kHeadRows) {
    const int64_t e = std::min(c + kHeadRows, rows);
    const auto x = model.head(hidden, torch::arange(c, e, torch::kLong)).to(torch::kFloat64);
    nll += (x.logsumexp(1) - x.gather(1, targets.slice(0, c, e).unsqueeze(1)).squeeze(1)).sum().item<double>();
  }
  return nll;
}

// Σ nll with the states run from block `from` to the end.
double nll_from(const model::Model& model, const std::vector<Chunk>& chunks, int from) {
  double nll = 0;
  for (const auto& ch : chunks) {
    auto x = ch.hidden;
    for (int b = from; b < model.num_blocks(); ++b) x = model.run_block(b, x, ch.inputs);
    nll += chunk_nll(model, x, ch.targets);
  }
  return nll;
}

}  // namespace

SensitivityCandidate parse_candidate(const std::string& text, quant::ScaleDtype scale_dtype, const std::string& where) {
  SensitivityCandidate c;
  c.name = text;
  c.quant.scale_dtype = scale_dtype;
  quant::QuantScheme scheme;
  static const std::regex kShort("w([2-8])(?:g([0-9]+))?(a?)");
  std::smatch m;
  if (std::regex_match(text, m, kShort)) {
    quant::QuantArgs a;
    a.num_bits = std::stoi(m[1].str());
    a.symmetric = m[3].str().empty();
    if (m[2].matched) {
      a.strategy = quant::Strategy::group;
      a.group_size = std::stoll(m[2].str());
    } else {
      a.strategy = quant::Strategy::channel;
    }
    scheme.weights = a;
  } else if (text == "e4m3") {
    quant::QuantArgs a;
    a.num_bits = 8;
    a.type = quant::QuantType::floating;
    a.strategy = quant::Strategy::channel;
    scheme.weights = a;
  } else if (quant::is_preset(text)) {
    scheme = quant::preset_scheme(text, {"Linear"}, where);
    if (!scheme.weights) throw BadInput(where, "preset " + text + " quantizes no weights");
    if (scheme.input_activations && !scheme.input_activations->dynamic) {
      throw BadInput(where, "preset " + text + " has static activation scales, which need a calibration sweep; "
                            "measure the weights with a dynamic or weight-only scheme (FP8_DYNAMIC, W8A16)");
    }
  } else {
    throw BadInput(where, "unknown candidate '" + text + "'; give " + kForms);
  }
  scheme.targets = {"Linear"};
  quant::check(scheme, where + " (" + text + ")");
  c.quant.args = *scheme.weights;
  c.quant.format = quant::format_of(scheme);
  c.quant.input_activations = scheme.input_activations;
  return c;
}

SensitivityReport measure_sensitivity(model::Model& model, const std::vector<model::LinearSlot*>& layers,
                                      const std::vector<SensitivityCandidate>& candidates, const torch::Tensor& windows,
                                      const std::function<void(int64_t, int64_t)>& progress) {
  torch::NoGradGuard no_grad;
  if (!model.is_causal_lm()) {
    throw BadInput("sensitivity", "per-layer perplexity needs a causal language model, got " + model.architecture());
  }
  if (windows.dim() != 2 || windows.size(1) < 2) throw InternalError("sensitivity", "windows must be [W, T >= 2]");
  SensitivityReport report;
  for (const auto& c : candidates) report.candidates.push_back(c.name);

  // Every layer's cost first: a group that does not divide a width fails before minutes of work.
  for (auto* s : layers) {
    LayerSensitivity l;
    l.name = s->name;
    l.weights = s->weight.numel();
    for (const auto& c : candidates) {
      const auto layout = quant::weight_layout(c.quant.args, c.quant.format, s->out_features(), s->in_features(), s->name);
      l.bits_per_weight.push_back(quant::bits_per_weight(layout, c.quant.args, c.quant.scale_dtype));
    }
    report.layers.push_back(std::move(l));
  }

  std::vector<Chunk> chunks;
  for (int64_t w = 0; w < windows.size(0); w += kWindowsPerChunk) {
    const auto ids = windows.slice(0, w, std::min(w + kWindowsPerChunk, windows.size(0)));
    Chunk ch;
    ch.hidden = model.embed(model::Batch{ids.slice(1, 0, ids.size(1) - 1).contiguous(), {}, {}}, &ch.inputs);
    ch.targets = ids.slice(1, 1).reshape({-1}).contiguous();
    chunks.push_back(std::move(ch));
  }
  report.tokens = windows.size(0) * (windows.size(1) - 1);
  const double tokens = static_cast<double>(report.tokens);
  report.perplexity = std::exp(nll_from(model, chunks, 0) / tokens);

  const int64_t total = static_cast<int64_t>(layers.size() * candidates.size());
  int64_t done = 0;
  auto measure_block = [&](int block) {
    for (size_t li = 0; li < layers.size(); ++li) {
      auto* s = layers[li];
      if (s->block != block) continue;
      const auto original = s->weight.detach().clone();
      const auto original_input_quant = s->input_quant;
      for (const auto& c : candidates) {
        s->weight.copy_(formats::dequantize(passes::quantize_weight(original, c.quant, s->name)));
        if (c.quant.input_activations) s->input_quant = c.quant.input_activations;
        const int from = block < 0 ? model.num_blocks() : block;
        report.layers[li].perplexity.push_back(std::exp(nll_from(model, chunks, from) / tokens));
        s->weight.copy_(original);
        s->input_quant = original_input_quant;
        if (progress) progress(++done, total);
      }
    }
  };
  for (int b = 0; b < model.num_blocks(); ++b) {
    measure_block(b);
    for (auto& ch : chunks) ch.hidden = model.run_block(b, ch.hidden, ch.inputs);
  }
  measure_block(-1);  // an untied lm_head: the head alone on the final states
  for (size_t li = 0; li < layers.size(); ++li) {
    if (report.layers[li].perplexity.size() != candidates.size()) {
      throw InternalError(layers[li]->name, "sensitivity: layer outside every block and not the head");
    }
  }
  return report;
}

}  // namespace compressor::pipeline
