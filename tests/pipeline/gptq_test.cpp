// GPTQ against independent definitions: a plain float64 transcription of the paper's algorithm
// (explicit inverse Hessian, one column at a time, Gaussian elimination of H⁻¹, no lazy batching
// and no Cholesky), round to nearest when the Hessian is diagonal, and a smaller ‖WX − ŴX‖ than
// round to nearest on correlated inputs.
#include <catch2/catch.hpp>

#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"
#include "passes/quantization/gptq.h"
#include "tests/catch_util.h"

using namespace compressor;
using test_util::bad_input_message;

namespace {

quant::QuantArgs int_args(int bits, bool symmetric, quant::Strategy strategy, int64_t group = 0) {
  quant::QuantArgs a;
  a.num_bits = bits;
  a.symmetric = symmetric;
  a.strategy = strategy;
  a.group_size = group;
  return a;
}

passes::GptqOptions options(const quant::QuantArgs& a, int64_t block = 128) {
  passes::GptqOptions o;
  o.quant.args = a;
  o.quant.scale_dtype = quant::ScaleDtype::f16;
  o.quant.format = "pack-quantized";
  o.block_size = block;
  return o;
}

// Correlated inputs: X = Z · M with a random mixing matrix, so H has strong off-diagonals.
torch::Tensor inputs(int64_t n, int64_t cols, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto z = at::normal(0, 1, {n, cols}, g).to(torch::kFloat64);
  auto m = at::normal(0, 1, {cols, cols}, g).to(torch::kFloat64) / std::sqrt(static_cast<double>(cols));
  m.diagonal().add_(1.0);
  return z.matmul(m);
}

torch::Tensor weights(int64_t rows, int64_t cols, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::normal(0, 0.05, {rows, cols}, g);
}

torch::Tensor hessian_of(const torch::Tensor& x) { return 2.0 * x.t().matmul(x) / static_cast<double>(x.size(0)); }

// The paper's algorithm (GPTQ, arXiv:2210.17323, eq. 2-3 with the fixed column order of §3.1), in
// float64: quantize column q, spread its error over the remaining columns F by
// δ_F = −(w_q − quant(w_q)) / [H_F⁻¹]_qq · (H_F⁻¹)_{:,q}, then remove q from H⁻¹ by Gaussian
// elimination. Group parameters are fitted when the first column of a group is reached, from the
// columns as they are then. Returns the codes [rows, cols].
torch::Tensor reference_codes(const torch::Tensor& w32, const torch::Tensor& h_in, const quant::QuantArgs& a,
                              double dampening_frac) {
  const int64_t rows = w32.size(0), cols = w32.size(1);
  auto w = w32.to(torch::kFloat64).clone();
  auto h = h_in.to(torch::kFloat64).clone();
  for (int64_t i = 0; i < cols; ++i) {
    if (h[i][i].item<double>() == 0) {
      h[i][i] = 1.0;
      w.select(1, i).zero_();
    }
  }
  h.diagonal().add_(dampening_frac * h.diagonal().mean().item<double>());
  auto hinv = torch::inverse(h);
  const int64_t gs = a.strategy == quant::Strategy::group ? a.group_size : cols;
  std::vector<quant::IntQParams> p(static_cast<size_t>(rows));
  auto codes = torch::zeros({rows, cols}, torch::kInt32);
  for (int64_t r = 0; r < rows && a.strategy != quant::Strategy::group; ++r) {  // channel: from the original row
    const float lo = w32[r].min().item<float>(), hi = w32[r].max().item<float>();
    p[static_cast<size_t>(r)] = quant::int_qparams(lo, hi, a.num_bits, a.symmetric, quant::ScaleDtype::f16);
  }
  for (int64_t i = 0; i < cols; ++i) {
    if (a.strategy == quant::Strategy::group && i % gs == 0) {
      for (int64_t r = 0; r < rows; ++r) {
        const auto g = w[r].narrow(0, i, gs).to(torch::kFloat32);
        p[static_cast<size_t>(r)] =
            quant::int_qparams(g.min().item<float>(), g.max().item<float>(), a.num_bits, a.symmetric, quant::ScaleDtype::f16);
      }
    }
    const double d = hinv[i][i].item<double>();
    auto err = torch::empty({rows}, torch::kFloat64);
    for (int64_t r = 0; r < rows; ++r) {
      const float x = static_cast<float>(w[r][i].item<double>());
      const int8_t c = quant::quantize_int(x, p[static_cast<size_t>(r)], a.num_bits);
      codes[r][i] = c;
      const double q = quant::dequantize_int(c, p[static_cast<size_t>(r)]);
      err[r] = (w[r][i].item<double>() - q) / d;
      w[r][i] = q;
    }
    if (i + 1 < cols) {
      auto rest = w.narrow(1, i + 1, cols - i - 1);
      rest.sub_(err.unsqueeze(1) * hinv[i].narrow(0, i + 1, cols - i - 1).unsqueeze(0));
    }
    hinv = hinv - hinv.select(1, i).unsqueeze(1) * hinv.select(0, i).unsqueeze(0) / d;
  }
  return codes;
}

double output_error(const torch::Tensor& w, const torch::Tensor& wq, const torch::Tensor& x) {
  const auto y = x.matmul(w.to(torch::kFloat64).t());
  const auto yq = x.matmul(wq.to(torch::kFloat64).t());
  return (y - yq).pow(2).sum().item<double>() / y.pow(2).sum().item<double>();
}

}  // namespace

