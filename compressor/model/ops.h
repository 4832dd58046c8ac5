// Operations every architecture shares, written once: scaled dot-product attention (chunked over
// queries, causal and/or key-padding masks, grouped-query heads without copying K/V), RMSNorm and
// rotary position embeddings in Hugging Face's rotate_half layout.
#pragma once

#include <cstdint>
#include <utility>

#include <torch/torch.h>

#include "compressor/model/batch.h"

namespace compressor::model::ops {

// Bytes of attention scores one query chunk may hold. A chunk's scores are [B, H, C, S] float32, so
// the peak is min(T, max(1, kAttentionScoreBudget / (B·H·S·4))) · B·H·S·4 bytes (plus softmax's
// copy of the same size) instead of B·H·T·T·4 for the whole batch.
inline constexpr int64_t kAttentionScoreBudget = int64_t{32} << 20;

// Queries per chunk for scores of B·H rows against S keys under `budget` bytes.
int64_t attention_chunk(int64_t batch_heads, int64_t keys, int64_t queries, int64_t budget = kAttentionScoreBudget);

// softmax(q kᵀ · scale + mask) v. q [B, H, T, hd]; k, v [B, KV, T, hd] with H a multiple of KV
// (query head j reads kv head j / (H/KV), as HF's repeat_kv). `in.causal` masks keys after the query;
// `in.key_mask` masks padded keys. Returns [B, H, T, hd]. `budget`: bytes of scores per chunk.
// In float32 without autograd, with no padded keys and scale 1/sqrt(hd) (calibration and
// evaluation), the runtime's fused kernel runs instead (runtime/ops/attention.h attention_tiled,
// on every core): 4.2x faster on SmolLM2's 512-token calibration batches, and equal to the LibTorch
// path within float32 rounding (tested).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const BlockInputs& in,
                        double scale, int64_t budget = kAttentionScoreBudget);

// HF LlamaRMSNorm: normalised in float32, back to the input dtype, then scaled by the weight.
// In float32 without autograd, one pass per row (the same arithmetic, summed in another order).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// cos/sin [T, hd] of p · theta^(-2i/hd) for positions p in [0, T), each duplicated over both halves.
std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t time, int64_t head_dim, double theta, torch::ScalarType dtype);

// x [B, H, T, hd] rotated: element i pairs with i + hd/2 (rotate_half, not interleaved pairs).
// `x` must be a fresh tensor nobody else holds (a view of a linear's output): in float32 without
// autograd it is rotated in place, in one pass, and returned.
torch::Tensor apply_rope(torch::Tensor x, const torch::Tensor& cos, const torch::Tensor& sin);

// silu(gate) · up, the Llama MLP's gated activation. `gate` must be a fresh tensor nobody else
// holds (a linear's output): without autograd (calibration, evaluation) it is overwritten in place
// instead of allocating two more [rows, intermediate] tensors, which are the largest in a block.
torch::Tensor swiglu(torch::Tensor gate, const torch::Tensor& up);

// The bool key mask of a batch's attention_mask (undefined when there is none or it is all ones).
torch::Tensor key_mask(const Batch& batch);

}  // namespace compressor::model::ops
