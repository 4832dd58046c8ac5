#include "formats/bert_config.h"

#include <utility>

#include "compressor/base/error.h"

namespace compressor::formats {

BertConfig parse_bert_config(const HfConfig& config) {
  BertConfig c;
  const std::string f = config.file.string();
  c.vocab_size = config.get_int("vocab_size");
  c.hidden = config.get_int("hidden_size");
  c.layers = config.get_int("num_hidden_layers");
  c.heads = config.get_int("num_attention_heads");
  c.intermediate = config.get_int("intermediate_size");
  // Defaults are transformers' BertConfig defaults, for configs that leave them out.
  c.max_positions = config.get_int("max_position_embeddings", 512);
  c.type_vocab_size = config.get_int("type_vocab_size", 2);
  c.pad_token_id = config.get_int("pad_token_id", 0);
  c.layer_norm_eps = config.get_float("layer_norm_eps", 1e-12);
  c.activation = config.get_string("hidden_act", "gelu");
  for (auto [key, v] : {std::pair{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden},
                        {"num_hidden_layers", c.layers}, {"num_attention_heads", c.heads},
                        {"intermediate_size", c.intermediate}, {"max_position_embeddings", c.max_positions},
                        {"type_vocab_size", c.type_vocab_size}}) {
    if (v <= 0) throw BadInput(f, std::string("key '") + key + "' must be positive, got " + std::to_string(v));
  }
  if (c.hidden % c.heads != 0) {
    throw BadInput(f, "key 'hidden_size': " + std::to_string(c.hidden) + " is not divisible by num_attention_heads " +
                          std::to_string(c.heads));
  }
  if (!(c.layer_norm_eps > 0)) throw BadInput(f, "key 'layer_norm_eps' must be positive");
  if (c.activation != "gelu" && c.activation != "gelu_new" && c.activation != "gelu_pytorch_tanh" &&
      c.activation != "relu") {
    throw BadInput(f, "key 'hidden_act': '" + c.activation +
                          "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)");
  }
  // Relative position embeddings change the attention scores; we only implement the original.
  const std::string pos = config.get_string("position_embedding_type", "absolute");
  if (pos != "absolute") {
    throw BadInput(f, "key 'position_embedding_type': '" + pos + "' is not supported (absolute)");
  }
  // A decoder BERT would need a causal mask (and cross-attention weights) this encoder lacks.
  if (config.raw.value("is_decoder", false)) throw BadInput(f, "key 'is_decoder': decoder BERT is not supported");
  return c;
}

}  // namespace compressor::formats
