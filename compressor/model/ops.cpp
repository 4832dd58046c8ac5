#include "compressor/model/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <vector>

#include "compressor/runtime/kernels/threads.h"
#include "compressor/runtime/ops/attention.h"

namespace compressor::model::ops {

int64_t attention_chunk(int64_t batch_heads, int64_t keys, int64_t queries, int64_t budget) {
  const int64_t row_bytes = std::max<int64_t>(1, batch_heads * keys * static_cast<int64_t>(sizeof(float)));
  return std::clamp<int64_t>(budget / row_bytes, 1, std::max<int64_t>(queries, 1));
}

namespace {

bool float32_without_grad(std::initializer_list<torch::Tensor> ts) {
  if (torch::GradMode::is_enabled()) return false;
  for (const auto& t : ts) {
    if (t.scalar_type() != torch::kFloat32 || t.requires_grad()) return false;
  }
  return true;
}

// Scores (B·H·T·T) from which the fused attention runs on every core: SmolLM2's calibration
// batches (8 × 9 × 512²) do, a 128-token prompt (9 × 128²) does not.
constexpr int64_t kParallelAttentionScores = int64_t{1} << 22;

// The runtime's fused attention (compressor/runtime/ops/attention.h: scores, softmax and weighted
// values per block of queries in cache, causal blocks reading only the keys they see, spread over
// the kernel threads), one sequence at a time. LibTorch 1.13 has no fused attention on the CPU; its
// matmul-mask-softmax-matmul chain moves [B, H, T, T] scores through memory five times on one
// thread and took half of a SmolLM2 block's forward.
torch::Tensor attention_fused(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3), KV = k.size(1);
  const auto qt = q.transpose(1, 2).contiguous();  // [B, T, H, hd]: the runtime's [tokens, heads · hd]
  const auto kc = k.contiguous(), vc = v.contiguous();  // [B, KV, T, hd]: the cache's layout
  auto out = torch::empty({B, T, H * hd}, q.options());
  const size_t per_q = static_cast<size_t>(T * H * hd), per_kv = static_cast<size_t>(KV * T * hd);
  // Every core only for work that outlasts OpenMP's spin-wait after the region: its idle threads
  // spin beside OpenBLAS's in the GEMMs that follow, which halved LibTorch's 128-token prefill and
  // quartered its one-token forward (`compressor bench`) while saving nothing there.
  const bool large = B * H * T * T >= kParallelAttentionScores;
  const runtime::OpenMpThreadsScope threads(large ? runtime::available_threads() : 1);
  for (int64_t b = 0; b < B; ++b) {
    runtime::Matrix qm(T, H * hd);
    std::memcpy(qm.data.data(), qt.data_ptr<float>() + b * per_q, per_q * sizeof(float));
    runtime::ops::LayerCache cache(KV, T, hd);
    std::memcpy(cache.keys.data(), kc.data_ptr<float>() + b * per_kv, per_kv * sizeof(float));
    std::memcpy(cache.values.data(), vc.data_ptr<float>() + b * per_kv, per_kv * sizeof(float));
    const auto o = runtime::ops::attention_tiled(qm, cache, H, 0, causal ? runtime::ops::Mask::causal : runtime::ops::Mask::none);
    std::memcpy(out.data_ptr<float>() + b * per_q, o.data.data(), per_q * sizeof(float));
  }
  return out.view({B, T, H, hd}).transpose(1, 2);
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const BlockInputs& in,
                        double scale, int64_t budget) {
  // The fused kernel scales by 1/sqrt(head_dim), masks causally or not at all, and needs no
  // gradient; padded keys, other scales and training take the LibTorch path below.
  // A captured block's probabilities exist only on the LibTorch path.
  const int call = in.attention ? in.attention->calls++ : -1;
  const bool capture = in.attention && std::find(in.attention->blocks.begin(), in.attention->blocks.end(), call) !=
                                           in.attention->blocks.end();
  if (!capture && float32_without_grad({q, k, v}) && !in.key_mask.defined() && k.size(2) == q.size(2) &&
      std::abs(scale * std::sqrt(static_cast<double>(q.size(3))) - 1.0) < 1e-12) {
    return attention_fused(q, k, v, in.causal);
  }
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3);
  const int64_t KV = k.size(1), S = k.size(2), rep = H / KV;
  // Query heads that share a kv head are folded into the rows of one matmul against that kv head,
  // so K and V are read in place rather than repeated H/KV times.
  const auto qg = q.reshape({B, KV, rep, T, hd});
  const auto kt = k.transpose(-2, -1);  // [B, KV, hd, S]
  const int64_t chunk = attention_chunk(B * H, S, T, budget);
  // Masked scores get the lowest finite float rather than -inf, so a query whose keys are all
  // padding (a padded row) averages instead of producing NaN; its output is never used.
  // The lowest of the scores' own dtype: under bf16 autocast the matmul gives bf16 scores, which
  // float's lowest would overflow.
  const auto lowest = [](torch::ScalarType t) -> double {
    switch (t) {
      case torch::kBFloat16: return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
      case torch::kHalf: return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
      case torch::kDouble: return std::numeric_limits<double>::lowest();
      default: return std::numeric_limits<float>::lowest();
    }
  };
  std::vector<torch::Tensor> parts, prob_parts;
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
    if (blocked.defined()) scores.masked_fill_(blocked, lowest(scores.scalar_type()));
    auto probs = torch::softmax(scores, -1).view({B, KV, rep * c, keys});
    parts.push_back(torch::matmul(probs, v.narrow(2, 0, keys)).view({B, KV, rep, c, hd}));
    if (capture) {  // [B, H, c, S], the keys a causal chunk skipped at probability 0
      auto p = probs.view({B, H, c, keys});
      prob_parts.push_back(keys < S ? torch::constant_pad_nd(p, {0, S - keys}) : p);
    }
  }
  if (capture) in.attention->probs[call] = prob_parts.size() == 1 ? prob_parts[0] : torch::cat(prob_parts, 2);
  auto out = parts.size() == 1 ? parts[0] : torch::cat(parts, 3);
  return out.view({B, H, T, hd});
}

