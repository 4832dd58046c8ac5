#include "compressor/runtime/gguf_export.h"

#include <functional>
#include <map>
#include <optional>

#include "compressor/base/error.h"
#include "compressor/quant/float_formats.h"
#include "compressor/quant/gguf_blocks.h"
#include "compressor/runtime/decoder.h"
#include "formats/artifact_manifest.h"
#include "formats/gguf_writer.h"
#include "formats/hf_config.h"

namespace compressor::runtime {

namespace fs = std::filesystem;
using formats::GgmlType;
using formats::GgufWriter;

namespace {

// llama.cpp's file types (llama.h, enum llama_ftype): what most of the weights are.
constexpr uint32_t kFileTypeAllF32 = 0, kFileTypeQ4_0 = 2, kFileTypeQ8_0 = 7;
constexpr int64_t kBlock = static_cast<int64_t>(quant::gguf::kQK);

using RowMap = std::function<int64_t(int64_t)>;  // GGUF row -> the artifact's row
const RowMap kSameRows = [](int64_t r) { return r; };

// llama.cpp's converter interleaves each head's two rotary halves (its Llama uses the "normal"
// RoPE on adjacent pairs): GGUF row h·hd + 2j + t holds the artifact's row h·hd + t·hd/2 + j.
RowMap rotary_interleave(int64_t head_dim) {
  return [head_dim](int64_t r) {
    const int64_t h = r / head_dim, rem = r % head_dim;
    return h * head_dim + (rem % 2) * (head_dim / 2) + rem / 2;
  };
}

class Exporter {
 public:
  explicit Exporter(std::string file) : file_(std::move(file)) {}

  // The exact GGUF type of a linear's weight; BadInput naming the module otherwise.
  GgmlType weight_type(const LinearWeight& w) {
    const std::string where = file_ + ": module '" + w.name + "' (" + w.encoding + ")";
    const std::string suggestion = "; a scheme that exports: int4 or int8, symmetric: true, strategy channel or group "
                                   "with group_size a multiple of 32, scale_dtype float16 (W4A16 and W8A16 do)";
    switch (w.storage) {
      case WeightStorage::dense: return GgmlType::F32;
      case WeightStorage::dense16: return w.bf16 ? GgmlType::BF16 : GgmlType::F16;  // carried over, 16 bits
      case WeightStorage::fp8_bytes: throw BadInput(where, "llama.cpp has no FP8 tensor type" + suggestion);
      case WeightStorage::packed:
      case WeightStorage::packed_2of4:  // read through code_row, dense
      case WeightStorage::int_bytes: break;
    }
    if (!w.input_order.empty() || w.layout.g_idx)
      throw BadInput(where, "activation-ordered groups (weight_g_idx, actorder group) have no GGUF type: a block's "
                            "32 weights share a scale only when they are adjacent; quantize with actorder static or "
                            "weight to export" + suggestion);
    if (!w.args.symmetric)
      throw BadInput(where, "asymmetric int has no exact GGUF type: Q4_0 and Q8_0 are symmetric, and Q4_1/Q5_1 keep "
                            "their minimum in float16, which cannot hold zero_point·scale exactly" + suggestion);
    if (w.input_qparams)
      throw BadInput(where, "static input-activation scales have no GGUF equivalent (llama.cpp quantizes "
                            "activations itself)" + suggestion);
    if (w.cols % kBlock != 0)
      throw BadInput(where, "its " + std::to_string(w.cols) + " input features are not whole GGUF blocks of 32");
    if (w.args.strategy == quant::Strategy::group && w.args.group_size % kBlock != 0)
      throw BadInput(where, "group_size " + std::to_string(w.args.group_size) +
                                " splits GGUF's blocks of 32, which share one scale" + suggestion);
    for (size_t u = 0; u < w.scale.size(); ++u) {
      const float s = w.scale[u];
      if (quant::fp16_to_fp32(quant::fp32_to_fp16(s)) != s)
        throw BadInput(where, "scale " + std::to_string(u) + " (" + std::to_string(s) +
                                  ") is not exactly a float16, which GGUF blocks store" + suggestion);
    }
    if (w.input_args && !activation_note_) {
      activation_note_ = true;
      note("weights with dynamic input quantization (" + w.encoding + ", first " + w.name +
           ") are carried over exactly; llama.cpp quantizes activations its own way (8-bit per block of 32), "
           "not as the recipe's scheme does");
    }
    return w.args.num_bits <= 4 ? GgmlType::Q4_0 : GgmlType::Q8_0;
  }

