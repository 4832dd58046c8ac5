// Wanda against a brute-force Wanda on activations stored whole from a tiny model.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>

#include "calibration/sequential.h"
#include "compressor/model/architecture.h"
#include "passes/pruning/wanda.h"
#include "passes/registry.h"
#include "tests/model/golden_util.h"

using namespace compressor;

namespace {

std::unique_ptr<passes::Pass> make_wanda(double sparsity, const std::string& structure) {
  const auto* info = passes::builtin_registry().find("wanda");
  REQUIRE(info);
  passes::OptionValues o;  // resolved values carry every declared key: the defaults, then ours
  for (const auto& spec : info->options) {
    if (spec.default_value) o.set(spec.key, *spec.default_value);
  }
  o.set("sparsity", sparsity);
  o.set("mask_structure", structure);
  return info->create(o);
}

// Every slot's inputs over all samples on the dense model, float64 [rows, in].
std::map<std::string, torch::Tensor> dense_inputs(model::Model& m, const torch::Tensor& ids) {
  std::map<std::string, torch::Tensor> out;
  m.set_linear_input_hook([&](const model::LinearSlot& s, const torch::Tensor& x) {
    if (s.block >= 0) out[s.name] = x.reshape({-1, x.size(-1)}).to(torch::kFloat64);
  });
  torch::NoGradGuard no_grad;
  m.forward(ids);
  m.set_linear_input_hook({});
  return out;
}

// Brute-force Wanda on one row: prune the k lowest |w|·‖x‖ (ties: the later position first), in float64.
std::vector<bool> brute_force_row(const std::vector<double>& score, int64_t k) {
  std::vector<int64_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  std::vector<bool> keep(score.size(), false);
  for (size_t i = 0; i + static_cast<size_t>(k) < order.size(); ++i) keep[static_cast<size_t>(order[i])] = true;
  return keep;
}

}  // namespace

TEST_CASE("wanda equals a brute-force Wanda on stored activations (one-pass statistics)", "[pipeline][wanda]") {
  auto m = model::load_model(golden_util::Golden("tiny-llama").dir());
  torch::manual_seed(5);
  const auto ids = torch::randint(0, m->vocab_size(), {6, 16}, torch::kLong);
  std::map<std::string, torch::Tensor> original;
  for (auto& s : m->slots()) original[s.name] = s.weight.detach().clone().to(torch::kFloat64);
  const auto inputs = dense_inputs(*m, ids);

  for (const char* structure : {"0:0", "2:4"}) {
    INFO(structure);
    auto fresh = model::load_model(golden_util::Golden("tiny-llama").dir());
    auto pass = make_wanda(0.5, structure);
    std::vector<const model::LinearSlot*> all;
    for (auto& s : fresh->slots()) {
      if (s.block >= 0) all.push_back(&s);
    }
    pass->check(*fresh, all, "test");
    calibration::SequentialOptions o;
    o.sequential = false;
    passes::Context ctx;
    calibration::run_sequential(*fresh, ids, {}, pass->requirements(), o,
                                [&](model::BlockView& b, calibration::BlockStats& st) {
                                  pass->compress_block(b, b.linears, st, ctx);
                                });
    int64_t checked = 0;
    for (const auto* s : all) {
      const auto x = inputs.at(s->name);
      const auto norms = x.square().sum(0).sqrt();  // ‖X_j‖₂
      const auto score = original.at(s->name).abs() * norms.unsqueeze(0);
      const auto acc = score.accessor<double, 2>();
      const auto kept = s->mask.accessor<bool, 2>();
      const int64_t rows = score.size(0), cols = score.size(1);
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<bool> want;
        if (std::string(structure) == "0:0") {
          std::vector<double> row(static_cast<size_t>(cols));
          for (int64_t c = 0; c < cols; ++c) row[static_cast<size_t>(c)] = acc[r][c];
          want = brute_force_row(row, cols / 2);
        } else {
          for (int64_t g = 0; g < cols; g += 4) {
            std::vector<double> group;
            for (int64_t c = g; c < g + 4; ++c) group.push_back(acc[r][c]);
            auto k = brute_force_row(group, 2);
            want.insert(want.end(), k.begin(), k.end());
          }
        }
        for (int64_t c = 0; c < cols; ++c) CHECK(kept[r][c] == want[static_cast<size_t>(c)]);
        ++checked;
      }
      CHECK((s->weight == 0).sum().item<int64_t>() == s->weight.numel() / 2);
    }
    CHECK(checked > 0);
  }
}

TEST_CASE("wanda prunes differently from magnitude when input channels differ in scale", "[pipeline][wanda]") {
  // One row, four inputs: the largest weight sits on a channel that is almost always zero.
  model::LinearSlot s;
  s.name = "w";
  s.weight = torch::tensor({{3.0f, 1.0f, 1.5f, 0.5f}});
  passes::MaskStructure unstructured;
  auto norms = torch::tensor({0.01f, 10.0f, 1.0f, 10.0f});
  passes::wanda_prune(s, norms, 0.5, unstructured);
  // scores 0.03, 10, 1.5, 5: keep inputs 1 and 3, although magnitude would keep 0 and 2.
  CHECK(torch::equal(s.mask, torch::tensor({{false, true, false, true}})));
}
