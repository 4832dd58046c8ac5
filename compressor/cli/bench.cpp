#include "compressor/cli/bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "calibration/dataset.h"
#include "calibration/tokenizer_for.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/cli/output_file.h"
#include "compressor/model/architecture.h"
#include "compressor/runtime/decoder.h"
#include "compressor/runtime/kernels/linear.h"
#include "compressor/runtime/kernels/memory_bandwidth.h"
#include "compressor/runtime/kernels/threads.h"
#include "compressor/runtime/throughput.h"
#include "formats/artifact.h"

namespace compressor::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

// The process's resident memory now (VmRSS), in MiB: before anything loads it is the code of the
// binary and its libraries (LibTorch's among them), which the runtime alone would not carry.
double current_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The prompt: the first tokens of --text, or ids drawn with a fixed seed (the speed of a forward
// does not depend on which tokens it reads).
std::vector<int32_t> prompt_tokens(const BenchArgs& args, const fs::path& dir, int64_t vocab) {
  std::vector<int32_t> out;
  if (args.text.empty()) {
    std::mt19937 rng(0);
    std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab - 1));
    for (int64_t i = 0; i < args.prompt_tokens; ++i) out.push_back(id(rng));
    return out;
  }
  const auto tok = calibration::tokenizer_for(vocab, dir);
  const auto ids = calibration::load_text_tokens(args.text, *tok, 0, "--text").to(torch::kInt32).contiguous();
  if (ids.numel() < args.prompt_tokens) {
    throw BadInput("--text " + args.text, "has " + std::to_string(ids.numel()) + " tokens; --prompt-tokens asks for " +
                                              std::to_string(args.prompt_tokens));
  }
  out.assign(ids.data_ptr<int32_t>(), ids.data_ptr<int32_t>() + args.prompt_tokens);
  return out;
}

// "int4_g64_sym ×210, f32 ×1": the encodings of the model's linears.
std::string encodings_of(const runtime::Decoder& model) {
  std::map<std::string, int> count;
  for (const auto* w : model.linear_weights()) ++count[w->encoding];
  std::string out;
  for (const auto& [enc, n] : count) out += (out.empty() ? "" : ", ") + enc + " x" + std::to_string(n);
  return out;
}

struct TorchTimes {
  double load_seconds = 0;
  runtime::Throughput runs;  // decode_seconds: decode_tokens single-token forwards
};

TorchTimes time_torch(const fs::path& dir, const std::vector<int32_t>& prompt, int64_t decode_tokens, int runs) {
  torch::InferenceMode inference;
  // LibTorch's own OpenMP pool (its elementwise ops) on one thread: with more, its workers spin
  // between ops against OpenBLAS's pthreads, which run its GEMMs on every core, and batch-1
  // prefill runs ~4x slower (SmolLM2: 145 vs 650 tok/s on 2 cores). The faster setting is compared.
  const int torch_threads = at::get_num_threads();
  at::set_num_threads(1);
  struct Restore {
    int n;
    ~Restore() {
      at::set_num_threads(n);
      runtime::set_kernel_threads(n);
    }
  } restore{torch_threads};
  TorchTimes t;
  auto start = Clock::now();
  auto model = model::load_model(dir);
  model->drop_activation_quantization();
  t.load_seconds = seconds_since(start);
  const auto n = static_cast<int64_t>(prompt.size());
  const auto ids = torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kInt64).view({1, n});
  const auto last = torch::tensor(std::vector<int64_t>{n - 1}, torch::kInt64);
  auto prefill = [&] {
    const auto hidden = model->hidden_states(model::Batch{ids, {}, {}}, nullptr);
    return model->head(hidden, last).argmax(-1).item<int64_t>();
  };
  auto one_token = [&](int64_t i) {
    const auto id = ids.slice(1, i % n, i % n + 1);
    return model->head(model->hidden_states(model::Batch{id, {}, {}}, nullptr), torch::zeros({1}, torch::kInt64))
        .argmax(-1)
        .item<int64_t>();
  };
  prefill();  // warm-up, as the runtime's
  one_token(0);
  t.runs.prompt_tokens = n;
  t.runs.decode_tokens = decode_tokens;
  for (int r = 0; r < runs; ++r) {
    runtime::ThroughputRun run;
    start = Clock::now();
    prefill();
    run.prefill_seconds = seconds_since(start);
    start = Clock::now();
    for (int64_t i = 0; i < decode_tokens; ++i) one_token(i);
    run.decode_seconds = seconds_since(start);
    t.runs.runs.push_back(run);
  }
  return t;
}

