#include "formats/llama_config.h"

#include <utility>

#include "compressor/base/error.h"

namespace compressor::formats {

namespace {

bool get_bool(const HfConfig& config, const std::string& key, bool fallback) {
  if (!config.has(key)) return fallback;
  const auto& v = config.raw.at(key);
  if (!v.is_boolean()) {
    throw BadInput(config.file.string(), "key '" + key + "': expected true or false, got " + v.dump());
  }
  return v.get<bool>();
}

}  // namespace

LlamaConfig parse_llama_config(const HfConfig& config) {
  LlamaConfig c;
  const std::string f = config.file.string();
  // Scaled RoPE (linear, dynamic, yarn, llama3, ...) changes every position's angles; refuse it
  // rather than run a model that silently disagrees with transformers.
  if (config.has("rope_scaling")) {
    const auto& rs = config.raw.at("rope_scaling");
    std::string type;
    if (rs.is_object()) {
      for (const char* key : {"rope_type", "type"}) {
        if (rs.contains(key) && rs[key].is_string()) {
          type = std::string(key) + " '" + rs[key].get<std::string>() + "'";
          break;
        }
      }
    }
    if (type.empty()) type = "value " + rs.dump();
    throw BadInput(f, "key 'rope_scaling' (" + type + "): scaled RoPE is not supported yet; only null is accepted");
  }
  c.vocab_size = config.get_int("vocab_size");
  c.hidden_size = config.get_int("hidden_size");
  c.intermediate_size = config.get_int("intermediate_size");
  c.num_hidden_layers = config.get_int("num_hidden_layers");
  c.num_attention_heads = config.get_int("num_attention_heads");
  // Defaults are transformers' LlamaConfig defaults, for configs that leave them out.
  c.num_key_value_heads = config.get_int("num_key_value_heads", c.num_attention_heads);
  c.max_position_embeddings = config.get_int("max_position_embeddings", 2048);
  c.rms_norm_eps = config.get_float("rms_norm_eps", 1e-6);
  c.rope_theta = config.get_float("rope_theta", 10000.0);
  // transformers 5 writes the rotary settings as rope_parameters {rope_type, rope_theta} instead.
  if (config.has("rope_parameters") && !config.raw.at("rope_parameters").is_null()) {
    const auto& rp = config.raw.at("rope_parameters");
    if (!rp.is_object()) throw BadInput(f, "key 'rope_parameters': expected a map, got " + rp.dump());
    const std::string type = rp.contains("rope_type") && rp["rope_type"].is_string() ? rp["rope_type"].get<std::string>() : "default";
    if (type != "default") {
      throw BadInput(f, "key 'rope_parameters.rope_type' ('" + type + "'): scaled RoPE is not supported yet; only default");
    }
    if (rp.contains("rope_theta")) {
      if (!rp["rope_theta"].is_number()) throw BadInput(f, "key 'rope_parameters.rope_theta' must be a number");
      c.rope_theta = rp["rope_theta"].get<double>();
    }
  }
  c.initializer_range = config.get_float("initializer_range", 0.02);
  c.pad_token_id = config.get_int("pad_token_id", -1);
  c.attention_bias = get_bool(config, "attention_bias", false);
  c.mlp_bias = get_bool(config, "mlp_bias", false);
  c.tie_word_embeddings = get_bool(config, "tie_word_embeddings", false);
  for (auto [key, v] : {std::pair{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
                        {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_hidden_layers},
                        {"num_attention_heads", c.num_attention_heads},
                        {"num_key_value_heads", c.num_key_value_heads},
                        {"max_position_embeddings", c.max_position_embeddings}}) {
    if (v <= 0) throw BadInput(f, std::string("key '") + key + "' must be positive, got " + std::to_string(v));
  }
  if (config.has("head_dim")) {
    // An explicit head_dim (Gemma-style configs) need not divide hidden_size: q_proj is
    // [heads * head_dim, hidden] and o_proj its transpose.
    c.head_dim = config.get_int("head_dim");
    if (c.head_dim <= 0) throw BadInput(f, "key 'head_dim' must be positive, got " + std::to_string(c.head_dim));
  } else {
    if (c.hidden_size % c.num_attention_heads != 0) {
      throw BadInput(f, "key 'num_attention_heads': hidden_size " + std::to_string(c.hidden_size) +
                            " is not divisible by num_attention_heads " + std::to_string(c.num_attention_heads));
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0) {
    throw BadInput(f, "key 'head_dim': rotary embeddings need an even head dimension, got " +
                          std::to_string(c.head_dim));
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    throw BadInput(f, "key 'num_key_value_heads': num_attention_heads " + std::to_string(c.num_attention_heads) +
                          " is not divisible by num_key_value_heads " + std::to_string(c.num_key_value_heads));
  }
  if (!(c.rms_norm_eps > 0)) throw BadInput(f, "key 'rms_norm_eps' must be positive");
  if (!(c.rope_theta > 0)) throw BadInput(f, "key 'rope_theta' must be positive");
  if (!(c.initializer_range > 0)) throw BadInput(f, "key 'initializer_range' must be positive");
  const std::string act = config.get_string("hidden_act", "silu");
  if (act != "silu") throw BadInput(f, "key 'hidden_act': '" + act + "' is not supported (silu)");
  return c;
}

}  // namespace compressor::formats
