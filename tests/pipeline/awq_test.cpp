// AWQ against independent definitions: llm-compressor's grid and weight means written out by hand,
// the scale search against a brute force that measures every candidate's output error on the
// stored activations in float64, the statistics after a fold against statistics of the scaled
// inputs, and the whole pass leaving the float model's function unchanged when it only scales.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "calibration/sequential.h"
#include "compressor/model/architecture.h"
#include "passes/quantization/awq.h"
#include "passes/quantization/module_objective.h"
#include "passes/registry.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;

namespace {

passes::WeightQuantOptions int4_group(int64_t group, bool symmetric = true) {
  passes::WeightQuantOptions o;
  o.args.num_bits = 4;
  o.args.symmetric = symmetric;
  o.args.strategy = quant::Strategy::group;
  o.args.group_size = group;
  o.scale_dtype = quant::ScaleDtype::f32;
  return o;
}

torch::Tensor fake_quant(const torch::Tensor& w, const passes::WeightQuantOptions& o) {
  return formats::dequantize(passes::quantize_weight(w, o, "test"));
}

// Inputs with a few channels 30x larger than the rest: the activation outliers AWQ protects.
torch::Tensor outlier_inputs(int64_t rows, int64_t in, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto x = torch::randn({rows, in}, g);
  for (int64_t j : {3, 17, 40}) x.select(1, j).mul_(30.0);
  return x;
}

std::unique_ptr<passes::Pass> make_awq(const std::map<std::string, passes::OptionValue>& set) {
  const auto* info = passes::builtin_registry().find("awq");
  REQUIRE(info);
  passes::OptionValues o;
  for (const auto& spec : info->options) {
    if (spec.default_value) o.set(spec.key, *spec.default_value);
  }
  for (const auto& [k, v] : set) o.set(k, v);
  return info->create(o);
}

std::unique_ptr<model::Model> tiny_llama() {
  auto config = model::parse_hf_config(
      R"({"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 64})",
      "tiny-llama/config.json");
  return model::architectures().at("llama").init(config, 3);
}

// Runs `pass` over every block linear of `m` in the sequential driver on random tokens.
void run_pass(model::Model& m, passes::Pass& pass, const torch::Tensor& ids) {
  std::vector<model::LinearSlot*> slots;
  std::vector<const model::LinearSlot*> view;
  for (auto& s : m.slots()) {
    if (s.block >= 0) {
      slots.push_back(&s);
      view.push_back(&s);
    }
  }
  pass.check(m, view, "test");
  passes::Context ctx;
  calibration::SequentialOptions o;
  calibration::run_sequential(m, ids, {}, pass.requirements(), o, [&](model::BlockView& b, calibration::BlockStats& st) {
    std::vector<model::LinearSlot*> mine;
    for (auto* s : slots) {
      if (s->block == b.index) mine.push_back(s);
    }
    pass.compress_block(b, mine, st, ctx);
  });
}

}  // namespace

