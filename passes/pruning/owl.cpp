#include "passes/pruning/owl.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"

namespace compressor::passes {

double outlier_ratio(const std::vector<torch::Tensor>& weights, const std::vector<torch::Tensor>& norms, double m) {
  torch::NoGradGuard no_grad;
  // Two passes over the block's scores, one linear at a time: the mean, then the count above
  // m · mean; no concatenation of the block's scores.
  double sum = 0;
  int64_t n = 0;
  auto scores = [&](size_t k) {
    return weights[k].detach().abs().to(torch::kFloat64) * norms[k].to(torch::kFloat64).unsqueeze(0);
  };
  for (size_t k = 0; k < weights.size(); ++k) {
    sum += scores(k).sum().item<double>();
    n += weights[k].numel();
  }
  if (n == 0) return 0;
  const double threshold = m * sum / static_cast<double>(n);
  int64_t above = 0;
  for (size_t k = 0; k < weights.size(); ++k) above += (scores(k) > threshold).sum().item<int64_t>();
  return static_cast<double>(above) / static_cast<double>(n);
}

std::vector<double> owl_sparsities(const std::vector<double>& ratios, double target, double lambda) {
  std::vector<double> out(ratios.size(), target);
  if (ratios.empty()) return out;
  const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  if (*hi - *lo <= 0) return out;
  std::vector<double> scaled(ratios.size());
  for (size_t l = 0; l < ratios.size(); ++l) scaled[l] = (ratios[l] - *lo) / (*hi - *lo) * 2 * lambda;
  const double mean = std::accumulate(scaled.begin(), scaled.end(), 0.0) / static_cast<double>(scaled.size());
  for (size_t l = 0; l < ratios.size(); ++l) out[l] = target + mean - scaled[l];
  return out;
}

LayerSparsity::LayerSparsity(const OptionValues& o, std::string pass)
    : pass_(std::move(pass)),
      where_(pass_),
      target_(o.get_float("sparsity")),
      owl_(o.get_string("sparsity_profile") == "owl"),
      m_(o.get_float("owl_m")),
      lambda_(o.get_float("owl_lambda")) {}

void LayerSparsity::check(bool unstructured, const std::string& where) const {
  where_ = where;
  if (owl_ && !unstructured) {
    throw BadInput(where + ".sparsity_profile", "owl sets a sparsity per block, but an N:M mask_structure fixes it; "
                                                "use owl with mask_structure \"0:0\"");
  }
}

calibration::Requirements LayerSparsity::dense_requirements() const {
  calibration::Requirements r;
  r.channel_norms = owl_;
  return r;
}

void LayerSparsity::prepare(const model::Model& model, const std::vector<model::LinearSlot*>& slots,
                            const std::vector<calibration::BlockStats>& dense) {
  per_block_.assign(static_cast<size_t>(model.num_blocks()), std::nullopt);
  if (!owl_) return;
  std::vector<int> blocks;
  std::vector<double> ratios;
  for (int b = 0; b < model.num_blocks(); ++b) {
    std::vector<torch::Tensor> weights, norms;
    for (auto* s : slots) {
      if (s->block != b) continue;
      weights.push_back(s->weight);
      norms.push_back(dense.at(static_cast<size_t>(b)).of(*s).channel_norms());
    }
    if (weights.empty()) continue;
    blocks.push_back(b);
    ratios.push_back(outlier_ratio(weights, norms, m_));
  }
  const auto sparsities = owl_sparsities(ratios, target_, lambda_);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const double s = sparsities[i];
    if (!(s >= 0 && s < 1)) {
      throw BadInput(where_ + ".owl_lambda", "owl_lambda " + std::to_string(lambda_) + " with sparsity " +
                                                std::to_string(target_) + " gives block " + std::to_string(blocks[i]) +
                                                " a sparsity of " + std::to_string(s) + ", outside [0, 1); lower owl_lambda");
    }
    per_block_[static_cast<size_t>(blocks[i])] = s;
    spdlog::info("{}: OWL block {}: outlier ratio {:.4f}% -> sparsity {:.4f}", pass_, blocks[i], 100 * ratios[i], s);
  }
}

double LayerSparsity::at(int block) const {
  if (block >= 0 && static_cast<size_t>(block) < per_block_.size() && per_block_[static_cast<size_t>(block)]) {
    return *per_block_[static_cast<size_t>(block)];
  }
  if (owl_) throw InternalError(pass_, "OWL's sparsity of block " + std::to_string(block) + " was not prepared");
  return target_;
}

std::vector<OptionSpec> LayerSparsity::options() {
  return {
      choice_option("sparsity_profile", "uniform: every layer at `sparsity`; owl: per block from its share of "
                    "activation outliers (OWL), the mean still `sparsity` (unstructured only)",
                    {"uniform", "owl"}, std::string("uniform")),
      float_option("owl_m", "OWL: a score |W|·‖X‖ above owl_m × its block's mean is an outlier", 5.0, 0.0, 1e9, false),
      float_option("owl_lambda", "OWL: block sparsities span at most 2 × owl_lambda around `sparsity`", 0.08, 0.0, 0.5),
  };
}

}  // namespace compressor::passes
