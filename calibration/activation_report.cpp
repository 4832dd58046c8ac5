#include "calibration/activation_report.h"

#include <cstdio>
#include <string>

namespace compressor::calibration {

Requirements report_requirements(const std::vector<double>& percentiles) {
  Requirements r;
  r.channel_norms = true;
  r.abs_max = true;
  r.abs_percentiles = percentiles;
  return r;
}

namespace {

// "50", "99.9", "99.99": the fewest decimals that read back as the same double.
std::string percentile_key(double p) {
  char buf[48];
  for (int decimals = 0; decimals <= 17; ++decimals) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, p);
    if (std::stod(buf) == p) break;
  }
  return buf;
}

nlohmann::json spread(const torch::Tensor& v) {
  auto d = v.to(torch::kFloat64);
  return {{"min", d.min().item<double>()}, {"median", d.median().item<double>()}, {"max", d.max().item<double>()}};
}

}  // namespace

nlohmann::json activation_report(const model::Model& model, const std::vector<BlockStats>& blocks,
                                 const std::vector<double>& percentiles) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& b : blocks) {
    const auto& groups = model.input_groups(b.block);
    for (size_t gi = 0; gi < b.groups.size(); ++gi) {
      const auto& g = b.groups[gi];
      nlohmann::json linears = nlohmann::json::array();
      for (size_t s : groups[gi].slots) linears.push_back(model.slots()[s].name);
      const auto abs_max = g.abs_max.to(torch::kFloat64);
      const double top = abs_max.max().item<double>();
      const double median = abs_max.median().item<double>();
      const auto diag = g.hessian_diagonal();
      const auto dead = (abs_max <= kDeadChannelFraction * top).nonzero().reshape({-1});
      nlohmann::json dead_indices = nlohmann::json::array();
      for (int64_t i = 0; i < std::min<int64_t>(dead.numel(), 64); ++i) dead_indices.push_back(dead[i].item<int64_t>());
      nlohmann::json pct = nlohmann::json::object();
      const auto values = g.abs_percentiles();
      for (size_t p = 0; p < percentiles.size(); ++p) pct[percentile_key(percentiles[p])] = values[static_cast<int64_t>(p)].item<double>();
      layers.push_back({{"block", b.block},
                        {"group", groups[gi].name},
                        {"linears", linears},
                        {"rows", g.rows},
                        {"channels", abs_max.numel()},
                        {"abs_max", top},
                        {"abs_max_channel", abs_max.argmax().item<int64_t>()},
                        {"abs_percentiles", pct},
                        {"channel_abs_max", spread(abs_max)},
                        {"outlier_ratio", median > 0 ? top / median : 0.0},
                        {"channel_rms", spread((g.sum_squares / static_cast<double>(std::max<int64_t>(g.rows, 1))).sqrt())},
                        {"hessian", {{"trace", diag.sum().item<double>()},
                                     {"diag_min", diag.min().item<double>()},
                                     {"diag_max", diag.max().item<double>()}}},
                        {"dead_channels", dead.numel()},
                        {"dead_channel_indices", dead_indices}});
    }
  }
  return layers;
}

}  // namespace compressor::calibration