  // Checks the linear and queues its weight (rows through `rows`) and bias.
  void linear(const std::string& name, const LinearWeight& w, const RowMap& rows = kSameRows) {
    const GgmlType type = weight_type(w);
    const auto n_rows = static_cast<uint64_t>(w.rows), n_cols = static_cast<uint64_t>(w.cols);
    add(name + ".weight", {n_cols, n_rows}, type, w.encoding, [&w, rows, type](const base::ChunkWriter& write) {
      const size_t cols = static_cast<size_t>(w.cols);
      if (type == GgmlType::F32) {
        for (int64_t r = 0; r < w.rows; ++r) write(w.dense_data() + rows(r) * w.cols, cols * 4);
        return;
      }
      if (type == GgmlType::F16 || type == GgmlType::BF16) {
        for (int64_t r = 0; r < w.rows; ++r) write(w.half + rows(r) * w.cols, cols * 2);
        return;
      }
      const bool q4 = type == GgmlType::Q4_0;
      const size_t block_bytes = q4 ? 18 : 34;
      std::vector<int8_t> codes(cols);
      std::vector<uint8_t> row(cols / kBlock * block_bytes);
      for (int64_t r = 0; r < w.rows; ++r) {
        const int64_t src = rows(r);
        w.code_row(src, codes.data());
        for (int64_t b = 0; b < w.cols / kBlock; ++b) {
          const uint16_t d = quant::fp32_to_fp16(w.scale[w.layout.unit(src, b * kBlock)]);
          uint8_t* dst = row.data() + b * block_bytes;
          if (q4) {
            quant::gguf::encode_q4_0_block(codes.data() + b * kBlock, d, dst);
          } else {
            quant::gguf::encode_q8_0_block(codes.data() + b * kBlock, d, dst);
          }
        }
        write(row.data(), row.size());
      }
    });
    if (!w.bias.empty()) vector(name + ".bias", w.bias, rows);
  }

  void vector(const std::string& name, const FloatVector& v, const RowMap& rows = kSameRows) {
    add(name, {v.size()}, GgmlType::F32, "f32", [&v, rows](const base::ChunkWriter& write) {
      for (size_t i = 0; i < v.size(); ++i) write(&v[static_cast<size_t>(rows(static_cast<int64_t>(i)))], 4);
    });
  }

  void matrix(const std::string& name, const FloatVector& m, uint64_t rows, uint64_t cols) {
    add(name, {cols, rows}, GgmlType::F32, "f32", [&m](const base::ChunkWriter& write) { write(m.data(), m.size() * 4); });
  }

  void note(const std::string& n) { report_.notes.push_back(n); }

  GgufWriter& writer() { return writer_; }
  GgufExportReport& report() { return report_; }

  uint32_t file_type() const {
    std::map<std::string, int> n;
    for (const auto& t : report_.tensors) ++n[t.type];
    if (n["Q4_0"] > 0) return kFileTypeQ4_0;
    if (n["Q8_0"] > 0) return kFileTypeQ8_0;
    return kFileTypeAllF32;
  }

 private:
  void add(const std::string& name, std::vector<uint64_t> ne, GgmlType type, const std::string& source,
           GgufWriter::Fill fill) {
    uint64_t numel = 1;
    for (auto d : ne) numel *= d;
    report_.tensors.push_back({name, formats::ggml_type_name(type), source, formats::ggml_tensor_bytes(type, numel)});
    report_.parameters += numel;
    writer_.add_tensor(name, std::move(ne), type, std::move(fill));
  }

  std::string file_;
  GgufWriter writer_;
  GgufExportReport report_;
  bool activation_note_ = false;
};

void set_tokenizer(GgufWriter& w, GgufExportReport& report, const GgufVocabulary& vocab, const formats::HfConfig& hf,
                   int64_t vocab_size) {
  report.tokenizer = vocab.summary;
  w.set("tokenizer.ggml.model", vocab.model);
  if (vocab.model == "none") {
    report.notes.push_back("no tokenizer: llama.cpp runs the file on token ids only");
    return;
  }
  if (static_cast<int64_t>(vocab.tokens.size()) != vocab_size || vocab.token_types.size() != vocab.tokens.size())
    throw InternalError("gguf export", "the vocabulary has " + std::to_string(vocab.tokens.size()) +
                                           " tokens for an embedding of " + std::to_string(vocab_size) + " rows");
  w.set("tokenizer.ggml.pre", vocab.pre);
  w.set("tokenizer.ggml.tokens", vocab.tokens);
  w.set("tokenizer.ggml.token_type", vocab.token_types);
  w.set("tokenizer.ggml.merges", vocab.merges);
  auto first_id = [&](const char* key) -> std::optional<uint32_t> {
    if (!hf.raw.contains(key) || hf.raw.at(key).is_null()) return std::nullopt;
    const auto& v = hf.raw.at(key).is_array() ? hf.raw.at(key).at(0) : hf.raw.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= vocab_size)
      throw BadInput(hf.file.string() + ": key '" + key + "'", "expected a token id below " + std::to_string(vocab_size));
    return v.get<uint32_t>();
  };
  if (auto bos = first_id("bos_token_id")) w.set("tokenizer.ggml.bos_token_id", *bos);
  if (auto eos = first_id("eos_token_id")) w.set("tokenizer.ggml.eos_token_id", *eos);
  // Our tokenizers add no BOS (Hugging Face's byte-level BPE files without a template do not).
  w.set("tokenizer.ggml.add_bos_token", false);
}

}  // namespace

