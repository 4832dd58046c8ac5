// Pruning and quantizing in one sweep (SparseGPT's joint mode, run by GPTQ's sweep with SparseGPT's
// mask), and GPTQ keeping an earlier pass's zeros: against a float64 transcription of the paper's
// Algorithm 1 with a quantizer in the column loop, the exact mask patterns, and a smaller output
// error than pruning first and rounding afterwards.
#include <catch2/catch.hpp>

#include <algorithm>
#include <tuple>
#include <vector>

#include "compressor/quant/int_codec.h"
#include "formats/quantized_tensor.h"
#include "passes/pruning/mask.h"
#include "passes/pruning/sparsegpt.h"
#include "passes/quantization/gptq.h"
#include "passes/quantization/weight_quantizer.h"
#include "tests/catch_util.h"
#include "tests/pipeline/sparsegpt_reference.h"

using namespace compressor;
using passes::MaskStructure;
using sparsegpt_reference::choose_mask;
using sparsegpt_reference::correlated_inputs;
using sparsegpt_reference::hessian_of;
using sparsegpt_reference::inverse_factor;
using sparsegpt_reference::relative_output_error;

namespace {

quant::QuantArgs int4(quant::Strategy strategy, int64_t group = 0) {
  quant::QuantArgs a;
  a.num_bits = 4;
  a.symmetric = false;
  a.strategy = strategy;
  a.group_size = group;
  return a;
}

passes::GptqOptions joint(const quant::QuantArgs& a, double sparsity, MaskStructure s, int64_t block) {
  passes::GptqOptions o;
  o.quant.args = a;
  o.quant.scale_dtype = quant::ScaleDtype::f16;
  o.block_size = block;
  o.dampening_frac = 0.01;
  o.prune = passes::obs::MaskOptions{sparsity, s};
  return o;
}

// The paper's Algorithm 1 with quantization in the column loop (its §3.4 joint mode), float64, no
// lazy batching. At each column: the mask for a new block of B columns (unstructured) or of the
// next M (N:M), chosen by w² / U_jj² from the current weights; a group's range at its first column
// from the current weights of the group that are not pruned (per channel: the original rows); then
// every weight becomes its quantized value, or zero when pruned, and its error updates every later
// column through U. Returns the weights and the keep mask.
std::pair<torch::Tensor, torch::Tensor> joint_reference(const torch::Tensor& w0, const torch::Tensor& h, const quant::QuantArgs& a,
                              double sparsity, const MaskStructure& s, int64_t B) {
  const int64_t rows = w0.size(0), cols = w0.size(1);
  const auto u = inverse_factor(h, 0.01);
  auto w = w0.to(torch::kFloat64).clone();
  auto pruned = torch::zeros({rows, cols}, torch::kBool);
  const bool grouped = a.strategy == quant::Strategy::group;
  std::vector<quant::IntQParams> p(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows && !grouped; ++r) {
    p[static_cast<size_t>(r)] = quant::int_qparams(w0[r].min().item<float>(), w0[r].max().item<float>(), a.num_bits,
                                                   a.symmetric, quant::ScaleDtype::f16);
  }
  for (int64_t c = 0; c < cols; ++c) {
    choose_mask(pruned, w, u, c, sparsity, s, B);
    if (grouped && c % a.group_size == 0) {
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> kept;
        for (int64_t j = c; j < c + a.group_size; ++j) {
          if (!pruned[r][j].item<bool>()) kept.push_back(static_cast<float>(w[r][j].item<double>()));
        }
        const float lo = kept.empty() ? 0.f : *std::min_element(kept.begin(), kept.end());
        const float hi = kept.empty() ? 0.f : *std::max_element(kept.begin(), kept.end());
        p[static_cast<size_t>(r)] = quant::int_qparams(lo, hi, a.num_bits, a.symmetric, quant::ScaleDtype::f16);
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float x = pruned[r][c].item<bool>() ? 0.f : static_cast<float>(w[r][c].item<double>());
      const auto& pr = p[static_cast<size_t>(r)];
      const double q = quant::dequantize_int(quant::quantize_int(x, pr, a.num_bits), pr);
      const double e = (w[r][c].item<double>() - q) / u[c][c].item<double>();
      for (int64_t j = c + 1; j < cols; ++j) w[r][j] -= e * u[c][j].item<double>();
      w[r][c] = q;
    }
  }
  return {w, pruned.logical_not()};
}

}  // namespace

