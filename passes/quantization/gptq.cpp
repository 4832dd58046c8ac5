#include "passes/quantization/gptq.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include <ATen/Parallel.h>

#include "compressor/base/error.h"
#include "compressor/quant/encoding.h"
#include "compressor/quant/fp8_codec.h"
#include "compressor/quant/int_codec.h"
#include "passes/obs/column_sweep.h"

namespace compressor::passes {

namespace {

// One unit's parameters and the scalar fake quantizer, compressed-tensors' arithmetic.
struct Quantizer {
  quant::QuantArgs args;
  quant::ScaleDtype scale_dtype;
  bool is_int = true;

  quant::IntQParams fit(float lo, float hi) const {
    if (is_int) return quant::int_qparams(lo, hi, args.num_bits, args.symmetric, scale_dtype);
    return {quant::fp8_scale(lo, hi, scale_dtype), 0};
  }
  // The dequantized value of x and its code (int8 code, or the FP8 bit pattern).
  float fake(float x, const quant::IntQParams& p, uint8_t* code) const {
    if (is_int) {
      const int8_t c = quant::quantize_int(x, p, args.num_bits);
      *code = static_cast<uint8_t>(c);
      return quant::dequantize_int(c, p);
    }
    const uint8_t c = quant::quantize_fp8(x, p.scale);
    *code = c;
    return quant::dequantize_fp8(c, p.scale);
  }
};

template <typename T>
GptqResult run(const torch::Tensor& weight, const torch::Tensor& hessian, const GptqOptions& o, const std::string& tensor) {
  torch::NoGradGuard no_grad;
  const auto& a = o.quant.args;
  quant::check(a, tensor);
  const torch::ScalarType dtype = std::is_same<T, double>::value ? torch::kFloat64 : torch::kFloat32;
  const int64_t rows = weight.size(0), cols = weight.size(1);
  if (hessian.dim() != 2 || hessian.size(0) != cols || hessian.size(1) != cols) {
    throw InternalError(tensor, "GPTQ needs a [" + std::to_string(cols) + ", " + std::to_string(cols) + "] Hessian");
  }
  if (!torch::isfinite(weight).all().item<bool>()) throw BadInput(tensor, "the weight has NaN or Inf values; cannot quantize it");
  if (!torch::isfinite(hessian).all().item<bool>()) throw BadInput(tensor, "its Hessian has NaN or Inf values (calibration inputs overflowed)");
  auto layout = quant::weight_layout(a, o.quant.format, rows, cols, tensor);
  const bool grouped = a.strategy == quant::Strategy::group;
  const bool ordered = a.actorder != quant::ActOrder::none;
  // actorder group: groups are runs of gs columns in processing order, wherever the columns sit.
  const bool ordered_groups = a.actorder == quant::ActOrder::group;
  const bool dynamic_groups = grouped && !o.static_groups && (!ordered || ordered_groups) && a.observer != "mse";
  const bool n_m = o.prune && !o.prune->structure.unstructured();
  if (n_m && ordered) {
    throw BadInput(tensor, "mask_structure " + o.prune->structure.str() +
                               " prunes adjacent columns, but actorder reorders them; set actorder: off");
  }
  if (n_m && cols % o.prune->structure.m != 0) {
    throw BadInput(tensor, "mask_structure " + o.prune->structure.str() + ": M does not divide the input width " +
                               std::to_string(cols));
  }
  if (o.keep.defined() && (o.keep.dim() != 2 || o.keep.size(0) != rows || o.keep.size(1) != cols)) {
    throw InternalError(tensor, "GPTQ's keep mask must have the weight's shape");
  }

  // Column order and the permuted Hessian.
  auto h = hessian.to(torch::kFloat64).contiguous();
  std::vector<int64_t> order(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) order[static_cast<size_t>(i)] = i;
  torch::Tensor order_index;
  if (ordered) {
    auto [sorted, idx] = torch::sort(h.diagonal(), /*stable=*/true, /*dim=*/0, /*descending=*/true);
    order_index = idx.contiguous();
    for (int64_t i = 0; i < cols; ++i) order[static_cast<size_t>(i)] = order_index.data_ptr<int64_t>()[i];
    h = h.index_select(0, order_index).index_select(1, order_index).contiguous();
  }
  if (ordered_groups) {
    std::vector<int32_t> g_idx(static_cast<size_t>(cols));
    for (int64_t i = 0; i < cols; ++i) g_idx[static_cast<size_t>(order[static_cast<size_t>(i)])] = static_cast<int32_t>(i / a.group_size);
    quant::set_group_index(layout, std::move(g_idx), tensor);
  }

  // Parameters from the original weight (the observer): all of them unless groups are dynamic.
  // Ordered groups are observed on the columns in processing order, where they are adjacent.
  const Quantizer qz{a, o.quant.scale_dtype, a.type == quant::QuantType::integer};
  const int64_t units = layout.scale_rows * layout.scale_cols;
  std::vector<quant::IntQParams> params(static_cast<size_t>(units));
  if (!dynamic_groups) {
    const auto observed = quantize_weight(ordered_groups ? weight.index_select(1, order_index) : weight, o.quant, tensor);
    const auto s = observed.scale.contiguous();
    const auto z = observed.zero_point.defined() ? observed.zero_point.contiguous() : torch::Tensor();
    for (int64_t u = 0; u < units; ++u) {
      params[static_cast<size_t>(u)] = {s.data_ptr<float>()[u], z.defined() ? z.data_ptr<int32_t>()[u] : 0};
    }
  }

  // WT: the weight transposed, [cols, rows], in processing order, so a column is contiguous.
  torch::Tensor wt = torch::empty({cols, rows}, dtype);
  {
    const torch::Tensor w64 = weight.to(dtype).contiguous();
    const T* src = w64.data_ptr<T>();
    T* dst = wt.data_ptr<T>();
    at::parallel_for(0, cols, 64, [&](int64_t c0, int64_t c1) {
      for (int64_t i = c0; i < c1; ++i) {
        const int64_t c = order[static_cast<size_t>(i)];
        for (int64_t r = 0; r < rows; ++r) dst[i * rows + r] = src[r * cols + c];
      }
    });
  }

  GptqResult result;
  const auto prepared = obs::prepare(h, wt, o.dampening_frac, tensor);
  result.dead_columns = prepared.dead_columns;
  result.dampening_frac = prepared.dampening_frac;
  const torch::Tensor& u = prepared.u;

  // Blocks aligned to groups, so a group's columns are all current when the group is fitted, and
  // to N:M groups, which are chosen from current columns too.
  const int64_t align = std::lcm<int64_t>(grouped ? a.group_size : 1, n_m ? o.prune->structure.m : 1);
  const int64_t block = std::max(align, std::max<int64_t>(1, o.block_size) / align * align);

  // The pruning mask, in processing order ([cols, rows], 1 = pruned): the earlier one on entry.
  std::vector<uint8_t> pruned;
  std::unique_ptr<obs::ObsMask<T>> mask;
  if (o.prune || o.keep.defined()) {
    pruned = obs::pruned_from_keep(o.keep, rows, cols, order);
    mask = std::make_unique<obs::ObsMask<T>>(wt.data_ptr<T>(), u.data_ptr<T>(), cols, rows,
                                             o.prune.value_or(obs::MaskOptions{}), pruned);
  }

  // Each column rounded with its unit's parameters; a dynamic group's fitted on its columns as
  // they are when the sweep reaches the group (a group starts at every gs-th column processed).
  std::vector<uint8_t> codes_t(static_cast<size_t>(cols * rows));  // [cols, rows], processing order
  const int64_t gs = grouped ? a.group_size : cols;
  const T* W = wt.data_ptr<T>();
  struct Policy {
    const T* W;
    int64_t rows, gs;
    bool dynamic_groups;
    const std::vector<int64_t>& order;
    const quant::WeightLayout& layout;
    const Quantizer& qz;
    std::vector<quant::IntQParams>& params;
    std::vector<uint8_t>& codes_t;
    obs::ObsMask<T>* mask;  // null: nothing pruned
    void block_start(int64_t i1, int64_t i2) {
      if (mask) mask->block_start(i1, i2);
    }
    void column_start(int64_t i, int64_t r0, int64_t r1) {
      if (mask) mask->column_start(i, r0, r1);
      if (!dynamic_groups || i % gs != 0) return;
      const int64_t c = order[static_cast<size_t>(i)];
      for (int64_t r = r0; r < r1; ++r) {
        // The range of the group's weights that are not pruned (zero is in every range anyway).
        float lo = 0, hi = 0;
        bool first = true;
        for (int64_t j = i; j < i + gs; ++j) {
          if (mask && mask->pruned(j, r)) continue;
          const float v = static_cast<float>(W[j * rows + r]);
          lo = first ? v : std::min(lo, v);
          hi = first ? v : std::max(hi, v);
          first = false;
        }
        params[static_cast<size_t>(layout.unit(r, c))] = qz.fit(lo, hi);
      }
    }
    T replace(int64_t i, int64_t r, T w) {
      const int64_t c = order[static_cast<size_t>(i)];
      // A pruned weight takes the code of zero, which every scheme represents exactly.
      const float x = mask && mask->pruned(i, r) ? 0.0f : static_cast<float>(w);
      return static_cast<T>(qz.fake(x, params[static_cast<size_t>(layout.unit(r, c))],
                                    &codes_t[static_cast<size_t>(i * rows + r)]));
    }
  } policy{W, rows, gs, dynamic_groups, order, layout, qz, params, codes_t, mask.get()};
  result.loss = obs::sweep<T>(wt, u, block, policy);

  // Codes and parameters back in the [out, in] layout and the original column order.
  auto& q = result.q;
  q.args = a;
  q.scale_dtype = o.quant.scale_dtype;
  q.format = o.quant.format;
  q.input_activations = o.quant.input_activations;
  q.codes = torch::empty({rows, cols}, qz.is_int ? torch::kInt8 : torch::kUInt8);
  auto* dst = static_cast<uint8_t*>(q.codes.data_ptr());
  at::parallel_for(0, rows, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t i = 0; i < cols; ++i) dst[r * cols + order[static_cast<size_t>(i)]] = codes_t[static_cast<size_t>(i * rows + r)];
    }
  });
  if (layout.g_idx) q.g_idx = torch::tensor(*layout.g_idx, torch::kInt32);
  if (mask) result.keep = obs::keep_from_pruned(pruned, rows, cols, order);
  q.scale = torch::empty({layout.scale_rows, layout.scale_cols}, torch::kFloat32);
  if (layout.has_zero_point) q.zero_point = torch::empty({layout.scale_rows, layout.scale_cols}, torch::kInt32);
  for (int64_t k = 0; k < units; ++k) {
    q.scale.data_ptr<float>()[k] = params[static_cast<size_t>(k)].scale;
    if (q.zero_point.defined()) q.zero_point.data_ptr<int32_t>()[k] = params[static_cast<size_t>(k)].zero_point;
  }
  return result;
}

}  // namespace

GptqResult gptq_quantize(const torch::Tensor& w, const torch::Tensor& hessian, const GptqOptions& o,
                         const std::string& tensor) {
  return run<float>(w, hessian, o, tensor);
}

GptqResult gptq_quantize_f64(const torch::Tensor& w, const torch::Tensor& hessian, const GptqOptions& o,
                             const std::string& tensor) {
  return run<double>(w, hessian, o, tensor);
}

}  // namespace compressor::passes
