#include "compressor/cli/inspect.h"

#include <cstdio>
#include <filesystem>

#include "compressor/error.h"
#include "compressor/eval/report.h"
#include "formats/artifact.h"
#include "formats/hf_checkpoint.h"

namespace compressor::cli {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

double zero_fraction(const torch::Tensor& t) {
  if (t.numel() == 0) return 0;
  return static_cast<double>((t == 0).sum().item<int64_t>()) / static_cast<double>(t.numel());
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
  std::printf("\n%-44s %-8s %-16s %9s\n", "tensor", "encoding", "shape", "sparsity");
  int64_t total = 0, zeros = 0;
  for (const auto& [name, t] : m["tensors"].items()) {
    const auto shape = t["shape"].get<std::vector<int64_t>>();
    int64_t n = 1;
    for (auto d : shape) n *= d;
    total += n;
    zeros += static_cast<int64_t>(t["sparsity"].get<double>() * static_cast<double>(n) + 0.5);
    std::printf("%-44s %-8s %-16s %8.2f%%\n", name.c_str(), t["encoding"].get<std::string>().c_str(),
                shape_text(shape).c_str(), 100 * t["sparsity"].get<double>());
  }
  std::printf("\n%lld weights, %.2f%% zero\n", static_cast<long long>(total),
              total ? 100.0 * static_cast<double>(zeros) / static_cast<double>(total) : 0.0);
}

void print_checkpoint(const std::filesystem::path& path) {
  auto ckpt = formats::CheckpointTensors::open(path);
  std::printf("checkpoint %s (%.1f MB of tensors)\n\n", path.string().c_str(), static_cast<double>(ckpt.total_bytes()) / 1e6);
  std::printf("%-44s %-6s %-16s %9s\n", "tensor", "dtype", "shape", "sparsity");
  for (const auto& name : ckpt.names()) {
    const auto& info = ckpt.info(name);
    std::printf("%-44s %-6s %-16s %8.2f%%\n", name.c_str(), formats::dtype_name(info.dtype),
                shape_text(info.shape).c_str(), 100 * zero_fraction(ckpt.tensor(name)));
  }
}

}  // namespace

int inspect_path_cmd(const std::string& p) {
  const std::filesystem::path path = p;
  if (!std::filesystem::exists(path)) throw BadInput(p, "no such file or directory");
  if (formats::has_manifest(path)) {
    print_artifact(path);
  } else {
    print_checkpoint(path);
  }
  return 0;
}

}  // namespace compressor::cli
