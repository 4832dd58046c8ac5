// Calibration statistics and the sequential driver against brute force: every linear's inputs are
// stored by a plain hook and the statistics recomputed from them in float64.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>

#include "calibration/observer.h"
#include "calibration/sequential.h"
#include "compressor/base/error.h"
#include "compressor/model/architecture.h"
#include "tests/model/golden_util.h"

using namespace compressor;

namespace {

calibration::Requirements all_stats() {
  calibration::Requirements r;
  r.channel_norms = r.abs_max = r.hessian = true;
  return r;
}

// Inputs of every slot of block `block`, stored whole: [rows, in] float64, real rows only.
std::map<std::string, torch::Tensor> stored_inputs(model::Model& m, int block, const std::vector<torch::Tensor>& hidden,
                                                   const std::vector<model::BlockInputs>& inputs) {
  std::map<std::string, std::vector<torch::Tensor>> parts;
  torch::Tensor rows;
  m.set_linear_input_hook([&](const model::LinearSlot& s, const torch::Tensor& x) {
    if (s.block != block) return;
    auto flat = x.reshape({-1, x.size(-1)}).to(torch::kFloat64);
    if (rows.defined()) flat = flat.index({rows.reshape({-1})});
    parts[s.name].push_back(flat);
  });
  for (size_t b = 0; b < hidden.size(); ++b) {
    rows = inputs[b].key_mask;
    m.run_block(block, hidden[b], inputs[b]);
  }
  m.set_linear_input_hook({});
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, p] : parts) out[name] = torch::cat(p);
  return out;
}

// Brute-force statistics of one group from its leader's stored inputs.
void check_group(const calibration::GroupStats& g, const torch::Tensor& x) {
  REQUIRE(g.rows == x.size(0));
  // Squares are taken in float32 (the activations' dtype) and summed in float64.
  CHECK((g.sum_squares - x.square().sum(0)).abs().max().item<double>() < 1e-6 * (1 + x.square().sum(0).max().item<double>()));
  CHECK((g.abs_max.to(torch::kFloat64) - std::get<0>(x.abs().max(0))).abs().max().item<double>() == 0);
  const auto h = 2.0 / static_cast<double>(x.size(0)) * x.t().matmul(x);
  CHECK((g.hessian().to(torch::kFloat64) - h).abs().max().item<double>() < 1e-4 * (1 + h.abs().max().item<double>()));
  CHECK((g.channel_norms().to(torch::kFloat64) - x.square().sum(0).sqrt()).abs().max().item<double>() <
        1e-5 * (1 + x.square().sum(0).sqrt().max().item<double>()));
}

std::unique_ptr<model::Model> golden_model(const std::string& name) {
  return model::load_model(golden_util::Golden(name).dir());
}

torch::Tensor samples_for(const model::Model& m, int64_t n, int64_t t) {
  torch::manual_seed(11);
  return torch::randint(0, m.vocab_size(), {n, t}, torch::kLong);
}

}  // namespace

TEST_CASE("calibration: statistics per input group equal brute force on stored activations, padding excluded",
          "[calibration][statistics]") {
  for (const char* name : {"tiny-llama", "tiny-gpt2", "tiny-bert"}) {
    INFO(name);
    auto m = golden_model(name);
    torch::NoGradGuard no_grad;
    auto ids = samples_for(*m, 5, 12);
    auto mask = torch::ones_like(ids);
    mask[3].slice(0, 7).fill_(0);  // two right-padded samples
    mask[4].slice(0, 2).fill_(0);
    std::vector<torch::Tensor> hidden;
    std::vector<model::BlockInputs> inputs;
    for (int64_t b = 0; b < 5; b += 2) {  // batches of 2, 2, 1
      const int64_t e = std::min<int64_t>(5, b + 2);
      model::BlockInputs in;
      hidden.push_back(m->embed({ids.slice(0, b, e), mask.slice(0, b, e), {}}, &in));
      inputs.push_back(in);
    }
    const auto stored = stored_inputs(*m, 0, hidden, inputs);
    calibration::ObserverScope scope(*m, 0, all_stats());
    for (size_t b = 0; b < hidden.size(); ++b) {
      scope.set_rows(inputs[b].key_mask);
      m->run_block(0, hidden[b], inputs[b]);
    }
    const auto stats = scope.take();
    const auto& groups = m->input_groups(0);
    REQUIRE(stats.groups.size() == groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
      INFO("group " << groups[g].name);
      check_group(stats.groups[g], stored.at(m->slots()[groups[g].slots[0]].name));
      CHECK(stats.groups[g].rows == 5 * 12 - 5 - 10);
      // Every member of a group reads the same tensor, so the leader's statistics are theirs.
      for (size_t s : groups[g].slots) CHECK(&stats.of(m->slots()[s]) == &stats.groups[g]);
    }
  }
}

