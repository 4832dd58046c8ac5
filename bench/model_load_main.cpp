// Load time and peak memory of a model against its file size.
//   build/bench/bench_model_load PATH [--json OUT]
// PATH is a checkpoint directory or a .gguf file, loaded into our architecture as `compressor`
// loads it: safetensors views where the layout allows, copies where it does not (GPT-2's
// transposed Conv1D, dtype conversions); a GGUF dequantized to float32.
// Peak RSS is VmHWM from /proc/self/status; the file is read once before timing (cache-hot).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "compressor/model/architecture.h"

#include "bench/bench_util.h"

using namespace compressor;
using bench::best_of;
using bench::status_mib;
namespace fs = std::filesystem;

namespace {

uint64_t bytes_under(const fs::path& p) {
  if (fs::is_regular_file(p)) return fs::file_size(p);
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(p)) {
    if (e.is_regular_file() && (e.path().extension() == ".safetensors")) total += e.file_size();
  }
  return total;
}

void warm_cache(const fs::path& p) {
  std::vector<char> buf(1 << 20);
  auto read_all = [&](const fs::path& f) {
    std::ifstream in(f, std::ios::binary);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {}
  };
  if (fs::is_regular_file(p)) return read_all(p);
  for (const auto& e : fs::directory_iterator(p)) {
    if (e.path().extension() == ".safetensors") read_all(e.path());
  }
}
}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR_OR_GGUF [--json OUT]\n", argv[0]);
    return 1;
  }
  const fs::path path = argv[1];
  const std::string json_out = argc >= 4 && !std::strcmp(argv[2], "--json") ? argv[3] : "";
  warm_cache(path);
  const double rss0 = status_mib("VmRSS:");
  const auto t0 = std::chrono::steady_clock::now();
  double params = 0;
  auto model = model::load_model(path);
  for (const auto& [name, t] : model->checkpoint_tensors()) params += static_cast<double>(t.numel());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double file_mib = static_cast<double>(bytes_under(path)) / (1024.0 * 1024.0);
  const double peak = status_mib("VmHWM:") - rss0, now = status_mib("VmRSS:") - rss0;
  std::printf("%-60s\n  file %.1f MiB, %.2f M values as float32 = %.1f MiB\n  load %.3f s, RSS growth %.1f MiB (peak %.1f MiB) = %.2fx the file\n",
              path.string().c_str(), file_mib, params / 1e6, params * 4 / (1024.0 * 1024.0), seconds, now, peak,
              peak / file_mib);
  if (!json_out.empty()) {
    std::ofstream(json_out) << nlohmann::json{{"path", path.string()}, {"file_mib", file_mib}, {"values", params},
                                              {"seconds", seconds}, {"rss_growth_mib", now}, {"peak_growth_mib", peak}}
                                   .dump(2)
                            << "\n";
  }
  return 0;
}
