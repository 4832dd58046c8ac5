// bench_safetensors_load: what an mmap'ed, zero-copy safetensors load costs in time and memory.
//
// Writes an F32 file (default 64 tensors of 2048x1024 = 512 MiB), then, with the file's pages
// first evicted from the page cache (cold) and then cached (hot):
//   1. open + take every tensor as a zero-copy view,
//   2. touch (sum) a quarter of the tensors, then the other three quarters,
// recording wall time and the growth of resident memory (VmRSS) and of its peak (VmHWM). A
// baseline reads the same bytes into freshly allocated tensors with pread (what a copying
// loader does). The point: opening costs ~nothing, and RSS grows only with the pages touched.
//
//   bench_safetensors_load [--dir /tmp] [--json out.json] [--tensors 64] [--rows 2048]
//                          [--cols 1024] [--keep]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"

namespace fs = std::filesystem;
using compressor::formats::SafetensorsFile;

namespace {

struct Args {
  fs::path dir = "/tmp";
  std::string json;
  int64_t tensors = 64, rows = 2048, cols = 1024;
  bool keep = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_safetensors_load: " << why
            << "\nusage: bench_safetensors_load [--dir DIR] [--json FILE] [--tensors N] "
               "[--rows R] [--cols C] [--keep]\n";
  std::exit(1);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    auto positive = [&]() -> int64_t {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n <= 0) usage(k + " expects a positive integer");
      return n;
    };
    if (k == "--dir") a.dir = value();
    else if (k == "--json") a.json = value();
    else if (k == "--tensors") a.tensors = positive();
    else if (k == "--rows") a.rows = positive();
    else if (k == "--cols") a.cols = positive();
    else if (k == "--keep") a.keep = true;
    else usage("unknown argument " + k);
  }
  return a;
}

// VmRSS / VmHWM of this process in bytes, from /proc/self/status.
struct Mem {
  int64_t rss = 0, hwm = 0;
};
Mem read_mem() {
  std::ifstream in("/proc/self/status");
  Mem m;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss = std::stoll(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) m.hwm = std::stoll(line.substr(6)) * 1024;
  }
  return m;
}

// Writing "5" to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so each phase's peak
// is its own and not the file writer's.
bool reset_peak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// Evicts the file's clean pages from the page cache (the writer fsync'ed them).
void evict(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Row {
  std::string cache, phase;
  double ms;
  int64_t rss_growth, hwm_growth;
};

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  const fs::path path = args.dir / "bench_safetensors_load.safetensors";
  const int64_t tensor_bytes = args.rows * args.cols * 4;

  // The same 2048x1024 values under every name: 8 MiB of memory to write 512 MiB, and the
  // expected total of the sums below is known.
  {
    torch::manual_seed(0);
    const torch::Tensor base = torch::rand({args.rows, args.cols});
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (int64_t i = 0; i < args.tensors; ++i) {
      tensors.emplace_back("layers." + std::to_string(i) + ".weight", base);
    }
    const auto t0 = std::chrono::steady_clock::now();
    compressor::formats::write_safetensors(path, tensors);
    std::printf("wrote %s: %lld tensors of %lldx%lld F32, %.1f MiB in %.0f ms\n", path.c_str(),
                static_cast<long long>(args.tensors), static_cast<long long>(args.rows),
                static_cast<long long>(args.cols), fs::file_size(path) / 1048576.0, ms_since(t0));
  }
  const int64_t file_bytes = static_cast<int64_t>(fs::file_size(path));
  const bool hwm_ok = reset_peak();

  std::vector<Row> rows;
  auto run = [&](const std::string& phase, const std::string& cache, auto&& body) {
    reset_peak();
    const Mem before = read_mem();
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const double ms = ms_since(t0);
    const Mem after = read_mem();
    rows.push_back({cache, phase, ms, after.rss - before.rss, after.hwm - before.rss});
  };

  double checksum = 0;
  for (const std::string cache : {"cold", "hot"}) {
    if (cache == "cold") evict(path);
    std::shared_ptr<SafetensorsFile> file;
    std::vector<torch::Tensor> views;
    run("open + all views", cache, [&] {
      file = SafetensorsFile::open(path);
      for (const auto& t : file->tensors()) views.push_back(file->tensor(t.name));
    });
    const std::size_t quarter = views.size() / 4;
    run("touch 1/4 of tensors", cache, [&] {
      for (std::size_t i = 0; i < quarter; ++i) checksum += views[i].sum().item<double>();
    });
    run("touch the other 3/4", cache, [&] {
      for (std::size_t i = quarter; i < views.size(); ++i) {
        checksum += views[i].sum().item<double>();
      }
    });
    views.clear();
    file.reset();  // unmaps: RSS drops back before the next run
  }

  // Baseline: a copying loader (pread into new tensors), page cache hot.
  {
    std::vector<torch::Tensor> copies;
    run("pread copy of all tensors", "hot", [&] {
      auto file = SafetensorsFile::open(path);  // for the offsets only; the data is read again
      int fd = ::open(path.c_str(), O_RDONLY);
      for (const auto& t : file->tensors()) {
        torch::Tensor c = torch::empty(t.shape, torch::kFloat32);
        const ssize_t n = ::pread(fd, c.data_ptr(), t.end - t.begin,
                                  static_cast<off_t>(file->data_start() + t.begin));
        if (n != static_cast<ssize_t>(t.end - t.begin)) std::abort();
        copies.push_back(std::move(c));
      }
      ::close(fd);
    });
  }

  std::printf("\nfile: %.1f MiB (%lld tensors x %.1f MiB)%s\n", file_bytes / 1048576.0,
              static_cast<long long>(args.tensors), tensor_bytes / 1048576.0,
              hwm_ok ? "" : "  [VmHWM could not be reset: peak column is lifetime peak]");
  std::printf("%-5s | %-26s | %10s | %15s | %8s | %15s\n", "cache", "phase", "time ms",
              "RSS growth MiB", "% file", "peak growth MiB");
  std::printf("------+----------------------------+------------+-----------------+----------+--"
              "---------------\n");
  for (const auto& r : rows) {
    std::printf("%-5s | %-26s | %10.2f | %15.1f | %7.1f%% | %15.1f\n", r.cache.c_str(),
                r.phase.c_str(), r.ms, r.rss_growth / 1048576.0,
                100.0 * static_cast<double>(r.rss_growth) / static_cast<double>(file_bytes),
                r.hwm_growth / 1048576.0);
  }
  std::printf("checksum %.6g (sum of every element, both runs)\n", checksum);

  if (!args.json.empty()) {
    nlohmann::json j;
    j["benchmark"] = "safetensors_load";
    j["file_bytes"] = file_bytes;
    j["tensors"] = args.tensors;
    j["shape"] = {args.rows, args.cols};
    j["dtype"] = "F32";
    j["hwm_reset"] = hwm_ok;
    for (const auto& r : rows) {
      j["rows"].push_back({{"cache", r.cache},
                           {"phase", r.phase},
                           {"ms", r.ms},
                           {"rss_growth_bytes", r.rss_growth},
                           {"peak_growth_bytes", r.hwm_growth}});
    }
    std::ofstream(args.json) << j.dump(2) << "\n";
  }
  if (!args.keep) fs::remove(path);
  return 0;
}
