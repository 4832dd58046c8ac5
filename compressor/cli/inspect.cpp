#include "compressor/cli/inspect.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/base/shape.h"
#include "compressor/eval/report.h"
#include "formats/artifact.h"
#include "formats/gguf.h"
#include "formats/hf_checkpoint.h"

namespace compressor::cli {

namespace {

double zero_fraction(const torch::Tensor& t) {
  if (t.numel() == 0) return 0;
  return static_cast<double>(t.numel() - torch::count_nonzero(t).item<int64_t>()) / static_cast<double>(t.numel());
}

// Per stage and pass, from the manifest's "layers": how many layers, their mean sparsity after the
// pass, and the mean and worst relative output error on the calibration rows.
void print_layer_summary(const nlohmann::json& layers) {
  struct Summary {
    int64_t layers = 0, measured = 0;
    double sparsity = 0, error = 0, worst = -1;
    std::string worst_layer;
  };
  std::vector<std::pair<std::string, Summary>> passes;  // in the order they first appear
  for (const auto& [layer, records] : layers.items()) {
    for (const auto& r : records) {
      const std::string key = r.value("stage", "?") + " / " + r.value("pass", "?");
      auto it = std::find_if(passes.begin(), passes.end(), [&](const auto& p) { return p.first == key; });
      if (it == passes.end()) it = passes.insert(passes.end(), {key, Summary{}});
      auto& s = it->second;
      ++s.layers;
      s.sparsity += r.value("sparsity", 0.0);
      if (r.contains("reconstruction_error")) {
        const double e = r["reconstruction_error"].get<double>();
        ++s.measured;
        s.error += e;
        if (e > s.worst) {
          s.worst = e;
          s.worst_layer = layer;
        }
      }
    }
  }
  if (passes.empty()) return;
  std::printf("\n%-28s %7s %9s %12s  %s\n", "stage / pass", "layers", "sparsity", "mean error", "worst layer (error)");
  for (const auto& [key, s] : passes) {
    const double n = static_cast<double>(s.layers);
    if (s.measured) {
      std::printf("%-28s %7lld %8.2f%% %12.4g  %s (%.4g)\n", key.c_str(), static_cast<long long>(s.layers),
                  100 * s.sparsity / n, s.error / static_cast<double>(s.measured), s.worst_layer.c_str(), s.worst);
    } else {
      std::printf("%-28s %7lld %8.2f%% %12s\n", key.c_str(), static_cast<long long>(s.layers), 100 * s.sparsity / n, "-");
    }
  }
  std::printf("(error: ||WX - W'X||^2 / ||WX||^2 on calibration rows, per layer, as each pass found and left it)\n");
}

void print_artifact(const std::filesystem::path& path) {
  formats::verify_artifact(path);
  const auto m = formats::read_manifest(path);
  std::printf("artifact   %s\n", formats::artifact_weights_file(path).string().c_str());
  std::printf("format     v%d, written by %s %s; every tensor's SHA-256 verified\n", m["format_version"].get<int>(),
              m["tool"].value("name", "?").c_str(), m["tool"].value("version", "?").c_str());
  std::printf("model      %s\n", m["model_config"].value("model_type", "?").c_str());
  if (m.contains("metrics")) {
    eval::Metrics before = m["metrics"].value("before", eval::Metrics{});
    eval::Metrics after = m["metrics"].value("after", eval::Metrics{});
    if (!before.empty()) std::printf("\n%s", eval::metrics_table(before, after).c_str());
  }
  if (m.contains("layers")) print_layer_summary(m["layers"]);
  std::printf("\n%-44s %-20s %-12s %9s %9s\n", "tensor", "encoding", "shape", "bits/wt", "sparsity");
  int64_t total = 0, bytes = 0, quantized = 0, quantized_bytes = 0;
  double zeros = 0;
  for (const auto& w : formats::stored_weights(m)) {
    total += w.weights;
    bytes += w.bytes;
    zeros += w.sparsity * static_cast<double>(w.weights);
    if (w.encoding.rfind("int", 0) == 0 || w.encoding.rfind("fp8", 0) == 0) {
      quantized += w.weights;
      quantized_bytes += w.bytes;
    }
    // A sparse layout shows after the encoding of its values: "int4_g128_sym+2:4", "f16+bitmask".
    const std::string encoding = w.encoding + (w.sparse_format == "sparse-24-bitmask" ? "+2:4"
                                               : w.sparse_format.empty()             ? ""
                                                                                     : "+bitmask");
    std::printf("%-44s %-20s %-12s %9.3f %8.2f%%\n", w.name.c_str(), encoding.c_str(), base::shape_string(w.shape).c_str(),
                w.bits_per_weight(), 100 * w.sparsity);
  }
  auto bpw = [](int64_t b, int64_t n) { return n ? 8.0 * static_cast<double>(b) / static_cast<double>(n) : 0.0; };
  std::printf("\n%lld weights in %.2f MB: %.3f bits per weight, %.2f%% zero\n", static_cast<long long>(total),
              static_cast<double>(bytes) / 1e6, bpw(bytes, total),
              total ? 100.0 * zeros / static_cast<double>(total) : 0.0);
  if (quantized) {
    std::printf("quantized: %lld weights in %.2f MB, %.3f bits per weight\n", static_cast<long long>(quantized),
                static_cast<double>(quantized_bytes) / 1e6, bpw(quantized_bytes, quantized));
  }
  std::printf("file:      %.2f MB (tensors + %.1f KB header and manifest)\n",
              static_cast<double>(std::filesystem::file_size(formats::artifact_weights_file(path))) / 1e6,
              static_cast<double>(std::filesystem::file_size(formats::artifact_weights_file(path)) - static_cast<uintmax_t>(bytes)) / 1e3);
}

void print_checkpoint(const std::filesystem::path& path) {
  auto ckpt = formats::CheckpointTensors::open(path);
  std::printf("checkpoint %s (%.1f MB of tensors)\n\n", path.string().c_str(), static_cast<double>(ckpt.total_bytes()) / 1e6);
  std::printf("%-44s %-6s %-16s %9s\n", "tensor", "dtype", "shape", "sparsity");
  for (const auto& name : ckpt.names()) {
    const auto& info = ckpt.info(name);
    std::printf("%-44s %-6s %-16s %8.2f%%\n", name.c_str(), formats::dtype_name(info.dtype),
                base::shape_string(info.shape).c_str(), 100 * zero_fraction(ckpt.tensor(name)));
  }
}

// One metadata value on one line: strings shortened and escaped, arrays summarised (tokenizer
// arrays hold tens of thousands of items).
std::string gguf_value_text(const formats::GgufValue& v) {
  if (const auto* a = std::get_if<formats::GgufArray>(&v.value)) {
    return "[" + std::to_string(a->size()) + " items of " + formats::gguf_value_type_name(a->type) + "]";
  }
  if (const auto* s = std::get_if<std::string>(&v.value)) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s->size() && i < 60; ++i) {
      const char c = (*s)[i];
      if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c == '"') out += "\\\"";
      else out += c;
    }
    return out + (s->size() > 60 ? "\"... (" + std::to_string(s->size()) + " bytes)" : "\"");
  }
  if (const auto* u = std::get_if<uint64_t>(&v.value)) return std::to_string(*u);
  if (const auto* i = std::get_if<int64_t>(&v.value)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v.value)) return *b ? "true" : "false";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", std::get<double>(v.value));
  return buf;
}

