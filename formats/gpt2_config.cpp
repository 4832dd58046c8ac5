#include "formats/gpt2_config.h"

#include <utility>

#include "compressor/base/error.h"

namespace compressor::formats {

Gpt2Config parse_gpt2_config(const HfConfig& config) {
  Gpt2Config c;
  const std::string f = config.file.string();
  c.vocab_size = config.get_int("vocab_size");
  c.n_positions = config.get_int("n_positions", config.get_int("n_ctx", 1024));
  c.n_embd = config.get_int("n_embd");
  c.n_layer = config.get_int("n_layer");
  c.n_head = config.get_int("n_head");
  c.n_inner = config.get_int("n_inner", 4 * c.n_embd);
  c.layer_norm_epsilon = config.get_float("layer_norm_epsilon", 1e-5);
  c.activation = config.get_string("activation_function", "gelu_new");
  if (config.raw.contains("tie_word_embeddings") && config.raw["tie_word_embeddings"].is_boolean()) {
    c.tie_word_embeddings = config.raw["tie_word_embeddings"].get<bool>();
  }
  for (auto [key, v] : {std::pair{"vocab_size", c.vocab_size}, {"n_positions", c.n_positions},
                        {"n_embd", c.n_embd}, {"n_layer", c.n_layer}, {"n_head", c.n_head}, {"n_inner", c.n_inner}}) {
    if (v <= 0) throw BadInput(f, std::string("key '") + key + "' must be positive, got " + std::to_string(v));
  }
  if (c.n_embd % c.n_head != 0) {
    throw BadInput(f, "n_embd " + std::to_string(c.n_embd) + " is not divisible by n_head " + std::to_string(c.n_head));
  }
  if (c.activation != "gelu_new" && c.activation != "gelu") {
    throw BadInput(f, "key 'activation_function': '" + c.activation + "' is not supported (gelu_new, gelu)");
  }
  if (config.raw.value("scale_attn_by_inverse_layer_idx", false) || config.raw.value("reorder_and_upcast_attn", false)) {
    throw BadInput(f, "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported");
  }
  return c;
}

}  // namespace compressor::formats
