// What a forward pass reads: the batch (token ids, padding mask, segment ids) and what every block
// of one batch shares (mask, positions, rotary tables), built once by Model::embed.
#pragma once

#include <map>
#include <vector>

#include <torch/torch.h>

namespace compressor::model {

struct Batch {
  torch::Tensor input_ids;       // int64 [B, T]
  torch::Tensor attention_mask;  // [B, T], nonzero = real token, 0 = padding; undefined = no padding
  torch::Tensor token_type_ids;  // int64 [B, T] (BERT segments); undefined = all zero
};

// Attention probabilities kept during a forward, for a loss on them (MiniLM's attention
// distillation). ops::attention counts its calls (one per block, in order) and keeps the
// probabilities of the calls `blocks` lists in `probs`, [B, heads, queries, keys] each, in the
// autograd graph when the forward has one.
struct AttentionCapture {
  std::vector<int> blocks;
  std::map<int, torch::Tensor> probs;
  int calls = 0;
};

struct BlockInputs {
  bool causal = false;
  // bool [B, T], true = real token; undefined when the batch has no padding. Keys that are padding
  // are masked in attention; statistics skip padded rows.
  torch::Tensor key_mask;
  // Rotary tables [T, head_dim] for positions 0..T-1 (Llama); undefined for the others. Positions
  // run 0..T-1 whatever the padding, as Hugging Face's forward does without position_ids, so
  // right-padded rows see exactly the positions they have alone (left padding is not supported).
  torch::Tensor rope_cos, rope_sin;
  // Set by a caller that wants attention probabilities (see AttentionCapture); null otherwise.
  AttentionCapture* attention = nullptr;

  // Rows of [B, T] that are real tokens, as a bool [B, T] (all true without padding).
  torch::Tensor real_rows(int64_t batch, int64_t time) const {
    return key_mask.defined() ? key_mask : torch::ones({batch, time}, torch::kBool);
  }
};

}  // namespace compressor::model
