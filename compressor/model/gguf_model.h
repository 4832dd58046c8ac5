// A Llama-family GGUF file (llama.cpp's format, general.architecture "llama") loaded into our
// Llama module. The HF config is synthesised from the GGUF metadata:
//   hidden_size             llama.embedding_length        intermediate_size  llama.feed_forward_length
//   num_hidden_layers       llama.block_count             num_attention_heads llama.attention.head_count
//   num_key_value_heads     llama.attention.head_count_kv (head_count when absent)
//   rms_norm_eps            llama.attention.layer_norm_rms_epsilon
//   rope_theta              llama.rope.freq_base (10000 when absent)
//   max_position_embeddings llama.context_length
//   head_dim                llama.attention.key_length (when present)
//   vocab_size              length of tokenizer.ggml.tokens, else rows of token_embd.weight
//   tie_word_embeddings     no output.weight tensor
//   bos/eos_token_id        tokenizer.ggml.bos_token_id / eos_token_id (when present)
// Tensors are dequantized to float32 (any type formats/gguf.h supports) and renamed to HF names
// (token_embd -> model.embed_tokens, blk.N.attn_q -> model.layers.N.self_attn.q_proj, ...,
// output_norm -> model.norm, output -> lm_head). llama.cpp's converter permutes the rows of
// attn_q / attn_k so that rotary pairs are interleaved (per head: rows [0, hd/2) and [hd/2, hd)
// alternate); the loader undoes that so the rotate_half Llama module sees HF's layout.
// Every error is BadInput naming the file and the key or tensor (expected and found shape).
#pragma once

#include <filesystem>
#include <memory>

#include "formats/hf_config.h"
#include "compressor/model/model.h"

namespace compressor::formats {
class GgufFile;
}

namespace compressor::model {

std::unique_ptr<Model> load_gguf_model(const std::filesystem::path& gguf);
// The synthesised config.json (model_type "llama"), for inspection and tests.
HfConfig gguf_llama_config(const formats::GgufFile& file);

}  // namespace compressor::model