TEST_CASE("calibration: with a pass that changes nothing, sequential and one-pass statistics are equal",
          "[calibration][sequential]") {
  auto m = golden_model("tiny-llama");
  const auto ids = samples_for(*m, 6, 16);
  const auto dense = calibration::collect_dense_stats(*m, ids, {}, all_stats(), 4);
  calibration::SequentialOptions o;
  o.batch_size = 4;
  std::vector<calibration::BlockStats> seq;
  calibration::run_sequential(*m, ids, {}, all_stats(), o,
                              [&](model::BlockView&, const calibration::BlockStats& s) { seq.push_back(s); });
  REQUIRE(seq.size() == dense.size());
  REQUIRE(seq.size() == 2);
  for (size_t b = 0; b < seq.size(); ++b) {
    for (size_t g = 0; g < seq[b].groups.size(); ++g) {
      CHECK(torch::equal(seq[b].groups[g].xtx_upper, dense[b].groups[g].xtx_upper));
      CHECK(torch::equal(seq[b].groups[g].sum_squares, dense[b].groups[g].sum_squares));
      CHECK(seq[b].groups[g].rows == 6 * 16);
    }
  }
}

TEST_CASE("calibration: block 1 is calibrated on block 0's compressed outputs", "[calibration][sequential]") {
  auto m = golden_model("tiny-llama");
  torch::NoGradGuard no_grad;
  const auto ids = samples_for(*m, 4, 16);
  auto compress_block0 = [&](model::BlockView& b) {
    for (auto* s : b.linears) s->set_weight(s->weight * (s->weight.abs() > 0.02));  // prune small weights
  };
  std::vector<calibration::BlockStats> seq;
  calibration::SequentialOptions o;
  o.batch_size = 4;  // one batch, as the computation by hand below (batching changes float rounding)
  calibration::run_sequential(*m, ids, {}, all_stats(), o, [&](model::BlockView& b, const calibration::BlockStats& s) {
    seq.push_back(s);
    if (b.index == 0) compress_block0(b);
  });
  // By hand: embed, the compressed block 0, then block 1's inputs stored whole.
  model::BlockInputs in;
  auto h = m->run_block(0, m->embed({ids, {}, {}}, &in), in);
  const auto stored = stored_inputs(*m, 1, {h}, {in});
  const auto& groups = m->input_groups(1);
  for (size_t g = 0; g < groups.size(); ++g) {
    INFO("group " << groups[g].name);
    check_group(seq[1].groups[g], stored.at(m->slots()[groups[g].slots[0]].name));
  }
  // One-pass mode would have used the dense outputs instead: block 1's statistics differ.
  auto fresh = golden_model("tiny-llama");
  const auto dense = calibration::collect_dense_stats(*fresh, ids, {}, all_stats());
  CHECK((dense[1].groups[0].xtx_upper - seq[1].groups[0].xtx_upper).abs().max().item<double>() > 1e-4);
}

TEST_CASE("calibration: the fp64 option accumulates the Hessian in float64", "[calibration][statistics]") {
  calibration::GroupStats g;
  calibration::Requirements r;
  r.hessian = r.hessian_fp64 = true;
  auto x = torch::randn({7, 5});
  calibration::accumulate(g, x, r);
  CHECK(g.xtx_upper.scalar_type() == torch::kFloat64);
  auto x64 = x.to(torch::kFloat64);
  CHECK((g.hessian() - x64.t().matmul(x64) * (2.0 / 7)).abs().max().item<double>() < 1e-12);
}

TEST_CASE("calibration: column statistics over batches and strided inputs equal their float64 definitions",
          "[calibration][statistics]") {
  torch::manual_seed(8);
  calibration::GroupStats g;
  calibration::Requirements r;
  r.channel_norms = r.abs_max = r.abs_mean = r.range = true;
  // Widths off the vector length, a batch longer than one block of rows, a strided view.
  const auto a = torch::randn({70, 19}) * 4, b = torch::randn({19, 3}).t();
  calibration::accumulate(g, a, r);
  calibration::accumulate(g, b, r);
  REQUIRE(g.rows == 73);
  const auto x = torch::cat({a, b}).to(torch::kFloat64);
  // Squares in float32 (as documented), sums in float64.
  CHECK((g.sum_squares - torch::cat({a, b}).square().to(torch::kFloat64).sum(0)).abs().max().item<double>() < 1e-9);
  CHECK((g.abs_sum - x.abs().sum(0)).abs().max().item<double>() < 1e-9);
  CHECK(torch::equal(g.abs_max.to(torch::kFloat64), std::get<0>(x.abs().max(0))));
  CHECK(torch::equal(g.min_value.to(torch::kFloat64), std::get<0>(x.min(0))));
  CHECK(torch::equal(g.max_value.to(torch::kFloat64), std::get<0>(x.max(0))));
  // NaN reaches every statistic of its column, whatever came before or after it.
  auto c = torch::randn({5, 19});
  c[2][4] = std::numeric_limits<float>::quiet_NaN();
  calibration::accumulate(g, c, r);
  calibration::accumulate(g, torch::randn({3, 19}), r);
  for (const auto& t : {g.sum_squares, g.abs_sum, g.abs_max, g.min_value, g.max_value}) {
    CHECK(std::isnan(t[4].item<double>()));
    CHECK(torch::isfinite(t.narrow(0, 0, 4)).all().item<bool>());
  }
}

