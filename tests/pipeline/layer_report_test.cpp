// The manifest's per-layer records: the relative output error of a compressed layer on the sampled
// calibration rows, against its definition in float64, zero for a fold that keeps the function,
// and the JSON layout.
#include <catch2/catch.hpp>

#include "compressor/pipeline/layer_report.h"

using namespace compressor;

namespace {

struct OneSlot {
  model::LinearSlot slot;
  calibration::BlockStats stats;
  OneSlot(const torch::Tensor& w, const torch::Tensor& rows) {
    slot.name = "model.layers.0.mlp.up_proj";
    slot.weight = w.clone();
    stats.groups.resize(1);
    stats.groups[0].row_sample = rows.clone();
    stats.group_of[&slot] = 0;
  }
  std::vector<model::LinearSlot*> slots() { return {&slot}; }
};

}  // namespace

TEST_CASE("layer report: the reconstruction error is |WX - W'X|^2 / |WX|^2 on the sampled rows", "[layer-report]") {
  torch::manual_seed(3);
  const auto w = torch::randn({6, 10}), x = torch::randn({40, 10});
  OneSlot one(w, x);
  const pipeline::LayerSnapshot before(one.slots(), one.stats);
  auto pruned = w.clone();
  pruned.narrow(1, 0, 5).zero_();
  one.slot.set_weight(pruned);
  std::vector<pipeline::LayerRecord> records;
  before.record("prune", "sparsegpt", one.stats, records);
  REQUIRE(records.size() == 1);
  const auto x64 = x.to(torch::kFloat64), w64 = w.to(torch::kFloat64), p64 = pruned.to(torch::kFloat64);
  const double want = (x64.mm((w64 - p64).t())).pow(2).sum().item<double>() / x64.mm(w64.t()).pow(2).sum().item<double>();
  REQUIRE(records[0].reconstruction_error);
  CHECK(*records[0].reconstruction_error == Approx(want).epsilon(1e-5));
  CHECK(records[0].sparsity == 0.5);
  CHECK(records[0].error_rows == 40);

  const auto j = pipeline::layers_json(records);
  const auto& e = j.at("model.layers.0.mlp.up_proj").at(0);
  CHECK(e.at("stage") == "prune");
  CHECK(e.at("pass") == "sparsegpt");
  CHECK(e.at("sparsity").get<double>() == 0.5);
  CHECK(e.at("error_rows").get<int64_t>() == 40);
}

TEST_CASE("layer report: a fold that scales inputs down and weights up has no error", "[layer-report]") {
  torch::manual_seed(4);
  const auto w = torch::randn({5, 8}), x = torch::randn({32, 8});
  OneSlot one(w, x);
  const pipeline::LayerSnapshot before(one.slots(), one.stats);
  const auto s = torch::rand({8}) + 0.5;
  one.slot.set_weight(w * s);  // W · diag(s)
  one.stats.groups[0].scale_inputs(s);  // x / s
  std::vector<pipeline::LayerRecord> records;
  before.record("quantize", "awq", one.stats, records);
  REQUIRE(records[0].reconstruction_error);
  CHECK(*records[0].reconstruction_error < 1e-12);
}

TEST_CASE("layer report: a data-free pass records its sparsity and no error", "[layer-report]") {
  model::LinearSlot s;
  s.name = "transformer.h.0.mlp.c_fc";
  s.weight = torch::tensor({{0.f, 1.f}, {0.f, 0.f}});
  std::vector<pipeline::LayerRecord> records;
  pipeline::record_sparsity("prune", "magnitude", {&s}, records);
  CHECK(records[0].sparsity == 0.75);
  CHECK_FALSE(records[0].reconstruction_error);
  const auto j = pipeline::layers_json(records);
  CHECK_FALSE(j.at("transformer.h.0.mlp.c_fc").at(0).contains("reconstruction_error"));
  CHECK(pipeline::error_sample_stride(65536) == 64);
  CHECK(pipeline::error_sample_stride(100) == 1);
}
