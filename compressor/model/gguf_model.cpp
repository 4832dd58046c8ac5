#include "compressor/model/gguf_model.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/base/finite.h"
#include "compressor/base/shape.h"
#include "compressor/model/llama.h"
#include "compressor/model/weight_source.h"
#include "formats/gguf.h"

namespace compressor::model {

namespace {


// HF name (relative to "model.", or lm_head.*) -> GGUF name; "" when there is none.
std::string gguf_name(const std::string& hf, bool prefixed) {
  if (!prefixed) return hf == "lm_head.weight" ? "output.weight" : "";
  if (hf == "embed_tokens.weight") return "token_embd.weight";
  if (hf == "norm.weight") return "output_norm.weight";
  const std::string layers = "layers.";
  if (hf.compare(0, layers.size(), layers) != 0) return "";
  const size_t dot = hf.find('.', layers.size());
  if (dot == std::string::npos) return "";
  const std::string n = hf.substr(layers.size(), dot - layers.size());
  std::string rest = hf.substr(dot + 1);  // "self_attn.q_proj.weight"
  const size_t last = rest.rfind('.');
  if (last == std::string::npos) return "";
  const std::string suffix = rest.substr(last);  // ".weight" / ".bias"
  rest = rest.substr(0, last);
  static const std::pair<const char*, const char*> kMap[] = {
      {"input_layernorm", "attn_norm"},   {"self_attn.q_proj", "attn_q"},  {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},     {"self_attn.o_proj", "attn_output"},
      {"post_attention_layernorm", "ffn_norm"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  for (const auto& [from, to] : kMap) {
    if (rest == from) return "blk." + n + "." + to + suffix;
  }
  return "";
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

class GgufWeights final : public WeightSource {
 public:
  GgufWeights(std::shared_ptr<formats::GgufFile> file, int64_t n_head, int64_t n_head_kv)
      : file_(std::move(file)), n_head_(n_head), n_head_kv_(n_head_kv) {
    prefix_ = "model.";
  }
  bool has(const std::string& name) const override {
    const auto g = gguf_name(name, true);
    return !g.empty() && file_->contains(g);
  }
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape, double, bool prefixed) override {
    const std::string hf = (prefixed ? prefix_ : "") + name;
    const std::string g = gguf_name(name, prefixed);
    const std::string where = file_->path().string();
    if (g.empty()) throw BadInput(where, "tensor '" + hf + "' has no GGUF counterpart");
    if (!file_->contains(g)) {
      throw BadInput(where, "tensor '" + g + "' (" + hf + ") is missing (expected shape " + base::shape_string(shape) + ")");
    }
    torch::Tensor t = file_->dequantize(g);
    if (t.sizes() != at::IntArrayRef(shape)) {
      throw BadInput(where, "tensor '" + g + "' (" + hf + ") has shape " + base::shape_string(t.sizes()) +
                                ", the metadata implies " + base::shape_string(shape));
    }
    if (!base::all_finite(t)) {
      throw BadInput(where, "tensor '" + g + "' (" + hf + ") contains NaN or Inf");
    }
    if (ends_with(g, "attn_q.weight")) unpermute_rows(t, n_head_);
    if (ends_with(g, "attn_k.weight")) unpermute_rows(t, n_head_kv_);
    return t;
  }

 private:
  // llama.cpp's converter stores W.view(n, 2, hd/2, in).swapaxes(1, 2): within each head, HF row
  // b * hd/2 + j sits at row 2j + b. This puts the rows back, in place by following the
  // permutation's cycles with one row of scratch: a reshape-transpose copy would allocate a
  // second Q or K per layer, and the heap keeps what those copies free (27 MiB on SmolLM2).
  static void unpermute_rows(torch::Tensor& w, int64_t n) {
    const int64_t hd = w.size(0) / n, half = hd / 2, in = w.size(1);
    const auto row_bytes = static_cast<size_t>(in) * sizeof(float);
    auto source = [half](int64_t d) { return 2 * (d % half) + d / half; };  // GGUF row of HF row d
    std::vector<float> scratch(static_cast<size_t>(in));
    std::vector<char> placed(static_cast<size_t>(hd));
    float* data = w.data_ptr<float>();
    for (int64_t h = 0; h < n; ++h) {
      float* head = data + h * hd * in;
      std::fill(placed.begin(), placed.end(), 0);
      for (int64_t start = 0; start < hd; ++start) {
        if (placed[static_cast<size_t>(start)]) continue;
        std::memcpy(scratch.data(), head + start * in, row_bytes);
        for (int64_t d = start;;) {
          placed[static_cast<size_t>(d)] = 1;
          const int64_t s = source(d);
          std::memcpy(head + d * in, s == start ? scratch.data() : head + s * in, row_bytes);
          if (s == start) break;
          d = s;
        }
      }
    }
  }

  std::shared_ptr<formats::GgufFile> file_;
  int64_t n_head_, n_head_kv_;
};

}  // namespace

HfConfig gguf_llama_config(const formats::GgufFile& f) {
  const std::string where = f.path().string();
  const std::string arch = f.get_string("general.architecture");
  if (arch != "llama") {
    throw BadInput(where, "key 'general.architecture' is '" + arch + "'; only 'llama' GGUF files can be loaded");
  }
  const std::string a = "llama.";
  nlohmann::json j;
  j["model_type"] = "llama";
  j["architectures"] = nlohmann::json::array({"LlamaForCausalLM"});
  j["hidden_size"] = f.get_int(a + "embedding_length");
  j["intermediate_size"] = f.get_int(a + "feed_forward_length");
  j["num_hidden_layers"] = f.get_int(a + "block_count");
  const int64_t heads = f.get_int(a + "attention.head_count");
  j["num_attention_heads"] = heads;
  j["num_key_value_heads"] = f.has(a + "attention.head_count_kv") ? f.get_int(a + "attention.head_count_kv") : heads;
  j["rms_norm_eps"] = f.get_float(a + "attention.layer_norm_rms_epsilon");
  j["rope_theta"] = f.has(a + "rope.freq_base") ? f.get_float(a + "rope.freq_base") : 10000.0;
  j["max_position_embeddings"] = f.get_int(a + "context_length");
  if (f.has(a + "attention.key_length")) j["head_dim"] = f.get_int(a + "attention.key_length");
  if (f.has(a + "rope.scaling.type")) {
    const std::string type = f.get_string(a + "rope.scaling.type");
    if (type != "none") {
      throw BadInput(where, "key '" + a + "rope.scaling.type' is '" + type + "': scaled RoPE is not supported yet");
    }
  }
  if (f.has("tokenizer.ggml.tokens")) {
    j["vocab_size"] = static_cast<int64_t>(f.get_array("tokenizer.ggml.tokens").size());
  } else if (f.contains("token_embd.weight")) {
    j["vocab_size"] = f.info("token_embd.weight").shape().at(0);
  } else {
    throw BadInput(where, "neither key 'tokenizer.ggml.tokens' nor tensor 'token_embd.weight' gives the vocabulary size");
  }
  j["tie_word_embeddings"] = !f.contains("output.weight");
  j["hidden_act"] = "silu";
  j["rope_scaling"] = nullptr;
  if (f.has("tokenizer.ggml.bos_token_id")) j["bos_token_id"] = f.get_int("tokenizer.ggml.bos_token_id");
  if (f.has("tokenizer.ggml.eos_token_id")) j["eos_token_id"] = f.get_int("tokenizer.ggml.eos_token_id");
  j["torch_dtype"] = "float32";
  return parse_hf_config(j.dump(), f.path());
}

std::unique_ptr<Model> load_gguf_model(const std::filesystem::path& gguf) {
  auto file = formats::GgufFile::open(gguf);
  const HfConfig config = gguf_llama_config(*file);
  const LlamaConfig c = parse_llama_config(config);
  GgufWeights src(file, c.num_attention_heads, c.num_key_value_heads);
  return build_llama(config, src);
}

}  // namespace compressor::model