TEST_CASE("calibration: the row sample is every k-th row counted over batches, and follows a fold", "[calibration][statistics]") {
  calibration::GroupStats g;
  calibration::Requirements r;
  r.sample_stride = 3;
  const auto a = torch::randn({7, 5}), b = torch::randn({5, 4}).t(), c = torch::randn({1, 5}), d = torch::randn({6, 5});
  for (const auto& x : {a, b, c, d}) calibration::accumulate(g, x, r);
  const auto all = torch::cat({a, b, c, d});  // 18 rows: 0, 3, ..., 15
  REQUIRE(g.row_sample.defined());
  CHECK(torch::equal(g.row_sample, all.index_select(0, torch::arange(0, 18, 3))));
  const auto s = torch::rand({5}) + 0.5;
  g.scale_inputs(s);
  CHECK(torch::allclose(g.row_sample, all.index_select(0, torch::arange(0, 18, 3)) / s.to(torch::kFloat32)));
  // Without the requirement nothing is kept.
  calibration::GroupStats none;
  calibration::accumulate(none, a, calibration::Requirements{});
  CHECK_FALSE(none.row_sample.defined());
}

TEST_CASE("calibration: the Hessian is whole and symmetric over batches and strided inputs", "[calibration]") {
  // accumulate() keeps one triangle (syrk); hessian() must still be the full 2/n XᵀX.
  calibration::GroupStats g;
  calibration::Requirements r;
  r.hessian = true;
  auto a = torch::randn({6, 9}), b = torch::randn({9, 4}).t();  // b is a strided [4, 9] view
  calibration::accumulate(g, a, r);
  calibration::accumulate(g, b, r);
  CHECK(g.rows == 10);
  auto x = torch::cat({a, b}).to(torch::kFloat64);
  auto h = g.hessian().to(torch::kFloat64);
  CHECK(torch::equal(h, h.t()));
  CHECK((h - x.t().matmul(x) * (2.0 / 10)).abs().max().item<double>() < 1e-5);
}

TEST_CASE("calibration: NaN in the activations is an error naming the block and group", "[calibration][errors]") {
  auto m = golden_model("tiny-llama");
  {
    torch::NoGradGuard no_grad;
    m->norms()[0].weight[3] = std::numeric_limits<float>::quiet_NaN();  // block 0's input_layernorm
  }
  const auto ids = samples_for(*m, 2, 8);
  const auto msg = test_util::bad_input_message([&] {
    calibration::run_sequential(*m, ids, {}, all_stats(), {}, [](model::BlockView&, const calibration::BlockStats&) {});
  });
  CHECK_THAT(msg, Catch::Contains("block 0") && Catch::Contains("attn_in") && Catch::Contains("q_proj"));
}