namespace {

// rms_norm in one pass over each row, for float32 without autograd: the LibTorch chain below makes
// five passes over [B, T, hidden] with a temporary each (a tenth of a SmolLM2 block's non-GEMM time).
// Same arithmetic as the chain (mean of squares in float32, then x · rsqrt, then · weight); the
// sum's order differs, so results agree to float32 rounding.
torch::Tensor rms_norm_fused(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  const auto xc = x.contiguous(), wc = weight.contiguous();
  const int64_t width = x.size(-1), rows = x.numel() / std::max<int64_t>(width, 1);
  auto out = torch::empty_like(xc);
  const float* in = xc.data_ptr<float>();
  const float* w = wc.data_ptr<float>();
  float* o = out.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = in + r * width;
    float part[16] = {};  // 16 running sums the compiler keeps in one vector
    int64_t i = 0;
    for (; i + 16 <= width; i += 16) {
      for (int l = 0; l < 16; ++l) part[l] += xr[i + l] * xr[i + l];
    }
    for (; i < width; ++i) part[0] += xr[i] * xr[i];
    float sum = 0;
    for (float p : part) sum += p;
    const float inv = 1.0f / std::sqrt(sum / static_cast<float>(width) + static_cast<float>(eps));
    float* orow = o + r * width;
    for (int64_t j = 0; j < width; ++j) orow[j] = w[j] * (xr[j] * inv);
  }
  return out;
}

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  if (weight.dim() == 1 && weight.size(0) == x.size(-1) && float32_without_grad({x, weight})) {
    return rms_norm_fused(x, weight, eps);
  }
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

torch::Tensor apply_rope(torch::Tensor x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  if (x.dim() == 4 && x.stride(3) == 1 && cos.dim() == 2 && cos.sizes() == sin.sizes() && x.size(2) == cos.size(0) &&
      x.size(3) == cos.size(1) && cos.is_contiguous() && sin.is_contiguous() && float32_without_grad({x, cos, sin})) {
    // In place, one pass: the LibTorch expression below makes six passes and four temporaries.
    const int64_t B = x.size(0), H = x.size(1), T = x.size(2), hd = x.size(3);
    float* base = x.data_ptr<float>();
    const float* c = cos.data_ptr<float>();
    const float* s = sin.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t t = 0; t < T; ++t) {
          float* p = base + b * x.stride(0) + h * x.stride(1) + t * x.stride(2);
          const float* ct = c + t * hd;
          const float* st = s + t * hd;
          for (int64_t i = 0; i < half; ++i) {
            const float lo = p[i], hi = p[i + half];
            p[i] = lo * ct[i] + -hi * st[i];
            p[i + half] = hi * ct[i + half] + lo * st[i + half];
          }
        }
      }
    }
    return x;
  }
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