TEST_CASE("sparsegpt quantizing: the lazy blocked joint sweep equals Algorithm 1 with its quantizer in float64",
          "[sparsegpt][gptq]") {
  const auto x = correlated_inputs(200, 32, 11);
  const auto h = hessian_of(x);
  torch::manual_seed(12);
  const auto w = torch::randn({6, 32}, torch::kFloat64) * 0.05;
  for (const auto& [args, structure, sparsity, block, ref_block] :
       {std::tuple<quant::QuantArgs, MaskStructure, double, int64_t, int64_t>{int4(quant::Strategy::channel), {0, 0}, 0.5, 8, 8},
        {int4(quant::Strategy::group, 8), {0, 0}, 0.6, 16, 16},
        {int4(quant::Strategy::group, 8), {0, 0}, 0.5, 12, 8},  // the block rounds down to the group
        {int4(quant::Strategy::group, 8), {2, 4}, 0.0, 8, 8},
        {int4(quant::Strategy::channel), {2, 4}, 0.0, 6, 4}}) {  // the block rounds down to M
    CAPTURE(structure.str(), sparsity, block, args.group_size);
    const auto r = passes::gptq_quantize_f64(w.to(torch::kFloat32), h, joint(args, sparsity, structure, block), "w");
    const auto [want, want_keep] = joint_reference(w.to(torch::kFloat32), h, args, sparsity, structure, ref_block);
    const auto got = formats::dequantize(r.q).to(torch::kFloat64);
    CHECK(torch::allclose(got, want, 1e-6, 1e-7));
    CHECK(torch::equal(r.keep, want_keep));
    CHECK((got.masked_select(r.keep.logical_not()) == 0).all().item<bool>());
  }
}

TEST_CASE("sparsegpt quantizing: exact sparsity and pattern, pruned weights take the code of zero", "[sparsegpt][gptq]") {
  const auto x = correlated_inputs(256, 64, 13);
  const auto h = hessian_of(x);
  torch::manual_seed(14);
  const auto w = torch::randn({16, 64}) * 0.05;
  for (const auto& structure : {MaskStructure{0, 0}, MaskStructure{2, 4}}) {
    CAPTURE(structure.str());
    auto a = int4(quant::Strategy::group, 16);
    a.symmetric = structure.unstructured();  // both zero conventions
    const auto r = passes::gptq_quantize(w, h, joint(a, 0.5, structure, 128), "w");
    const auto deq = formats::dequantize(r.q);
    CHECK(r.keep.logical_not().sum().item<int64_t>() == 16 * 32);
    if (!structure.unstructured()) CHECK((r.keep.reshape({16, 16, 4}).sum(2) == 2).all().item<bool>());
    CHECK((deq.masked_select(r.keep.logical_not()) == 0).all().item<bool>());
  }
}

TEST_CASE("sparsegpt quantizing: one sweep beats pruning then rounding, and GPTQ keeps an earlier mask's zeros",
          "[sparsegpt][gptq]") {
  const auto x = correlated_inputs(512, 64, 15);
  const auto h = hessian_of(x);
  torch::manual_seed(16);
  const auto w = torch::randn({32, 64}) * 0.05;
  // 3 bits: rounding costs about as much as pruning, so compensating it shows.
  auto a = int4(quant::Strategy::group, 16);
  a.num_bits = 3;
  passes::WeightQuantOptions rtn;
  rtn.args = a;
  for (const auto& structure : {MaskStructure{0, 0}, MaskStructure{2, 4}}) {
    CAPTURE(structure.str());
    const auto one = passes::gptq_quantize(w, h, joint(a, 0.5, structure, 128), "w");
    passes::SparseGptOptions so;
    so.sparsity = 0.5;
    so.structure = structure;
    const auto pruned = passes::sparsegpt_prune(w, h, {}, so, "w");
    const auto pruned_then_rtn = passes::fake_quantize_weight(pruned.weight, rtn, "w");
    // GPTQ with the SparseGPT mask fixed: the sequential recipe (sparsegpt, then gptq).
    auto go = joint(a, 0.0, {0, 0}, 128);
    go.prune.reset();
    go.keep = pruned.keep;
    const auto then_gptq = passes::gptq_quantize(pruned.weight, h, go, "w");
    const auto deq = formats::dequantize(then_gptq.q);
    CHECK(torch::equal(then_gptq.keep, pruned.keep));
    CHECK((deq.masked_select(pruned.keep.logical_not()) == 0).all().item<bool>());
    const double e_one = relative_output_error(w, formats::dequantize(one.q), x), e_rtn = relative_output_error(w, pruned_then_rtn, x),
                 e_seq = relative_output_error(w, deq, x);
    INFO("joint " << e_one << ", sparsegpt then gptq " << e_seq << ", sparsegpt then rtn " << e_rtn);
    CHECK(e_one < e_rtn);
    CHECK(e_seq < e_rtn);
  }
}

TEST_CASE("sparsegpt quantizing: N:M with actorder and a width M does not divide are named", "[sparsegpt][gptq][bad-input]") {
  const auto h = torch::eye(12, torch::kFloat64);
  auto a = int4(quant::Strategy::channel);
  a.actorder = quant::ActOrder::static_order;
  CHECK_THROWS_WITH(passes::gptq_quantize(torch::randn({4, 12}), h, joint(a, 0, {2, 4}, 128), "model.layers.3.mlp.down_proj"),
                    Catch::Contains("model.layers.3.mlp.down_proj") && Catch::Contains("actorder"));
  CHECK_THROWS_WITH(passes::gptq_quantize(torch::randn({4, 12}), h, joint(int4(quant::Strategy::channel), 0, {2, 8}, 128),
                                          "model.layers.3.mlp.up_proj"),
                    Catch::Contains("model.layers.3.mlp.up_proj") && Catch::Contains("width 12"));
}