nlohmann::json ops_json(const runtime::OpProfile& p, double tokens) {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < runtime::kOpCount; ++i) {
    j[runtime::op_name(static_cast<runtime::Op>(i))] = {{"seconds", p.seconds[i]},
                                                         {"ms_per_token", 1e3 * p.seconds[i] / tokens},
                                                         {"calls", p.calls[i]}};
  }
  return j;
}

}  // namespace

int bench_model(const BenchArgs& args) {
  if (!args.json.empty()) check_output_file(args.json, "--json");
  if (args.prompt_tokens < 1) throw BadInput("--prompt-tokens", "must be >= 1, got " + std::to_string(args.prompt_tokens));
  if (args.batch < 1) throw BadInput("--batch", "must be >= 1, got " + std::to_string(args.batch));
  if (args.threads < 0) throw BadInput("--threads", "must be >= 1 (or 0: every core), got " + std::to_string(args.threads));
  if (args.threads > 0) runtime::set_kernel_threads(args.threads);
  const int threads = runtime::kernel_threads();
  at::set_num_threads(threads);  // LibTorch on as many threads as the runtime

  const double start_rss = current_rss_mib();
  fs::path dir = args.model;
  if (dir.filename().empty()) dir = dir.parent_path();
  auto start = Clock::now();
  const auto model = runtime::Decoder::load(dir);  // verifies an artifact's manifest and checksums
  const double load_seconds = seconds_since(start);
  const auto& cfg = model->config();
  const auto prompt = prompt_tokens(args, dir, cfg.vocab_size);

  runtime::ThroughputOptions options{prompt, args.decode_tokens, args.runs, args.batch};
  const auto tp = runtime::measure_throughput(*model, options);
  const double runtime_rss = peak_rss_mib();

  const int64_t params = runtime::logical_parameters(*model);
  const std::string encodings = encodings_of(*model);
  const auto weights_file = formats::has_manifest(dir) ? formats::artifact_weights_file(dir) : dir / "model.safetensors";
  const auto file_bytes = static_cast<int64_t>(fs::file_size(weights_file));
  const int64_t weight_bytes = runtime::weight_bytes_per_token(*model);
  // The decoded tokens read the cache at positions prompt .. prompt + decode - 1: on average this many.
  const double mean_context = static_cast<double>(tp.prompt_tokens) + 0.5 * static_cast<double>(tp.decode_tokens - 1);
  const double token_bytes = static_cast<double>(weight_bytes) +
                             static_cast<double>(runtime::kv_bytes_per_position(*model)) * mean_context;
  const double decode_tps = tp.decode_tokens_per_second(), prefill_tps = tp.prefill_tokens_per_second();
  // A decode step reads the weights once for the whole batch and each sequence's cache.
  const double step_bytes = static_cast<double>(weight_bytes) + static_cast<double>(args.batch) * (token_bytes - weight_bytes);
  const double achieved_gbs = step_bytes * decode_tps / static_cast<double>(args.batch) / 1e9;

  std::optional<TorchTimes> torch_times;
  if (args.torch && args.batch == 1) torch_times = time_torch(dir, prompt, args.decode_tokens, args.runs);
  const double total_rss = peak_rss_mib();
  // Last: its 1 GiB buffer would otherwise be the peak RSS.
  const double dram_gbs = args.bandwidth ? runtime::dram_read_gbs(threads) : 0.0;

  std::printf("bench %s: %s, %.1f M parameters, linears %s\n", dir.string().c_str(), cfg.architecture.c_str(), params / 1e6,
              encodings.c_str());
  std::printf("  %d threads, kernels '%s'; prompt %lld tokens (%s), %lld decoded greedily; median of %d runs after a "
              "warm-up (cache-hot)\n",
              threads, runtime::kernel_set().c_str(), static_cast<long long>(tp.prompt_tokens),
              args.text.empty() ? "seeded random ids" : args.text.c_str(), static_cast<long long>(tp.decode_tokens), args.runs);
  if (args.batch > 1) {
    std::printf("  batch of %lld sequences run together: tok/s count all of them, time per op is per step of the batch; "
                "LibTorch is not timed (it runs batch 1 only here)\n",
                static_cast<long long>(args.batch));
  }
  std::printf("  size: %s %.2f MiB = %.3f of float32 (%.2f MiB); a decoded token reads %.2f MiB (weights %.2f, "
              "key/value cache %.2f)\n",
              weights_file.filename().string().c_str(), file_bytes / kMiB, file_bytes / (4.0 * params), 4.0 * params / kMiB,
              token_bytes / kMiB, weight_bytes / kMiB, (token_bytes - weight_bytes) / kMiB);
  std::printf("  %-34s %14s %14s %10s\n", "", "prefill tok/s", "decode tok/s", "load s");
  std::printf("  %-34s %14.1f %14.1f %10.2f\n", "runtime", prefill_tps, decode_tps, load_seconds);
  if (torch_times) {
    const double torch_prefill = torch_times->runs.prefill_tokens_per_second();
    const double torch_token = torch_times->runs.decode_tokens_per_second();
    std::printf("  %-34s %14.1f %13.1f* %10.2f\n", "LibTorch float32", torch_prefill, torch_token, torch_times->load_seconds);
    std::printf("  %-34s %14.2f %14.2f\n", "runtime / LibTorch", prefill_tps / torch_prefill, decode_tps / torch_token);
    std::printf("  * one forward of one token: LibTorch here has no key/value cache, so this skips attention over the "
                "context, the least its decode step could cost\n");
  }
  if (dram_gbs > 0) {
    std::printf("  decode streams %.1f GB/s = %.0f%% of the measured DRAM read bandwidth (%.1f GB/s, 1 GiB, %d threads)%s\n",
                achieved_gbs, 100 * achieved_gbs / dram_gbs, dram_gbs, threads,
                achieved_gbs > dram_gbs ? "; above 100%: the weights are served from cache" : "");
  }
  std::printf("  peak RSS %.1f MiB after the runtime's runs (%.1f MiB before loading: the binary and its libraries)%s\n",
              runtime_rss, start_rss,
              torch_times ? ("; " + std::to_string(static_cast<int>(total_rss)) + " MiB with LibTorch's model loaded too").c_str() : "");
  const double prefill_total = tp.prefill_ops.total_seconds(), decode_total = tp.decode_ops.total_seconds();
  std::printf("  time per op, summed over the %d runs:       prefill            decode\n", args.runs);
  std::printf("  %-30s %9s %8s %9s %8s\n", "op", "ms/run", "share", "ms/token", "share");
  for (int i = 0; i < runtime::kOpCount; ++i) {
    const auto op = static_cast<runtime::Op>(i);
    if (tp.prefill_ops.calls[i] == 0 && tp.decode_ops.calls[i] == 0) continue;
    std::printf("  %-30s %9.3f %7.1f%% %9.3f %7.1f%%\n", runtime::op_name(op), 1e3 * tp.prefill_ops.seconds[i] / args.runs,
                100 * tp.prefill_ops.seconds[i] / prefill_total,
                1e3 * tp.decode_ops.seconds[i] / (static_cast<double>(args.runs) * tp.decode_tokens),
                100 * tp.decode_ops.seconds[i] / decode_total);
  }

  if (!args.json.empty()) {
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : tp.runs) runs.push_back({{"prefill_seconds", r.prefill_seconds}, {"decode_seconds", r.decode_seconds}});
    nlohmann::json report = {
        {"model", dir.string()}, {"architecture", cfg.architecture}, {"parameters", params},
        {"linear_encodings", encodings}, {"threads", threads}, {"kernels", runtime::kernel_set()},
        {"prompt_tokens", tp.prompt_tokens}, {"decode_tokens", tp.decode_tokens}, {"batch", tp.batch}, {"runs", runs},
        {"prompt", args.text.empty() ? "seeded random ids" : args.text},
        {"weights_file", weights_file.string()}, {"weights_file_bytes", file_bytes}, {"float32_bytes", 4 * params},
        {"weight_bytes_per_token", weight_bytes}, {"bytes_per_decoded_token", token_bytes},
        {"runtime", {{"load_seconds", load_seconds}, {"prefill_tokens_per_second", prefill_tps},
                     {"decode_tokens_per_second", decode_tps}, {"decode_gb_per_second", achieved_gbs},
                     {"peak_rss_mib", runtime_rss}, {"rss_before_load_mib", start_rss}}},
        {"ops", {{"prefill", ops_json(tp.prefill_ops, static_cast<double>(args.runs) * tp.prompt_tokens)},
                 {"decode", ops_json(tp.decode_ops, static_cast<double>(args.runs) * tp.decode_tokens)}}},
        {"peak_rss_mib", total_rss}};
    if (dram_gbs > 0) report["dram_read_gb_per_second"] = dram_gbs;
    if (torch_times) {
      report["torch"] = {{"load_seconds", torch_times->load_seconds},
                         {"prefill_tokens_per_second", torch_times->runs.prefill_tokens_per_second()},
                         {"single_token_forward_per_second", torch_times->runs.decode_tokens_per_second()}};
    }
    write_output_file(args.json, report.dump(2) + "\n");
  }
  return 0;
}

}  // namespace compressor::cli
