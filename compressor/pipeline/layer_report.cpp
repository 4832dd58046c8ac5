#include "compressor/pipeline/layer_report.h"

#include <algorithm>

#include "passes/pruning/mask.h"

namespace compressor::pipeline {

int64_t error_sample_stride(int64_t real_rows) { return std::max<int64_t>(1, real_rows / kErrorRows); }

LayerSnapshot::LayerSnapshot(const std::vector<model::LinearSlot*>& slots, const calibration::BlockStats& stats) {
  for (auto* s : slots) {
    const auto& g = stats.of(*s);
    entries_.push_back({s, s->weight.detach().clone(), g.row_sample.defined() ? g.row_sample.clone() : torch::Tensor()});
  }
}

void LayerSnapshot::record(const std::string& stage, const std::string& pass, const calibration::BlockStats& stats,
                           std::vector<LayerRecord>& out) const {
  torch::NoGradGuard no_grad;
  for (const auto& e : entries_) {
    // Sparsity counts against the weight before the pass, so rows or columns a structured pass
    // removed count as pruned.
    const auto& w = e.slot->weight;
    const double kept = static_cast<double>(w.count_nonzero().item<int64_t>());
    LayerRecord r{stage, pass, e.slot->name, 1.0 - kept / static_cast<double>(e.weight.numel()), std::nullopt, 0};
    const auto& after = stats.of(*e.slot).row_sample;
    // A linear whose outputs were removed has no output error of its own: what it lost, the linear
    // reading it measures (its inputs shrank with it).
    const bool same_outputs = w.size(0) == e.weight.size(0);
    if (e.inputs.defined() && after.defined() && e.inputs.size(0) > 0 && same_outputs) {
      // Float64 sums: the error of a light compression is a small difference of large outputs.
      const auto y = e.inputs.mm(e.weight.t()).to(torch::kFloat64);
      const auto y_hat = after.mm(e.slot->weight.detach().t()).to(torch::kFloat64);
      const double energy = y.pow(2).sum().item<double>();
      if (energy > 0) r.reconstruction_error = (y - y_hat).pow(2).sum().item<double>() / energy;
      r.error_rows = e.inputs.size(0);
    }
    out.push_back(std::move(r));
  }
}

void record_sparsity(const std::string& stage, const std::string& pass, const std::vector<model::LinearSlot*>& slots,
                     std::vector<LayerRecord>& out) {
  for (auto* s : slots) out.push_back({stage, pass, s->name, passes::zero_fraction(s->weight), std::nullopt, 0});
}

nlohmann::json layers_json(const std::vector<LayerRecord>& records) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : records) {
    nlohmann::json e{{"stage", r.stage}, {"pass", r.pass}, {"sparsity", r.sparsity}};
    if (r.reconstruction_error) {
      e["reconstruction_error"] = *r.reconstruction_error;
      e["error_rows"] = r.error_rows;
    }
    j[r.slot].push_back(std::move(e));
  }
  return j;
}

}  // namespace compressor::pipeline
