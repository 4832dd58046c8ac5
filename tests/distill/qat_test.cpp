// QAT's fake quantization against the scalar integer references, its straight-through gradient,
// and QatLinears on a tiny GPT-2 quantized by RTN: installing changes nothing at the start,
// freezing gives the codes the reference quantizer gives on the same grid, masks stay zero,
// learned scales come back representable in their storage dtype.
#include <catch2/catch.hpp>

#include <cmath>

#include "compressor/base/error.h"
#include "compressor/quant/int_codec.h"
#include "compressor/quant/quant_args.h"
#include "distill/checkpoint.h"
#include "distill/qat.h"
#include "formats/quantized_tensor.h"
#include "passes/quantization/weight_quantizer.h"
#include "tests/pipeline/tiny_model.h"

using namespace compressor;

namespace {

passes::WeightQuantOptions w4(bool symmetric, int64_t group = 16) {
  passes::WeightQuantOptions o;
  o.args.num_bits = 4;
  o.args.symmetric = symmetric;
  o.args.strategy = quant::Strategy::group;
  o.args.group_size = group;
  o.format = "pack-quantized";
  return o;
}

// Quantizes every block linear of `m` with `o` (RTN), as a quantization stage would.
void quantize_linears(model::Model& m, const passes::WeightQuantOptions& o) {
  torch::NoGradGuard no_grad;
  for (auto& s : m.slots()) {
    if (!s.is_linear()) continue;
    auto q = passes::quantize_weight(s.weight, o, s.name);
    s.set_weight(formats::dequantize(q));
    s.quantized = q;
  }
}

std::vector<model::LinearSlot*> linears(model::Model& m) {
  std::vector<model::LinearSlot*> out;
  for (auto& s : m.slots()) {
    if (s.is_linear()) out.push_back(&s);
  }
  return out;
}

}  // namespace

TEST_CASE("qat: fake quantization is the integer reference forward and straight-through backward") {
  torch::manual_seed(1);
  auto w = (torch::randn({4, 8}) * 0.3).set_requires_grad(true);
  const float scale = 0.05f;
  const int32_t zp = 3;
  const quant::IntQParams p{scale, zp};
  auto out = distill::QatLinears::fake_quantize(w, torch::full({4, 8}, scale), torch::full({4, 8}, static_cast<float>(zp)),
                                                quant::int_qmin(4), quant::int_qmax(4));
  for (int64_t i = 0; i < 32; ++i) {
    const float x = w.detach().reshape({-1})[i].item<float>();
    CHECK(out.detach().reshape({-1})[i].item<float>() == quant::dequantize_int(quant::quantize_int(x, p, 4), p));
  }
  out.sum().backward();
  // Gradient 1 where the rounded code lies in [qmin, qmax] (the bounds included), 0 where clamping
  // moved it.
  for (int64_t i = 0; i < 32; ++i) {
    const float v = w.detach().reshape({-1})[i].item<float>() / scale + static_cast<float>(zp);
    const bool inside = std::nearbyint(v) >= quant::int_qmin(4) && std::nearbyint(v) <= quant::int_qmax(4);
    CHECK(w.grad().reshape({-1})[i].item<float>() == (inside ? 1.0f : 0.0f));
  }
}