GgufExportReport export_gguf(const fs::path& artifact, const fs::path& out, const GgufVocabulary& vocab) {
  const auto model = Decoder::load(artifact);  // verifies the manifest and every checksum
  const auto hf = formats::load_hf_config(artifact);
  const auto& c = model->config();
  Exporter ex(formats::artifact_weights_file(artifact).string());
  auto& w = ex.writer();
  auto& report = ex.report();
  report.architecture = c.architecture;
  const std::string arch = c.architecture;
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  w.set("general.architecture", arch);
  w.set("general.name", artifact.filename().empty() ? artifact.parent_path().filename().string()
                                                      : artifact.filename().string());
  w.set(arch + ".context_length", u32(c.max_positions));
  w.set(arch + ".embedding_length", u32(c.hidden_size));
  w.set(arch + ".feed_forward_length", u32(c.intermediate_size));
  w.set(arch + ".block_count", u32(c.layers));
  w.set(arch + ".attention.head_count", u32(c.heads));

  const auto D = static_cast<uint64_t>(c.hidden_size);
  if (arch == "llama") {
    w.set("llama.attention.head_count_kv", u32(c.kv_heads));
    w.set("llama.rope.dimension_count", u32(c.head_dim));
    w.set("llama.attention.key_length", u32(c.head_dim));
    w.set("llama.attention.value_length", u32(c.head_dim));
    w.set("llama.attention.layer_norm_rms_epsilon", static_cast<float>(c.norm_eps));
    w.set("llama.rope.freq_base", static_cast<float>(c.rope_theta));
    w.set("llama.vocab_size", u32(c.vocab_size));
    ex.linear("token_embd", model->embedding());
    for (int64_t i = 0; i < c.layers; ++i) {
      const auto& l = model->layers()[static_cast<size_t>(i)];
      const std::string p = "blk." + std::to_string(i) + ".";
      ex.vector(p + "attn_norm.weight", l.norm1_weight);
      ex.linear(p + "attn_q", *l.q, rotary_interleave(c.head_dim));
      ex.linear(p + "attn_k", *l.k, rotary_interleave(c.head_dim));
      ex.linear(p + "attn_v", *l.v);
      ex.linear(p + "attn_output", l.out);
      ex.vector(p + "ffn_norm.weight", l.norm2_weight);
      ex.linear(p + "ffn_gate", *l.gate);
      ex.linear(p + "ffn_up", l.up);
      ex.linear(p + "ffn_down", l.down);
    }
    ex.vector("output_norm.weight", model->final_norm_weight());
  } else {  // gpt2
    w.set("gpt2.attention.layer_norm_epsilon", static_cast<float>(c.norm_eps));
    if (!c.gelu_tanh) ex.note("llama.cpp's GPT-2 uses the tanh GELU; this model was trained with the exact one");
    ex.linear("token_embd", model->embedding());
    ex.matrix("position_embd.weight", model->positions(), static_cast<uint64_t>(c.max_positions), D);
    for (int64_t i = 0; i < c.layers; ++i) {
      const auto& l = model->layers()[static_cast<size_t>(i)];
      const std::string p = "blk." + std::to_string(i) + ".";
      ex.vector(p + "attn_norm.weight", l.norm1_weight);
      ex.vector(p + "attn_norm.bias", l.norm1_bias);
      ex.linear(p + "attn_qkv", *l.qkv);
      ex.linear(p + "attn_output", l.out);
      ex.vector(p + "ffn_norm.weight", l.norm2_weight);
      ex.vector(p + "ffn_norm.bias", l.norm2_bias);
      ex.linear(p + "ffn_up", l.up);
      ex.linear(p + "ffn_down", l.down);
    }
    ex.vector("output_norm.weight", model->final_norm_weight());
    ex.vector("output_norm.bias", model->final_norm_bias());
  }
  // Without output.weight llama.cpp ties the head to token_embd, as the runtime does.
  if (model->lm_head()) ex.linear("output", *model->lm_head());
  set_tokenizer(w, report, vocab, hf, c.vocab_size);
  w.set("general.file_type", ex.file_type());
  w.set("general.quantization_version", uint32_t{2});
  w.write(out);
  report.file_bytes = fs::file_size(out);
  return report;
}

}  // namespace compressor::runtime