TEST_CASE("gptq: the lazy blocked sweep equals the paper's column-by-column algorithm in float64", "[gptq]") {
  const int64_t rows = 12, cols = 64;
  const auto x = inputs(256, cols, 1);
  const auto h = hessian_of(x);
  const auto w = weights(rows, cols, 2);
  struct Case {
    const char* name;
    quant::QuantArgs args;
  };
  const std::vector<Case> cases = {
      {"int4 g16 sym", int_args(4, true, quant::Strategy::group, 16)},
      {"int4 g16 asym", int_args(4, false, quant::Strategy::group, 16)},
      {"int3 g32 asym", int_args(3, false, quant::Strategy::group, 32)},
      {"int2 channel asym", int_args(2, false, quant::Strategy::channel)},
      {"int8 channel sym", int_args(8, true, quant::Strategy::channel)},
  };
  for (const auto& c : cases) {
    const auto expected = reference_codes(w, h, c.args, 0.01);
    for (int64_t block : {int64_t{16}, int64_t{32}, int64_t{128}}) {
      INFO(c.name << ", block " << block);
      const auto r = passes::gptq_quantize_f64(w, h, options(c.args, block), "w");
      const auto got = r.q.codes.to(torch::kInt32);
      CHECK(got.ne(expected).sum().item<int64_t>() == 0);
      CHECK(r.dampening_frac == 0.01);
    }
  }
}

TEST_CASE("gptq: the float32 sweep agrees with the float64 one on almost every code", "[gptq]") {
  const auto x = inputs(512, 128, 3);
  const auto w = weights(64, 128, 4);
  const auto a = int_args(4, true, quant::Strategy::group, 32);
  const auto r64 = passes::gptq_quantize_f64(w, hessian_of(x), options(a, 64), "w");
  const auto r32 = passes::gptq_quantize(w, hessian_of(x).to(torch::kFloat32), options(a, 64), "w");
  const double differ = r64.q.codes.ne(r32.q.codes).to(torch::kFloat64).mean().item<double>();
  CHECK(differ < 0.01);  // rounding ties decided differently by float32 arithmetic, and their knock-on
}

TEST_CASE("gptq: with a diagonal Hessian it is round to nearest exactly", "[gptq]") {
  const auto w = weights(32, 64, 5);
  auto g = at::make_generator<at::CPUGeneratorImpl>(6);
  const auto h = torch::diag(at::rand({64}, g) + 0.1);
  for (const auto& a : {int_args(4, true, quant::Strategy::group, 16), int_args(4, false, quant::Strategy::group, 32),
                        int_args(8, false, quant::Strategy::channel), int_args(3, true, quant::Strategy::tensor)}) {
    for (auto order : {quant::ActOrder::none, quant::ActOrder::static_order}) {
      auto o = options(a, 16);
      o.quant.args.actorder = order;
      INFO("bits " << a.num_bits << " strategy " << quant::to_string(a.strategy) << " actorder " << quant::to_string(order));
      const auto r = passes::gptq_quantize(w, h, o, "w");
      auto rtn_opts = o.quant;
      rtn_opts.args.actorder = quant::ActOrder::none;
      const auto rtn = passes::quantize_weight(w, rtn_opts, "w");
      CHECK(r.q.codes.equal(rtn.codes));
      CHECK(r.q.scale.equal(rtn.scale));
      if (rtn.zero_point.defined()) CHECK(r.q.zero_point.equal(rtn.zero_point));
    }
  }
}

