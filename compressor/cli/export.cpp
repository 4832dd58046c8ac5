#include "compressor/cli/export.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include "compressor/cli/output_file.h"
#include "compressor/runtime/gguf_export.h"

namespace compressor::cli {

int export_model(const ExportArgs& args) {
  namespace fs = std::filesystem;
  fs::path dir = args.model;
  if (dir.filename().empty()) dir = dir.parent_path();  // "out/quick/" -> "out/quick"
  const fs::path out = args.out.empty() ? fs::path(dir.string() + ".gguf") : fs::path(args.out);
  check_output_file(out, "--out");
  const auto r = runtime::export_gguf(dir, out);

  std::map<std::string, std::pair<int, uint64_t>> by_type;  // type -> tensors, bytes
  for (const auto& t : r.tensors) {
    auto& [n, bytes] = by_type[t.type];
    ++n;
    bytes += t.bytes;
  }
  std::string types;
  for (const auto& [type, nb] : by_type) {
    types += (types.empty() ? "" : ", ") + std::to_string(nb.first) + " " + type;
  }
  std::printf("wrote %s: GGUF v3, architecture %s, %zu tensors (%s), %.2f MB, %.3f bits per parameter\n",
              out.string().c_str(), r.architecture.c_str(), r.tensors.size(), types.c_str(),
              static_cast<double>(r.file_bytes) / 1e6,
              8.0 * static_cast<double>(r.file_bytes) / static_cast<double>(r.parameters));
  for (const auto& [type, nb] : by_type) {
    std::printf("  %-5s %4d tensors  %10.2f MB\n", type.c_str(), nb.first, static_cast<double>(nb.second) / 1e6);
  }
  std::printf("tokenizer: %s\n", r.tokenizer.c_str());
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
  return 0;
}

}  // namespace compressor::cli
