#include "distill/qat.h"

#include <cmath>

#include "compressor/base/error.h"
#include "compressor/quant/int_codec.h"
#include "formats/quantized_tensor.h"

namespace compressor::distill {

struct QatLinears::Linear {
  model::LinearSlot* slot;
  torch::Tensor latent;          // the slot's own weight tensor: what trains
  torch::Tensor scale;           // float32 [scale_rows, scale_cols]: the PTQ result's
  // With learn_scales, what trains: log(scale), a leaf. AdamW moves a parameter by about lr per
  // step whatever its gradient's size, so a scale trained directly would move by lr in absolute
  // terms (a 1e-4 step is 10% of a 1e-3 scale); in the log it moves by lr relative to its size.
  torch::Tensor log_scale;
  torch::Tensor zero_point;      // float32, the scale's shape (zeros when symmetric)
  torch::Tensor column_unit;     // int64 [in]: each column's scale column (undefined when scale_cols == 1)
  torch::Tensor initial_codes;   // the PTQ result's, for the share changed
  int64_t qmin = 0, qmax = 0;
  double lsq_gradient_scale = 1;
};

namespace {

// [rows, cols] per-weight values of a [scale_rows, scale_cols] tensor.
torch::Tensor expand(const torch::Tensor& t, const torch::Tensor& column_unit, int64_t rows, int64_t cols) {
  auto e = column_unit.defined() ? t.index_select(1, column_unit) : t;
  return e.expand({rows, cols});
}

// A scale of zero (an all-zero group) trains from here: every weight of the group still rounds to 0.
constexpr double kMinScale = 1e-12;

// Forward value x, gradient scaled by g (LSQ's trick).
torch::Tensor scale_gradient(const torch::Tensor& x, double g) { return x * g + (x - x * g).detach(); }

}  // namespace

torch::Tensor QatLinears::fake_quantize(const torch::Tensor& w, const torch::Tensor& scale, const torch::Tensor& zero_point,
                                        int64_t qmin, int64_t qmax) {
  const auto x = w / scale + zero_point;
  const auto rounded = x + (torch::round(x) - x).detach();  // straight through round
  const auto q = torch::clamp(rounded, static_cast<double>(qmin), static_cast<double>(qmax));
  return (q - zero_point) * scale;
}

QatLinears::QatLinears(std::vector<model::LinearSlot*> slots, bool learn_scales, const std::string& where)
    : learn_scales_(learn_scales) {
  for (auto* slot : slots) {
    if (!slot->quantized) {
      throw BadInput(where, "'" + slot->name + "' is not quantized: QAT starts from a quantization an earlier stage "
                                               "made (quantization, gptq or awq)");
    }
    const auto& q = *slot->quantized;
    if (q.args.type != quant::QuantType::integer) {
      throw BadInput(where, "'" + slot->name + "' is quantized with a float (FP8) scheme; QAT trains integer schemes");
    }
    Linear l;
    l.slot = slot;
    l.latent = slot->weight;
    const auto layout = q.layout(slot->name);
    const int64_t rows = q.rows(), cols = q.cols();
    if (layout.scale_cols > 1) {
      l.column_unit = q.g_idx.defined() ? q.g_idx.to(torch::kLong)
                                        : torch::arange(cols, torch::kLong).div(layout.group_size, "floor");
    }
    l.scale = q.scale.to(torch::kFloat).clone();
    l.zero_point = q.zero_point.defined() ? q.zero_point.to(torch::kFloat) : torch::zeros_like(l.scale);
    l.initial_codes = q.codes.clone();
    l.qmin = quant::int_qmin(q.args.num_bits);
    l.qmax = quant::int_qmax(q.args.num_bits);
    const double per_scale = static_cast<double>(rows * cols) / static_cast<double>(l.scale.numel());
    l.lsq_gradient_scale = 1.0 / std::sqrt(per_scale * static_cast<double>(l.qmax));
    if (learn_scales) l.log_scale = l.scale.clamp_min(kMinScale).log().set_requires_grad(true);
    // The latent starts at the PTQ result's dequantized weight, which the slot holds already.
    linears_.push_back(std::move(l));
  }
}

QatLinears::~QatLinears() = default;

void QatLinears::add_params(TrainParams& params) const {
  for (const auto& l : linears_) {
    params.decay.push_back(l.latent);
    if (learn_scales_) params.no_decay.push_back(l.log_scale);
  }
}

void QatLinears::install() {
  for (auto& l : linears_) {
    const int64_t rows = l.latent.size(0), cols = l.latent.size(1);
    auto s = learn_scales_ ? torch::exp(scale_gradient(l.log_scale, l.lsq_gradient_scale)) : l.scale;
    l.slot->weight = fake_quantize(l.latent, expand(s, l.column_unit, rows, cols),
                                   expand(l.zero_point, l.column_unit, rows, cols), l.qmin, l.qmax);
  }
}

void QatLinears::uninstall() {
  for (auto& l : linears_) l.slot->weight = l.latent;
}

double QatLinears::freeze() {
  torch::NoGradGuard no_grad;
  uninstall();
  int64_t changed = 0, total = 0;
  for (auto& l : linears_) {
    auto& q = *l.slot->quantized;
    if (learn_scales_) {
      // Scales as stored (f16/bf16), so codes are computed with exactly what the artifact holds.
      auto s = l.log_scale.detach().exp().contiguous();
      float* p = s.data_ptr<float>();
      for (int64_t i = 0; i < s.numel(); ++i) p[i] = quant::stored_scale(std::max(p[i], 0.0f), q.scale_dtype);
      q.scale = s;
    }
    const int64_t rows = l.latent.size(0), cols = l.latent.size(1);
    const auto s = expand(q.scale, l.column_unit, rows, cols);
    const auto z = expand(l.zero_point, l.column_unit, rows, cols);
    // quant::quantize_int's arithmetic: clamp(round(x / scale + zero_point)).
    const auto codes = torch::clamp(torch::round(l.latent / s + z), static_cast<double>(l.qmin), static_cast<double>(l.qmax));
    q.codes = codes.to(q.codes.scalar_type());
    formats::check(q, l.slot->name);
    changed += (q.codes != l.initial_codes).sum().item<int64_t>();
    total += q.codes.numel();
    l.latent.copy_(formats::dequantize(q));
    ++l.slot->generation;  // statistics of the old weight are stale; the codes are the new ones
  }
  return total ? static_cast<double>(changed) / static_cast<double>(total) : 0.0;
}

}  // namespace compressor::distill