TEST_CASE("gptq: lower output error than round to nearest at 4 and 3 bits, with and without actorder", "[gptq]") {
  const int64_t cols = 128;
  const auto x = inputs(1024, cols, 7);
  const auto h = hessian_of(x).to(torch::kFloat32);
  const auto w = weights(96, cols, 8);
  for (int bits : {4, 3}) {
    for (auto order : {quant::ActOrder::none, quant::ActOrder::weight}) {
      auto o = options(int_args(bits, false, quant::Strategy::group, 32));
      o.quant.args.actorder = order;
      const auto r = passes::gptq_quantize(w, h, o, "w");
      auto rtn_opts = o.quant;
      rtn_opts.args.actorder = quant::ActOrder::none;
      const auto rtn = passes::quantize_weight(w, rtn_opts, "w");
      const double e_gptq = output_error(w, formats::dequantize(r.q), x.to(torch::kFloat64));
      const double e_rtn = output_error(w, formats::dequantize(rtn), x.to(torch::kFloat64));
      INFO(bits << " bits, actorder " << quant::to_string(order) << ": gptq " << e_gptq << ", rtn " << e_rtn);
      CHECK(e_gptq < 0.8 * e_rtn);
    }
  }
}

TEST_CASE("gptq: dead inputs zero their columns, a Hessian needing more damping gets it, one that never factors is named",
          "[gptq][bad-input]") {
  const auto a = int_args(4, true, quant::Strategy::channel);
  SECTION("a column whose input is always zero") {
    auto x = inputs(128, 16, 9);
    x.select(1, 5).zero_();
    const auto r = passes::gptq_quantize(weights(8, 16, 10), hessian_of(x).to(torch::kFloat32), options(a), "w");
    CHECK(r.dead_columns == 1);
    CHECK(r.q.codes.select(1, 5).eq(0).all().item<bool>());
  }
  SECTION("an indefinite Hessian that tenfold damping repairs") {
    auto h = torch::eye(16, torch::kFloat64);
    h[0][1] = h[1][0] = 1.05;  // eigenvalue -0.05: 0.01 of the mean diagonal is not enough, 0.1 is
    const auto r = passes::gptq_quantize(weights(8, 16, 11), h, options(a), "w");
    CHECK(r.dampening_frac == Approx(0.1));
  }
  SECTION("a Hessian that no damping up to dampening_frac 1 makes positive definite") {
    auto h = torch::eye(16, torch::kFloat64);
    h[0][1] = h[1][0] = 3.0;  // eigenvalue -2 against a mean diagonal of 1
    const std::string msg = bad_input_message([&] { passes::gptq_quantize(weights(8, 16, 12), h, options(a), "model.layers.3.mlp.down_proj"); });
    CHECK_THAT(msg, Catch::Contains("model.layers.3.mlp.down_proj") && Catch::Contains("not positive definite") &&
                        Catch::Contains("dampening_frac 1"));
  }
  SECTION("NaN in the Hessian") {
    auto h = torch::eye(16, torch::kFloat32);
    h[2][2] = std::nanf("");
    const std::string msg = bad_input_message([&] { passes::gptq_quantize(weights(8, 16, 13), h, options(a), "lm"); });
    CHECK_THAT(msg, Catch::Contains("lm") && Catch::Contains("NaN"));
  }
}

TEST_CASE("gptq: actorder group is GPTQ without actorder on the columns sorted by the Hessian diagonal, with g_idx",
          "[gptq]") {
  // Definition: sort columns by decreasing H_ii, run plain GPTQ (adjacent groups, fitted as GPTQ
  // reaches them) on the sorted problem, put the codes back in column order; column c's group is
  // its sorted position / group_size.
  const int64_t cols = 96, gs = 16;
  const auto x = inputs(512, cols, 21);
  auto h = hessian_of(x);
  const auto w = weights(24, cols, 22);
  const auto perm = std::get<1>(torch::sort(h.diagonal(), /*stable=*/true, 0, /*descending=*/true));
  for (const bool symmetric : {true, false}) {
    CAPTURE(symmetric);
    auto o = options(int_args(4, symmetric, quant::Strategy::group, gs), 32);
    const auto sorted = passes::gptq_quantize_f64(w.index_select(1, perm), h.index_select(0, perm).index_select(1, perm), o, "w");
    o.quant.args.actorder = quant::ActOrder::group;
    const auto r = passes::gptq_quantize_f64(w, h, o, "w");
    REQUIRE(r.q.g_idx.defined());
    CHECK(r.q.codes.index_select(1, perm).equal(sorted.q.codes));
    CHECK(r.q.scale.equal(sorted.q.scale));
    if (!symmetric) CHECK(r.q.zero_point.equal(sorted.q.zero_point));
    const auto g = r.q.g_idx.index_select(0, perm);
    CHECK(g.equal(torch::arange(cols, torch::kInt32).div(gs, "floor").to(torch::kInt32)));
    CHECK(r.loss == Approx(sorted.loss).epsilon(1e-12));
    // The fake-quant weight is the sorted one's, columns put back.
    const auto back = torch::empty_like(w);
    back.index_copy_(1, perm, formats::dequantize(sorted.q));
    CHECK(formats::dequantize(r.q).equal(back));
  }
}