TEST_CASE("awq: the grid is llm-compressor's", "[awq]") {
  const auto on = passes::awq_grid(20, passes::DuoScaling::on);
  REQUIRE(on.size() == 20);
  CHECK((on[0].ratio == 0.0 && !on[0].duo));
  for (int i = 1; i < 20; ++i) {
    CHECK(on[i].duo);
    CHECK(on[i].ratio == Approx((i - 1) / 18.0));
  }
  const auto off = passes::awq_grid(20, passes::DuoScaling::off);
  REQUIRE(off.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK((off[i].ratio == Approx(i / 19.0) && !off[i].duo));
  const auto both = passes::awq_grid(20, passes::DuoScaling::both);
  REQUIRE(both.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK((both[i].ratio == Approx((i / 2) / 9.0) && both[i].duo == (i % 2 == 1)));
}

TEST_CASE("awq: weight means normalise |w| by each group's max, then average over every row of the group",
          "[awq]") {
  const auto a = torch::tensor({{1.0f, -2.0f, 4.0f, 0.0f}, {-3.0f, 3.0f, 1.0f, -1.0f}});
  const auto b = torch::tensor({{0.5f, 0.25f, 2.0f, -8.0f}});
  const auto mean = passes::awq_weight_mean({a, b}, {int4_group(2), int4_group(2)});
  // By hand: rows normalised per pair of columns, then the 3 rows averaged (ε = 1e-6 ignored).
  const std::vector<double> expected{(0.5 + 1 + 1) / 3, (1 + 1 + 0.5) / 3, (1 + 1 + 0.25) / 3, (0 + 1 + 1) / 3.0};
  for (int j = 0; j < 4; ++j) CHECK(mean[j].item<double>() == Approx(expected[j]).epsilon(1e-5));
}

TEST_CASE("awq: the scale search picks the grid point a brute force on the stored activations picks", "[awq]") {
  torch::NoGradGuard no_grad;
  const int64_t in = 64, rows = 512;
  const auto x = outlier_inputs(rows, in, 7);
  auto g = at::make_generator<at::CPUGeneratorImpl>(8);
  const std::vector<torch::Tensor> weights{torch::randn({24, in}, g) * 0.1, torch::randn({8, in}, g) * 0.1};
  const auto q = int4_group(16);
  std::vector<passes::AwqLinear> linears;
  for (size_t i = 0; i < weights.size(); ++i) linears.push_back({"w" + std::to_string(i), weights[i], q});
  const auto x_mean = x.abs().mean(0);
  const auto h = x.t().mm(x) * (2.0 / rows);
  const auto r = passes::awq_search_scale(linears, x_mean, h, 20, passes::DuoScaling::on);

  // Brute force: every candidate's output error Σ ‖(W − Q(W·s)/s) xᵀ‖² on the rows themselves, in
  // float64, with the scales written out from the formula.
  const auto x64 = x.to(torch::kFloat64);
  const auto w_mean = passes::awq_weight_mean(weights, {q, q}).to(torch::kFloat64);
  double best = std::numeric_limits<double>::infinity(), identity = 0, energy = 0;
  torch::Tensor best_scale;
  for (const auto& w : weights) energy += x64.mm(w.to(torch::kFloat64).t()).square().sum().item<double>();
  int index = 0;
  for (const auto& p : passes::awq_grid(20, passes::DuoScaling::on)) {
    const auto xm = x_mean.to(torch::kFloat64);
    auto s = p.duo ? (xm.pow(p.ratio) / (w_mean.pow(1 - p.ratio) + 1e-4)).clamp_min(1e-4) : xm.pow(p.ratio).clamp_min(1e-4);
    s = s / (s.max() * s.min()).sqrt();
    const auto s32 = s.to(torch::kFloat32).unsqueeze(0);
    double error = 0;
    for (const auto& w : weights) {
      const auto delta = (w - fake_quant(w * s32, q) / s32).to(torch::kFloat64);
      error += x64.mm(delta.t()).square().sum().item<double>();
    }
    if (index++ == 0) identity = error;
    if (error < best) {
      best = error;
      best_scale = s;
    }
  }
  CHECK(torch::allclose(r.scale.to(torch::kFloat64), best_scale, 1e-4, 1e-6));
  // H = 2/n XᵀX: the relative errors do not depend on the factor.
  CHECK(r.error == Approx(best / energy).epsilon(1e-3));
  CHECK(r.identity_error == Approx(identity / energy).epsilon(1e-3));
  // With outlier channels, protecting them beats round to nearest clearly.
  CHECK(r.error < 0.8 * r.identity_error);
}

TEST_CASE("awq: statistics after a fold are the statistics of the scaled inputs", "[awq][calibration]") {
  const auto x = outlier_inputs(200, 48, 3);
  const auto s = torch::linspace(0.2, 5.0, 48);
  calibration::Requirements req;
  req.abs_mean = req.abs_max = req.channel_norms = req.hessian = true;
  calibration::GroupStats folded, direct;
  calibration::accumulate(folded, x, req);
  folded.scale_inputs(s);
  calibration::accumulate(direct, x / s, req);
  CHECK(torch::allclose(folded.channel_abs_mean(), direct.channel_abs_mean(), 1e-5, 1e-6));
  CHECK(torch::allclose(folded.abs_max, direct.abs_max, 1e-5, 1e-6));
  CHECK(torch::allclose(folded.sum_squares, direct.sum_squares, 1e-5, 1e-6));
  CHECK(torch::allclose(folded.hessian(), direct.hessian(), 1e-4, 1e-4));
}

TEST_CASE("awq: the clipping search never raises a unit's output error and lowers it on heavy tails", "[awq]") {
  torch::NoGradGuard no_grad;
  const auto x = outlier_inputs(256, 64, 4);
  const auto h = x.t().mm(x) * (2.0 / 256);
  auto g = at::make_generator<at::CPUGeneratorImpl>(2);
  // Student-t-like weights: a few large values stretch each group's grid.
  const auto w = torch::randn({32, 64}, g) / torch::rand({32, 64}, g).add(0.05).sqrt();
  for (bool symmetric : {true, false}) {
    const auto q = int4_group(16, symmetric);
    const auto clipped = passes::awq_clip(w, q, h, "w");
    CHECK((clipped.abs() <= w.abs() + 1e-6).all().item<bool>());
    const double before = passes::quantization_output_error(w, q, h, "w");
    // The error of the clipped weight's codes, measured against the original weight.
    const auto delta = w - fake_quant(clipped, q);
    const double after = (delta.mm(h) * delta).sum().item<double>();
    CHECK(after < 0.95 * before);
  }
}

TEST_CASE("awq: the pass scales every foldable group without changing the float model, then quantizes",
          "[awq][pipeline]") {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  const auto ids = torch::randint(0, 100, {4, 32}, torch::kLong);
  std::vector<std::unique_ptr<model::Model>> models;
  models.push_back(tiny_llama());
  models.push_back(test_util::tiny_gpt2(2, 64));
  for (auto& m : models) {
    INFO(m->architecture());
    const auto before = m->forward({ids, {}, {}});
    std::map<std::string, torch::Tensor> original;
    for (auto& s : m->slots()) original[s.name] = s.weight.clone();
    // W4A16's group of 128 does not divide these widths; a group of 32 does.
    auto groups = nlohmann::json::parse(R"({"g": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int",
        "symmetric": true, "strategy": "group", "group_size": 32}}})");
    auto scale_only = make_awq({{"config_groups", passes::MappingValue{groups}}, {"quantize", false}});
    run_pass(*m, *scale_only, ids);
    const auto after = m->forward({ids, {}, {}});
    CHECK((after - before).abs().max().item<double>() < 1e-4 * before.abs().max().item<double>());
    int64_t changed = 0;
    for (auto& s : m->slots()) changed += s.block >= 0 && !torch::equal(s.weight, original[s.name]);
    CHECK(changed > 0);

    auto full = make_awq({{"config_groups", passes::MappingValue{groups}}, {"clip_search", true}});
    run_pass(*m, *full, ids);
    for (auto& s : m->slots()) {
      if (s.block < 0) continue;
      INFO(s.name);
      REQUIRE(s.quantized);
      CHECK(torch::equal(formats::dequantize(*s.quantized), s.weight));
    }
  }
}