TEST_CASE("qat: installing starts from the PTQ weights and freezing gives the reference codes") {
  for (bool symmetric : {true, false}) {
    INFO("symmetric " << symmetric);
    auto m = test_util::tiny_gpt2(2);
    quantize_linears(*m, w4(symmetric));
    auto slots = linears(*m);
    std::vector<torch::Tensor> before;
    for (auto* s : slots) before.push_back(s->weight.detach().clone());
    distill::QatLinears qat(slots, false, "stages[1].passes[0].qat");
    distill::TrainParams params;
    qat.add_params(params);
    CHECK(params.decay.size() == slots.size());
    CHECK(params.no_decay.empty());

    qat.install();
    for (size_t i = 0; i < slots.size(); ++i) CHECK(torch::equal(slots[i]->weight.detach(), before[i]));
    qat.uninstall();
    CHECK(slots[0]->weight.is_same(params.decay[0]));

    // Move the latents as training would; freezing must round them on the PTQ grid.
    {
      torch::NoGradGuard no_grad;
      for (auto& t : params.decay) t.add_(torch::randn_like(t) * 0.02);
    }
    const auto latent = slots[1]->weight.detach().clone();
    const auto q0 = *slots[1]->quantized;
    const double changed = qat.freeze();
    CHECK(changed > 0);
    CHECK(changed < 1);
    const auto& q = *slots[1]->quantized;
    CHECK(torch::equal(q.scale, q0.scale));  // fixed scales stay as PTQ made them
    const int64_t cols = latent.size(1);
    for (int64_t r = 0; r < latent.size(0); r += 7) {
      for (int64_t c = 0; c < cols; c += 3) {
        const int64_t u = c / 16;
        const quant::IntQParams p{q.scale[r][u].item<float>(), q.zero_point.defined() ? q.zero_point[r][u].item<int32_t>() : 0};
        CHECK(q.codes[r][c].item<int8_t>() == quant::quantize_int(latent[r][c].item<float>(), p, 4));
      }
    }
    CHECK(torch::equal(slots[1]->weight, formats::dequantize(q)));
  }
}