TEST_CASE("calibration: true-sequential calibrates each group with the block's earlier groups compressed",
          "[calibration][sequential]") {
  // The reference is the definition itself: compress group by group, and before each group run the
  // whole (partly compressed) model with a plain hook to store that group's inputs.
  auto prune = [](model::LinearSlot* s) { s->set_weight(s->weight * (s->weight.abs() > 0.02)); };
  // Wide group inputs (the MLP's second linear's) made again for the block's output, or held.
  for (const int64_t wide_cache : {int64_t{0}, int64_t{1} << 30})
  for (const char* name : {"tiny-llama", "tiny-gpt2", "tiny-bert"}) {
    INFO(name << ", wide input cache " << wide_cache);
    auto m = golden_model(name);
    auto ids = samples_for(*m, 5, 12);
    auto mask = torch::ones_like(ids);
    mask[3].slice(0, 7).fill_(0);  // padded rows are left out of the statistics
    calibration::SequentialOptions o;
    o.batch_size = 2;  // batches of 2, 2, 1
    o.wide_input_cache_bytes = wide_cache;
    std::vector<std::pair<int, size_t>> order;
    std::vector<calibration::BlockStats> seen;
    calibration::run_sequential_per_group(*m, ids, mask, all_stats(), o,
                                          [&](model::BlockView& b, calibration::BlockStats& s, size_t g) {
                                            order.emplace_back(b.index, g);
                                            seen.push_back(s);
                                            for (auto* slot : b.group_slots.at(g)) prune(slot);
                                          });
    auto ref = golden_model(name);
    torch::NoGradGuard no_grad;
    size_t k = 0;
    for (int i = 0; i < ref->num_blocks(); ++i) {
      const auto& groups = ref->input_groups(i);
      for (size_t g = 0; g < groups.size(); ++g, ++k) {
        INFO("block " << i << " group " << groups[g].name);
        REQUIRE(k < order.size());
        CHECK(order[k] == std::make_pair(i, g));
        std::vector<torch::Tensor> hidden;
        std::vector<model::BlockInputs> inputs;
        for (int64_t b = 0; b < 5; b += 2) {
          const int64_t e = std::min<int64_t>(5, b + 2);
          model::BlockInputs in;
          auto x = ref->embed({ids.slice(0, b, e), mask.slice(0, b, e), {}}, &in);
          for (int j = 0; j < i; ++j) x = ref->run_block(j, x, in);
          hidden.push_back(x);
          inputs.push_back(in);
        }
        const auto stored = stored_inputs(*ref, i, hidden, inputs);
        check_group(seen[k].groups[g], stored.at(ref->slots()[groups[g].slots[0]].name));
        for (size_t other = 0; other < groups.size(); ++other) {
          if (other != g) CHECK(seen[k].groups[other].rows == 0);  // each call sees its own group only
        }
        for (size_t s : groups[g].slots) prune(&ref->slots()[s]);
      }
    }
    CHECK(k == order.size());
    // Both models now hold the same weights: the sweep compressed exactly what the reference did.
    for (size_t s = 0; s < m->slots().size(); ++s) CHECK(torch::equal(m->slots()[s].weight, ref->slots()[s].weight));
  }
}

TEST_CASE("calibration: the probe holds the first sequences at each block's input, in both drivers",
          "[calibration][sequential]") {
  torch::NoGradGuard no_grad;
  auto m = golden_model("tiny-llama");
  const auto ids = samples_for(*m, 5, 12);
  auto mask = torch::ones({5, 12}, torch::kLong);
  mask[1].slice(0, 7).zero_();
  // Reference: the dense model's block inputs of the first 3 sequences, and block 1's group inputs.
  model::BlockInputs in;
  const auto first = ids.slice(0, 0, 3);
  auto x0 = m->embed({first, mask.slice(0, 0, 3), {}}, &in);
  const auto x1 = m->run_block(0, x0, in);
  std::map<const model::LinearSlot*, torch::Tensor> group_in;
  m->set_linear_input_hook([&](const model::LinearSlot& s, const torch::Tensor& t) { group_in[&s] = t.clone(); });
  m->run_block(1, x1, in);
  m->set_linear_input_hook({});

  calibration::Requirements req;
  req.hessian = true;
  req.probe_samples = 3;
  calibration::SequentialOptions o;
  o.batch_size = 2;  // the third sequence is the first of the second batch
  auto check = [&](const calibration::BlockStats& st) {
    REQUIRE(st.probe);
    const auto& p = *st.probe;
    REQUIRE(p.batches().size() == 2);
    CHECK(p.batches()[0].hidden.size(0) == 2);
    CHECK(p.batches()[1].hidden.size(0) == 1);
    CHECK(p.real_rows() == 3 * 12 - 5);
    std::vector<torch::Tensor> h;
    for (const auto& b : p.batches()) h.push_back(b.hidden);
    const auto& want = st.block == 0 ? x0 : x1;
    CHECK((torch::cat(h) - want).abs().max().item<double>() < 1e-5);
    if (st.block != 1) return;
    auto view = m->block(1);
    for (size_t g = 0; g < view.groups.size(); ++g) {
      std::vector<torch::Tensor> xs;
      for (auto& gi : p.group_inputs(g)) xs.push_back(gi.x);
      CHECK((torch::cat(xs) - group_in.at(view.group_slots[g].front())).abs().max().item<double>() < 1e-5);
    }
  };
  calibration::run_sequential(*m, ids, mask, req, o, [&](model::BlockView&, calibration::BlockStats& s) { check(s); });
  calibration::run_sequential_per_group(*m, ids, mask, req, o,
                                        [&](model::BlockView&, calibration::BlockStats& s, size_t) { check(s); });
}