TEST_CASE("awq: the module objective is the attention or MLP output error a plain forward with the candidate gives",
          "[awq]") {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  const auto ids = torch::randint(0, 100, {3, 16}, torch::kLong);
  auto mask = torch::ones({3, 16}, torch::kLong);
  mask[2].slice(0, 10).zero_();  // right padding: its rows must not count
  std::vector<std::unique_ptr<model::Model>> models;
  models.push_back(tiny_llama());
  models.push_back(test_util::tiny_gpt2(2, 64));
  for (auto& m : models) {
    INFO(m->architecture());
    model::BlockInputs in;
    const auto hidden = m->embed({ids, mask, {}}, &in);
    calibration::BlockProbe probe(*m, 1, {{hidden.slice(0, 0, 2).clone(), [&] {
                                             auto i = in;
                                             i.key_mask = in.key_mask.slice(0, 0, 2);
                                             return i;
                                           }(),
                                           in.key_mask.slice(0, 0, 2)},
                                          {hidden.slice(0, 2, 3).clone(), [&] {
                                             auto i = in;
                                             i.key_mask = in.key_mask.slice(0, 2, 3);
                                             return i;
                                           }(),
                                           in.key_mask.slice(0, 2, 3)}});
    auto view = m->block(1);
    CHECK(passes::ModuleOutputObjective::applies(view, 0));
    CHECK_FALSE(passes::ModuleOutputObjective::applies(view, 1));
    CHECK(passes::ModuleOutputObjective::applies(view, 2));
    CHECK_FALSE(passes::ModuleOutputObjective::applies(view, 3));
    for (size_t g : {size_t{0}, size_t{2}}) {
      INFO("group " << g);
      // The independent measure: the whole block run with the hook storing the closing group's
      // inputs, its linears applied by hand, real rows only, in float64.
      auto module_outputs = [&] {
        torch::Tensor x;
        m->set_linear_input_hook([&](const model::LinearSlot& s, const torch::Tensor& t) {
          if (&s == view.group_slots[g + 1].front()) x = t.clone();
        });
        m->run_block(1, hidden, in);
        m->set_linear_input_hook({});
        std::vector<torch::Tensor> outs;
        for (auto* s : view.group_slots[g + 1]) {
          outs.push_back(torch::linear(x, s->weight, s->bias ? *s->bias : torch::Tensor()));
        }
        auto y = torch::cat(outs, -1).to(torch::kFloat64);
        return y.index({in.key_mask});  // [real rows, out]
      };
      const auto reference = module_outputs();
      std::vector<torch::Tensor> original, candidate;
      for (auto* s : view.group_slots[g]) {
        original.push_back(s->weight.clone());
        candidate.push_back(s->weight + 0.02 * torch::randn_like(s->weight));
      }
      passes::ModuleOutputObjective objective(view, g, probe);
      CHECK(objective.energy() == Approx(reference.square().sum().item<double>()).epsilon(1e-5));
      CHECK(objective(original) == 0.0);
      const double error = objective(candidate);
      for (size_t k = 0; k < original.size(); ++k) CHECK(torch::equal(view.group_slots[g][k]->weight, original[k]));
      for (size_t k = 0; k < original.size(); ++k) view.group_slots[g][k]->set_weight(candidate[k]);
      const auto perturbed = module_outputs();
      for (size_t k = 0; k < original.size(); ++k) view.group_slots[g][k]->set_weight(original[k]);
      const double expected = (perturbed - reference).square().sum().item<double>();
      CHECK(expected > 0);
      CHECK(error == Approx(expected).epsilon(1e-4));
    }
  }
}

TEST_CASE("awq: with the module objective the pass keeps the float function, the linears objective needs no probe",
          "[awq][pipeline]") {
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  const auto ids = torch::randint(0, 100, {4, 32}, torch::kLong);
  auto m = tiny_llama();
  const auto before = m->forward({ids, {}, {}});
  auto groups = nlohmann::json::parse(R"({"g": {"targets": ["Linear"], "weights": {"num_bits": 3, "type": "int",
      "symmetric": true, "strategy": "group", "group_size": 32}}})");
  auto pass = make_awq({{"config_groups", passes::MappingValue{groups}}, {"quantize", false},
                        {"objective", std::string("module")}, {"objective_samples", int64_t{3}}});
  REQUIRE(pass->requirements().probe_samples == 3);
  run_pass(*m, *pass, ids);
  const auto after = m->forward({ids, {}, {}});
  CHECK((after - before).abs().max().item<double>() < 1e-4 * before.abs().max().item<double>());
  auto linears = make_awq({{"config_groups", passes::MappingValue{groups}}});  // linears is the default
  CHECK(linears->requirements().probe_samples == 0);
}
