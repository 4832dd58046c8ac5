#include "passes/pruning/fisher_obs.h"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"
#include "passes/pruning/mask.h"

namespace compressor::passes {

namespace {

// Blocks handled at once when inverting: bounds the float64 working set (about 3 · 4096 · B² · 8
// bytes, 240 MB at B = 50) whatever the tensor's size.
constexpr int64_t kChunkBlocks = 4096;

// `v` (flat, numel) as [blocks, B], zero-padded.
torch::Tensor as_blocks(const torch::Tensor& v, int64_t blocks, int64_t B) {
  auto flat = v.reshape({-1});
  const int64_t pad = blocks * B - flat.numel();
  if (pad > 0) flat = torch::cat({flat, torch::zeros({pad}, flat.options())});
  return flat.view({blocks, B});
}

// The damped inverse of blocks [first, first + count): (F + λI)⁻¹, float64 [count, B, B]. Padding
// positions have F = 0, so λ alone there: their inverse entries are 1/λ and couple to nothing.
// `jitter`: the sums were accumulated in float32, so a block whose entries dwarf the layer's mean
// (and so λ) can carry rounding of either sign larger than λ; a jitter of a few float32 ulps of its
// own largest diagonal makes it positive definite again without changing it measurably.
torch::Tensor damped_inverse(const BlockFisher& fisher, int64_t first, int64_t count, double lambda, bool jitter,
                             bool* ok) {
  auto F = fisher.mean(first, count);
  auto diag = F.diagonal(0, 1, 2);
  if (jitter) diag.add_(std::get<0>(diag.max(1)).mul(64 * std::numeric_limits<float>::epsilon()).unsqueeze(1));
  diag.add_(lambda);
  auto [L, info] = torch::linalg_cholesky_ex(F);
  if (info.ne(0).any().item<bool>()) {
    *ok = false;
    return {};
  }
  return torch::cholesky_inverse(L);
}

}  // namespace

BlockFisher::BlockFisher(int64_t numel, int64_t block_size, int64_t chunk)
    : numel_(numel), block_(block_size), chunk_(chunk) {
  if (numel < 1 || block_size < 1 || chunk < 1) {
    throw InternalError("fisher", "block Fisher of " + std::to_string(numel) + " weights in blocks of " +
                                      std::to_string(block_size));
  }
  blocks_ = (numel + block_size - 1) / block_size;
  sum_ = torch::zeros({blocks_, block_, block_}, torch::kFloat32);
}

void BlockFisher::add(const torch::Tensor& grad) {
  torch::NoGradGuard no_grad;
  if (grad.numel() != numel_) {
    throw InternalError("fisher", "a gradient of " + std::to_string(grad.numel()) + " weights for a Fisher of " +
                                      std::to_string(numel_));
  }
  if (!staging_.defined()) staging_ = torch::zeros({blocks_ * block_, chunk_}, torch::kFloat32);
  staging_.select(1, staged_).narrow(0, 0, numel_).copy_(grad.reshape({-1}));
  if (++staged_ == chunk_) flush();
}

void BlockFisher::add_rows(const torch::Tensor& grads) {
  for (int64_t i = 0; i < grads.size(0); ++i) add(grads[i]);
}

void BlockFisher::flush() const {
  if (staged_ == 0) return;
  torch::NoGradGuard no_grad;
  auto g = staging_.view({blocks_, block_, chunk_}).narrow(2, 0, staged_);  // [blocks, B, k]
  sum_.baddbmm_(g, g.transpose(1, 2));
  samples_ += staged_;
  staged_ = 0;
}

torch::Tensor BlockFisher::mean(int64_t first, int64_t count) const {
  flush();
  auto F = sum_.narrow(0, first, count).to(torch::kFloat64);
  return samples_ > 0 ? F / static_cast<double>(samples_) : F;
}

double BlockFisher::mean_trace() const {
  flush();
  if (samples_ == 0) return 0.0;
  return sum_.diagonal(0, 1, 2).sum(torch::kFloat64).item<double>() / static_cast<double>(samples_);
}

bool BlockFisher::finite() const {
  flush();
  return torch::isfinite(sum_).all().item<bool>();
}

FisherObsResult fisher_obs_prune(const torch::Tensor& w, const BlockFisher& fisher, const torch::Tensor& keep_before,
                                 const FisherObsOptions& o, const std::string& tensor) {
  torch::NoGradGuard no_grad;
  if (w.numel() != fisher.numel()) {
    throw InternalError(tensor, "a Fisher of " + std::to_string(fisher.numel()) + " weights for " +
                                    std::to_string(w.numel()));
  }
  if (!(o.dampening_frac > 0)) throw BadInput(tensor, "dampening_frac must be > 0");
  if (!fisher.finite()) {
    throw BadInput(tensor, "its empirical Fisher holds NaN or Inf (the loss's gradients overflowed at this layer), so "
                           "no weight can be scored");
  }
  const int64_t B = fisher.block_size(), nb = fisher.blocks(), numel = w.numel();
  const auto W = as_blocks(w.to(torch::kFloat64), nb, B);  // [nb, B]

  // λ from the mean diagonal over the real weights (padding has none). A layer the loss does not
  // reach (all gradients zero) gets λ = dampening_frac: its Fisher is λI and saliency is |w|².
  const double mean_diag = fisher.mean_trace() / static_cast<double>(numel);
  double lambda = o.dampening_frac * (mean_diag > 0 ? mean_diag : 1.0);

  // Saliency per weight; an earlier pruning scores −∞ so it is chosen first and counts.
  auto scores = torch::empty({nb, B}, torch::kFloat64);
  bool jitter = false;
  for (bool ok = false; !ok;) {
    ok = true;
    for (int64_t b = 0; b < nb && ok; b += kChunkBlocks) {
      const int64_t c = std::min(kChunkBlocks, nb - b);
      auto inv = damped_inverse(fisher, b, c, lambda, jitter, &ok);
      if (!ok) break;
      scores.narrow(0, b, c).copy_(W.narrow(0, b, c).square() / (2.0 * inv.diagonal(0, 1, 2)));
    }
    if (ok) break;
    if (!jitter) {  // float32 rounding first; then more damping
      jitter = true;
      continue;
    }
    if (lambda >= 1e6 * (mean_diag > 0 ? mean_diag : 1.0)) {
      throw BadInput(tensor, "its empirical Fisher does not factorise even with λ = " + std::to_string(lambda));
    }
    spdlog::warn("{}: the damped Fisher did not factorise with λ = {:.3g}; retrying with ten times that", tensor,
                 lambda);
    lambda *= 10.0;
  }
  auto flat_scores = scores.reshape({-1}).narrow(0, 0, numel).view(w.sizes()).clone();
  if (keep_before.defined()) flat_scores.masked_fill_(keep_before.logical_not(), -std::numeric_limits<double>::infinity());
  torch::Tensor keep = o.structure.unstructured()
                           ? keep_by_score_per_row(flat_scores.reshape({1, -1}), o.sparsity, o.structure).view(w.sizes())
                           : keep_by_score_per_row(flat_scores, 0.0, o.structure);
  if (keep_before.defined()) keep = keep.logical_and(keep_before);

  FisherObsResult r;
  r.keep = keep;
  r.dampening = lambda;
  if (!o.update) {
    r.weight = (w.to(torch::kFloat32) * keep).contiguous();
    return r;
  }
  // Joint update per block: with P the pruned positions, z solves (P F⁻¹ P + (I − P)) z = P w, so
  // z_Q = ([F⁻¹]_QQ)⁻¹ w_Q and z = 0 elsewhere; then δw = −F⁻¹ z and the loss rises by ½ zᵀw.
  const auto pruned = as_blocks(keep.logical_not().to(torch::kFloat64), nb, B);  // padding 0: not pruned
  auto out = W.clone();
  double loss = 0;
  for (int64_t b = 0; b < nb; b += kChunkBlocks) {
    const int64_t c = std::min(kChunkBlocks, nb - b);
    bool ok = true;
    auto inv = damped_inverse(fisher, b, c, lambda, jitter, &ok);
    if (!ok) throw InternalError(tensor, "the damped Fisher factorised once and not the second time");
    const auto p = pruned.narrow(0, b, c);
    const auto wb = W.narrow(0, b, c);
    auto A = inv * p.unsqueeze(2) * p.unsqueeze(1);
    A.diagonal(0, 1, 2).add_(1.0 - p);
    const auto rhs = (p * wb).unsqueeze(2);
    auto [LA, info] = torch::linalg_cholesky_ex(A);
    if (info.ne(0).any().item<bool>()) throw InternalError(tensor, "a principal block of a positive inverse did not factorise");
    const auto z = torch::cholesky_solve(rhs, LA);          // [c, B, 1]
    out.narrow(0, b, c).sub_(torch::bmm(inv, z).squeeze(2));
    loss += 0.5 * (z.squeeze(2) * wb).sum().item<double>();
  }
  out.mul_(1.0 - pruned);  // exactly zero where pruned (the update leaves rounding there)
  r.weight = out.reshape({-1}).narrow(0, 0, numel).view(w.sizes()).to(torch::kFloat32).contiguous();
  r.loss_increase = loss;
  return r;
}

}  // namespace compressor::passes