void print_gguf(const std::filesystem::path& path) {
  auto f = formats::GgufFile::open(path);
  std::printf("gguf       %s\n", path.string().c_str());
  std::printf("version    %u, alignment %llu, %zu metadata keys, %zu tensors\n", f->version(),
              static_cast<unsigned long long>(f->alignment()), f->metadata().size(), f->tensors().size());
  std::printf("\n%-44s %-8s %s\n", "key", "type", "value");
  for (const auto& [key, v] : f->metadata()) {
    std::printf("%-44s %-8s %s\n", key.c_str(), formats::gguf_value_type_name(v.type),
                gguf_value_text(v).c_str());
  }
  std::printf("\n%-44s %-8s %-16s %12s\n", "tensor", "type", "shape", "bytes");
  uint64_t bytes = 0, values = 0;
  for (const auto& t : f->tensors()) {
    bytes += t.size;
    values += t.numel;
    std::printf("%-44s %-8s %-16s %12llu\n", t.name.c_str(), formats::ggml_type_name(t.type).c_str(),
                base::shape_string(t.shape()).c_str(), static_cast<unsigned long long>(t.size));
  }
  std::printf("\n%zu tensors, %llu values, %.1f MB of tensor data (%.2f bits per value)\n",
              f->tensors().size(), static_cast<unsigned long long>(values), static_cast<double>(bytes) / 1e6,
              values ? 8.0 * static_cast<double>(bytes) / static_cast<double>(values) : 0.0);
}

}  // namespace

int inspect_path_cmd(const std::string& p) {
  const std::filesystem::path path = p;
  if (!std::filesystem::exists(path)) throw BadInput(p, "no such file or directory");
  if (path.extension() == ".gguf") {
    print_gguf(path);
  } else if (formats::has_manifest(path)) {
    print_artifact(path);
  } else {
    print_checkpoint(path);
  }
  return 0;
}

}  // namespace compressor::cli