TEST_CASE("qat: a masked latent freezes to zero and learned scales are stored f16 values") {
  auto m = test_util::tiny_gpt2(3);
  quantize_linears(*m, w4(false));
  auto slots = linears(*m);
  auto* s = slots[0];
  s->mask = torch::rand(s->weight.sizes()) > 0.5;
  {
    torch::NoGradGuard no_grad;
    s->weight.mul_(s->mask);
  }
  distill::QatLinears qat(slots, true, "qat");
  distill::TrainParams params;
  qat.add_params(params);
  REQUIRE(params.no_decay.size() == slots.size());  // one scale tensor per linear
  for (auto& t : params.decay) t.requires_grad_(true);
  qat.install();
  auto ids = torch::randint(0, 256, {2, 5}, torch::kLong);
  m->forward(ids).pow(2).mean().backward();
  qat.uninstall();
  CHECK(params.decay[0].grad().defined());
  CHECK(params.no_decay[0].grad().defined());
  CHECK(params.no_decay[0].grad().abs().sum().item<double>() > 0);
  {
    torch::NoGradGuard no_grad;
    params.no_decay[0].add_(0.0123);  // a learned (log) scale, off the f16 grid
  }
  for (auto& t : params.decay) t.requires_grad_(false);
  qat.freeze();
  const auto& q = *s->quantized;
  CHECK(torch::equal(s->weight.masked_select(~s->mask), torch::zeros({(~s->mask).sum().item<int64_t>()})));
  const auto flat = q.scale.reshape({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const float v = flat[i].item<float>();
    CHECK(quant::round_to_dtype(v, quant::ScaleDtype::f16) == v);
  }
  formats::check(q, s->name);
}

TEST_CASE("qat: refuses linears no earlier stage quantized") {
  auto m = test_util::tiny_gpt2(4);
  CHECK_THROWS_WITH(distill::QatLinears(linears(*m), false, "stages[1].passes[0].qat"),
                    Catch::Contains("is not quantized"));
}

TEST_CASE("qat: checkpointed blocks train latents and learned scales as the plain forward does") {
  auto m = test_util::tiny_gpt2(5);
  quantize_linears(*m, w4(false));
  distill::QatLinears qat(linears(*m), true, "qat");
  distill::TrainParams params;
  qat.add_params(params);
  std::vector<torch::Tensor> trained = params.decay;
  trained.insert(trained.end(), params.no_decay.begin(), params.no_decay.end());
  {
    // Off their grid points, as training moves them: at the PTQ weights the scales' LSQ gradient
    // is rounding noise (every w/s is an integer).
    torch::NoGradGuard no_grad;
    for (auto& t : params.decay) t.add_(torch::randn(t.sizes(), at::make_generator<at::CPUGeneratorImpl>(7)) * 0.02);
  }
  for (auto& t : trained) t.requires_grad_(true);
  const auto ids = torch::randint(0, 256, {2, 9}, at::make_generator<at::CPUGeneratorImpl>(4), torch::kLong);
  const auto weights = torch::randn({2, 9, 256}, at::make_generator<at::CPUGeneratorImpl>(6));
  auto grads = [&](bool checkpointed) {
    for (auto& t : trained) {
      if (t.grad().defined()) t.mutable_grad().zero_();
    }
    // As the distillation pass does: fake-quantized weights in for the forward, latents back
    // before the backward, which a checkpointed block runs its forward again in.
    qat.install();
    model::BlockInputs in;
    auto x = m->embed(model::Batch{ids, {}, {}}, &in);
    for (int i = 0; i < m->num_blocks(); ++i) x = checkpointed ? distill::checkpointed_block(*m, i, x, in) : m->run_block(i, x, in);
    const auto loss = (m->head(x) * weights).sum();
    qat.uninstall();
    loss.backward();
    std::vector<torch::Tensor> out;
    for (auto& t : trained) out.push_back(t.grad().clone());
    return out;
  };
  const auto plain = grads(false), checkpointed = grads(true);
  for (size_t i = 0; i < plain.size(); ++i) {
    INFO("tensor " << i);
    CHECK(plain[i].abs().sum().item<double>() > 0);
    CHECK((checkpointed[i] - plain[i]).abs().max().item<double>() <= 1e-5 * plain[i].abs().max().item<double>());
  }
}

// AdamW moves each parameter by about lr per step, whatever its size. Scales train in the log, so
// each moves by about lr relative to itself: small scales are not swamped (trained directly, a step
// of lr would be lr / scale of a scale, 100% and more here).
TEST_CASE("qat: an AdamW step moves every learned scale by about lr relative to its size") {
  auto m = test_util::tiny_gpt2(6);
  quantize_linears(*m, w4(true));
  auto slots = linears(*m);
  std::vector<torch::Tensor> before;
  for (auto* s : slots) before.push_back(s->quantized->scale.to(torch::kFloat).clone());
  distill::QatLinears qat(slots, true, "qat");
  distill::TrainParams params;
  qat.add_params(params);
  for (auto& t : params.no_decay) t.requires_grad_(true);
  {
    torch::NoGradGuard no_grad;  // off the grid, so the scales' gradient is not rounding noise
    for (auto& t : params.decay) t.add_(torch::randn(t.sizes(), at::make_generator<at::CPUGeneratorImpl>(8)) * 0.02);
  }
  const double lr = 0.01;
  torch::optim::AdamW opt(params.no_decay, torch::optim::AdamWOptions(lr).weight_decay(0));
  qat.install();
  const auto ids = torch::randint(0, 256, {2, 9}, at::make_generator<at::CPUGeneratorImpl>(9), torch::kLong);
  m->forward(ids).pow(2).mean().backward();
  qat.uninstall();
  opt.step();
  double smallest = 1e30;
  for (size_t i = 0; i < slots.size(); ++i) {
    smallest = std::min(smallest, before[i].min().item<double>());
    const auto ratio = params.no_decay[i].detach().exp() / before[i];
    INFO("linear " << i);
    CHECK((ratio - 1).abs().max().item<double>() <= 1.01 * lr);
    CHECK((ratio - 1).abs().max().item<double>() >= 0.5 * lr);  // they do move
  }
  CHECK(smallest < lr);  // some scale is smaller than one absolute step of lr
  // freeze() writes the trained scales, rounded to f16.
  for (auto& t : params.decay) t.requires_grad_(false);
  for (auto& t : params.no_decay) t.requires_grad_(false);
  qat.freeze();
  const auto expected = params.no_decay[0].exp();
  const auto& stored = slots[0]->quantized->scale;
  CHECK(torch::allclose(stored.to(torch::kFloat), expected, 1e-3, 0));
}
