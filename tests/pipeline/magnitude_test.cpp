#include <catch2/catch.hpp>

#include "passes/pruning/magnitude.h"
#include "passes/pruning/mask.h"
#include "tiny_model.h"

using namespace compressor;

namespace {

model::LinearSlot make_slot(torch::Tensor w) {
  model::LinearSlot s;
  s.name = "w";
  s.role = model::TensorRole::MlpUp;
  s.weight = w;
  return s;
}

int64_t zeros(const torch::Tensor& t) { return (t == 0).sum().item<int64_t>(); }

// Independent definition: stable sort of |w| over all slots in order, prune the first k.
std::vector<torch::Tensor> reference_masks(const std::vector<torch::Tensor>& ws, double sparsity) {
  std::vector<torch::Tensor> flat;
  for (const auto& w : ws) flat.push_back(w.abs().reshape({-1}));
  auto all = torch::cat(flat);
  const int64_t k = passes::prune_count(sparsity, all.numel());
  auto order = std::get<1>(all.sort(/*stable=*/c10::optional<bool>(true), /*dim=*/0, /*descending=*/false));
  auto keep = torch::ones({all.numel()}, torch::kBool);
  keep.index_put_({order.slice(0, 0, k)}, false);
  std::vector<torch::Tensor> out;
  int64_t offset = 0;
  for (const auto& w : ws) {
    out.push_back(keep.slice(0, offset, offset + w.numel()).reshape(w.sizes()));
    offset += w.numel();
  }
  return out;
}

}  // namespace

TEST_CASE("per-layer magnitude pruning reaches the exact count and prunes the smallest weights") {
  torch::manual_seed(0);
  for (double sparsity : {0.0, 0.25, 0.3, 0.5, 0.7, 0.99}) {
    auto w = torch::randn({64, 128});
    auto original = w.clone();
    auto slot = make_slot(w);
    passes::magnitude_prune_layer(slot, sparsity);
    CHECK(zeros(slot.weight) == passes::prune_count(sparsity, w.numel()));
    auto ref = reference_masks({original}, sparsity)[0];
    if (sparsity == 0) {
      CHECK_FALSE(slot.mask.defined());  // nothing pruned, the slot stays dense
      continue;
    }
    CHECK(torch::equal(slot.mask, ref));
    CHECK(torch::equal(slot.weight, original * ref));
  }
}

TEST_CASE("ties at the threshold are broken by position and the count stays exact") {
  auto w = torch::ones({8, 16});
  w.index_put_({0, 0}, 0.5);
  auto slot = make_slot(w.clone());
  passes::magnitude_prune_layer(slot, 0.5);  // 64 of 128, 127 of them equal
  CHECK(zeros(slot.weight) == 64);
  CHECK(torch::equal(slot.mask, reference_masks({w}, 0.5)[0]));
}

TEST_CASE("global magnitude pruning uses one threshold across slots") {
  torch::manual_seed(1);
  std::vector<torch::Tensor> ws = {torch::randn({32, 64}) * 0.1, torch::randn({64, 32}), torch::randn({16, 64}) * 3};
  std::vector<model::LinearSlot> slots;
  for (auto& w : ws) slots.push_back(make_slot(w.clone()));
  std::vector<model::LinearSlot*> ptrs;
  for (auto& s : slots) ptrs.push_back(&s);
  passes::magnitude_prune_global(ptrs, 0.6);
  const auto ref = reference_masks(ws, 0.6);
  int64_t total_zeros = 0, total = 0;
  for (size_t i = 0; i < ws.size(); ++i) {
    CHECK(torch::equal(slots[i].mask, ref[i]));
    total_zeros += zeros(slots[i].weight);
    total += ws[i].numel();
  }
  CHECK(total_zeros == passes::prune_count(0.6, total));
  // Small-scale layers lose more than large-scale ones.
  CHECK(zeros(slots[0].weight) > zeros(slots[2].weight));
}

TEST_CASE("the global threshold is exact when magnitudes crowd into a few bit patterns") {
  // Magnitudes from three narrow bands of float bit patterns (zeros of both signs, subnormals, and
  // values just above 1.0 that share their top 16 bits), with many exact repeats: the radix select
  // must land on the same k-th value and tie-break as a stable sort of every |w|.
  torch::manual_seed(3);
  auto band = [](int64_t n) {
    auto which = torch::randint(0, 3, {n}, torch::kInt32);
    auto base = torch::where(which == 0, torch::zeros({n}, torch::kInt32),
                             torch::where(which == 1, torch::full({n}, 1, torch::kInt32),
                                          torch::full({n}, 0x3f800000, torch::kInt32)));
    auto bits = base + torch::randint(0, 40, {n}, torch::kInt32) * (which != 0).to(torch::kInt32);
    auto sign = torch::randint(0, 2, {n}, torch::kInt32) * static_cast<int32_t>(0x80000000u);
    return bits.bitwise_or(sign).view(torch::kFloat32);
  };
  std::vector<torch::Tensor> ws = {band(24 * 40).reshape({24, 40}), band(8 * 40).reshape({8, 40}),
                                   band(16 * 12).reshape({16, 12})};
  for (double sparsity : {0.1, 0.33, 0.5, 0.8, 0.97}) {
    std::vector<model::LinearSlot> slots;
    for (auto& w : ws) slots.push_back(make_slot(w.clone()));
    std::vector<model::LinearSlot*> ptrs;
    for (auto& s : slots) ptrs.push_back(&s);
    passes::magnitude_prune_global(ptrs, sparsity);
    const auto ref = reference_masks(ws, sparsity);
    for (size_t i = 0; i < ws.size(); ++i) {
      INFO("sparsity " << sparsity << ", slot " << i);
      CHECK(torch::equal(slots[i].mask, ref[i]));
    }
  }
}

TEST_CASE("pruning again keeps earlier pruned weights pruned (masks combine)") {
  torch::manual_seed(2);
  auto slot = make_slot(torch::randn({16, 32}));
  passes::magnitude_prune_layer(slot, 0.5);
  auto first = slot.mask.clone();
  passes::magnitude_prune_layer(slot, 0.75);
  CHECK(zeros(slot.weight) == passes::prune_count(0.75, 512));
  CHECK(torch::equal(slot.mask.logical_and(first), slot.mask));  // nothing revived
}

TEST_CASE("pruning a model slot edits the network the model runs") {
  auto m = test_util::tiny_gpt2();
  auto ids = torch::randint(0, 256, {1, 16}, torch::kLong);
  torch::NoGradGuard no_grad;
  auto before = m->forward(ids);
  auto* slot = m->find_slot("transformer.h.0.mlp.c_fc");
  REQUIRE(slot);
  passes::magnitude_prune_layer(*slot, 0.9);
  auto after = m->forward(ids);
  CHECK_FALSE(torch::allclose(before, after));
  CHECK(zeros(m->checkpoint_tensors()[0].second) == 0);  // wte untouched
}
