#include "compressor/model/ops.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace compressor::model::ops {

int64_t attention_chunk(int64_t batch_heads, int64_t keys, int64_t queries, int64_t budget) {
  const int64_t row_bytes = std::max<int64_t>(1, batch_heads * keys * static_cast<int64_t>(sizeof(float)));
  return std::clamp<int64_t>(budget / row_bytes, 1, std::max<int64_t>(queries, 1));
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const BlockInputs& in,
                        double scale, int64_t budget) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3);
  const int64_t KV = k.size(1), S = k.size(2), rep = H / KV;
  // Query heads that share a kv head are folded into the rows of one matmul against that kv head,
  // so K and V are read in place rather than repeated H/KV times.
  const auto qg = q.reshape({B, KV, rep, T, hd});
  const auto kt = k.transpose(-2, -1);  // [B, KV, hd, S]
  const int64_t chunk = attention_chunk(B * H, S, T, budget);
  // Masked scores get the lowest finite float rather than -inf, so a query whose keys are all
  // padding (a padded row) averages instead of producing NaN; its output is never used.
  const float blocked_value = std::numeric_limits<float>::lowest();
  std::vector<torch::Tensor> parts;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t t1 = std::min(T, t0 + chunk), c = t1 - t0;
    // A causal query at position t sees keys [0, t]: the chunk needs keys up to t1 only.
    const int64_t keys = in.causal ? std::min(S, t1 + (S - T)) : S;
    auto scores = torch::matmul(qg.slice(3, t0, t1).reshape({B, KV, rep * c, hd}), kt.narrow(-1, 0, keys))
                      .mul_(scale)
                      .view({B, KV, rep, c, keys});
    torch::Tensor blocked;
    if (in.causal) {
      auto qpos = torch::arange(t0 + (S - T), t1 + (S - T), torch::kLong).unsqueeze(1);
      blocked = torch::arange(keys, torch::kLong).unsqueeze(0) > qpos;  // [c, keys]
    }
    if (in.key_mask.defined()) {
      auto pad = in.key_mask.narrow(1, 0, keys).logical_not().view({B, 1, 1, 1, keys});
      blocked = blocked.defined() ? pad.logical_or(blocked) : pad;
    }
    if (blocked.defined()) scores.masked_fill_(blocked, blocked_value);
    auto probs = torch::softmax(scores, -1).view({B, KV, rep * c, keys});
    parts.push_back(torch::matmul(probs, v.narrow(2, 0, keys)).view({B, KV, rep, c, hd}));
  }
  auto out = parts.size() == 1 ? parts[0] : torch::cat(parts, 3);
  return out.view({B, H, T, hd});
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  auto xf = x.to(torch::kFloat32);
  xf = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * xf.to(x.scalar_type());
}

std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t time, int64_t head_dim, double theta,
                                                    torch::ScalarType dtype) {
  auto inv_freq =
      torch::pow(theta, -torch::arange(0, head_dim, 2, torch::kFloat64) / static_cast<double>(head_dim));
  auto ang = torch::outer(torch::arange(time, torch::kFloat64), inv_freq);
  ang = torch::cat({ang, ang}, -1);
  return {ang.cos().to(dtype), ang.sin().to(dtype)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

torch::Tensor swiglu(torch::Tensor gate, const torch::Tensor& up) {
  if (torch::GradMode::is_enabled()) return torch::silu(gate) * up;
  return torch::silu_(gate).mul_(up);
}

torch::Tensor key_mask(const Batch& batch) {
  if (!batch.attention_mask.defined()) return {};
  auto mask = batch.attention_mask.ne(0);
  if (mask.all().item<bool>()) return {};
  return mask;
}

}  // namespace compressor::model::ops
