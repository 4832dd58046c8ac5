// Calibration cost on a real model: what observers add to a plain forward, how fast the Hessian
// accumulates against the fp32 GEMM peak measured in the same run, and the peak memory of a
// sequential or one-pass sweep against the float32 model plus the cached block inputs.
//   build/bench/bench_calibration MODEL --text FILE [--samples N] [--seq-len T] [--batch B]
//                                 [--mode speed|sequential|one-pass|segments] [--repeat R] [--json OUT]
// speed:      plain forward of every block (embed + blocks, no head) on the calibration batches,
//             against the same forward with observers collecting channel norms and abs-max, and
//             then also Hessians (one-pass mode: one forward per block, like the plain one); best
//             of R. The Hessians' floor (their multiply-adds against the linears') is printed too.
//             Then accumulate() on [rows, in] chunks of the model's two input widths against a
//             2048^3 torch::mm (and the same in bfloat16).
// segments:   seconds per segment of the block forward (model.h run_segment), with the fused
//             no-grad attention, rotary and RMSNorm and with their LibTorch expressions, against
//             the GEMM rate.
// sequential / one-pass: one Wanda-like sweep (channel norms) and the process's peak RSS (VmHWM);
//             run each mode in its own process, since a peak cannot be reset.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "calibration/dataset.h"
#include "calibration/sampler.h"
#include "calibration/sequential.h"
#include "calibration/tokenizer_for.h"
#include "compressor/model/architecture.h"

#include "bench/bench_util.h"

using namespace compressor;
using bench::best_of;
using bench::status_mib;

namespace {



}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL --text FILE [--samples N] [--seq-len T] [--batch B] [--mode M] [--json OUT]\n", argv[0]);
    return 1;
  }
  std::string model_path = argv[1], text, mode = "speed", json_out;
  int64_t samples = 32, seq_len = 512, batch = 8;
  int repeat = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--text")) text = argv[i + 1];
    else if (!std::strcmp(argv[i], "--samples")) samples = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seq-len")) seq_len = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--mode")) mode = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--json")) json_out = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 1; }
  }
  auto model = model::load_model(model_path);
  auto tok = calibration::tokenizer_for(*model, model_path);
  auto tokens = calibration::load_text_tokens(text, *tok, 0, "--text");
  auto ids = calibration::random_windows(tokens, samples, seq_len, 0);
  const double after_load = status_mib("VmRSS:");
  int64_t weights = 0;
  for (const auto& [name, t] : model->checkpoint_tensors()) weights += t.numel() * 4;
  const double inputs_mib = static_cast<double>(samples * seq_len * model->hidden_size() * 4) / (1 << 20);
  nlohmann::json out{{"model", model_path}, {"samples", samples}, {"seq_len", seq_len}, {"batch", batch}, {"mode", mode}};
  torch::NoGradGuard no_grad;

  if (mode == "segments") {
    // Where a block's forward spends its time: each segment of run_segment (see model.h), summed
    // over blocks and batches, against the multiply-adds of the linears it runs (the rest is
    // attention, norms, rotary, activations: LibTorch ops that one thread runs).
    std::vector<std::pair<torch::Tensor, model::BlockInputs>> batches;
    for (int64_t i = 0; i < samples; i += batch) {
      model::BlockInputs in;
      auto h = model->embed({ids.slice(0, i, std::min(samples, i + batch)), {}, {}}, &in);
      batches.emplace_back(h, in);
    }
    const size_t n_groups = model->input_groups(0).size();
    std::vector<double> macs(n_groups + 1, 0.0);
    for (int b = 0; b < model->num_blocks(); ++b) {
      const auto& groups = model->input_groups(b);
      for (size_t g = 0; g < groups.size(); ++g) {
        for (size_t si : groups[g].slots) {
          const auto& s = model->slots()[si];
          macs[g + 1] += static_cast<double>(s.in_features() * s.out_features()) * static_cast<double>(samples * seq_len);
        }
      }
    }
    // Seconds per segment, best total of `repeat`. With grad mode on (no tensor requires a
    // gradient, so nothing is recorded) attention, rotary and RMSNorm take their LibTorch
    // expressions instead of the fused no-grad paths (model/ops.h): the baseline in the same run.
    auto time_segments = [&](bool libtorch_ops) {
      torch::AutoGradMode grad_mode(libtorch_ops);
      std::vector<double> best;
      for (int r = 0; r < repeat; ++r) {
        std::vector<double> run(n_groups + 1, 0.0);
        for (auto& [h, in] : batches) {
          auto x = h;
          for (int b = 0; b < model->num_blocks(); ++b) {
            model::SegmentCarry carry;
            torch::Tensor prev;
            for (size_t g = 0; g <= n_groups; ++g) {
              const auto t = std::chrono::steady_clock::now();
              prev = model->run_segment(b, g, x, prev, carry, in);
              run[g] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
            }
            x = prev;
          }
        }
        double sum_run = 0, sum_best = 0;
        for (size_t g = 0; g <= n_groups; ++g) sum_run += run[g];
        for (double v : best) sum_best += v;
        if (best.empty() || sum_run < sum_best) best = run;
      }
      return best;
    };
    const auto fused = time_segments(false), libtorch = time_segments(true);
    std::printf("| segment | linears GFLOP | LibTorch ops s | fused ops s | speed-up |\n|---|---|---|---|---|\n");
    double total_f = 0, total_l = 0, total_macs = 0;
    for (size_t g = 0; g <= n_groups; ++g) {
      total_f += fused[g];
      total_l += libtorch[g];
      total_macs += macs[g];
      std::printf("| %zu (%s) | %.0f | %.2f | %.2f | %.2fx |\n", g,
                  g == 0 ? "block input -> group 0" : g == n_groups ? "last group -> block output" : "group -> next group",
                  2 * macs[g] / 1e9, libtorch[g], fused[g], libtorch[g] / fused[g]);
      out["segments"].push_back({{"fused_seconds", fused[g]}, {"libtorch_seconds", libtorch[g]}, {"linear_macs", macs[g]}});
    }
    const double tokens_n = static_cast<double>(samples * seq_len);
    std::printf("| all | %.0f | %.2f (%.0f tok/s, linears %.0f GFLOP/s) | %.2f (%.0f tok/s, linears %.0f GFLOP/s) | %.2fx |\n",
                2 * total_macs / 1e9, total_l, tokens_n / total_l, 2 * total_macs / total_l / 1e9, total_f,
                tokens_n / total_f, 2 * total_macs / total_f / 1e9, total_l / total_f);
    auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
    const double mm = best_of(repeat + 2, [&] { torch::mm(a, b); });
    std::printf("fp32 GEMM 2048^3 (torch::mm): %.1f GFLOP/s: the linears alone at that rate take %.2f s\n",
                2.0 * 2048 * 2048 * 2048 / mm / 1e9, 2 * total_macs / (2.0 * 2048 * 2048 * 2048 / mm));
  } else if (mode == "sequential" || mode == "one-pass") {
    calibration::Requirements req;
    req.channel_norms = true;
    calibration::SequentialOptions o;
    o.sequential = mode == "sequential";
    o.batch_size = batch;
    const auto t = std::chrono::steady_clock::now();
    calibration::run_sequential(*model, ids, {}, req, o, [](model::BlockView&, const calibration::BlockStats&) {});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    const double peak = status_mib("VmHWM:");
    const double model_mib = static_cast<double>(weights) / (1 << 20);
    std::printf("%s sweep, %lld x %lld tokens: %.1f s; peak RSS %.0f MiB (after load %.0f); f32 weights %.0f MiB + "
                "cached inputs %.0f MiB = %.0f MiB; peak / that = %.2f\n",
                mode.c_str(), static_cast<long long>(samples), static_cast<long long>(seq_len), s, peak, after_load,
                model_mib, inputs_mib, model_mib + inputs_mib, peak / (model_mib + inputs_mib));
    out.update({{"seconds", s}, {"peak_rss_mib", peak}, {"rss_after_load_mib", after_load}, {"f32_weights_mib", model_mib},
                {"cached_inputs_mib", inputs_mib}});
  } else {
    // Batches embedded once, as the driver does; then every block on them.
    std::vector<std::pair<torch::Tensor, model::BlockInputs>> batches;
    for (int64_t i = 0; i < samples; i += batch) {
      model::BlockInputs in;
      auto h = model->embed({ids.slice(0, i, std::min(samples, i + batch)), {}, {}}, &in);
      batches.emplace_back(h, in);
    }
    const double plain = best_of(repeat, [&] {
      for (auto& [h, in] : batches) {
        auto x = h;
        for (int b = 0; b < model->num_blocks(); ++b) x = model->run_block(b, x, in);
      }
    });
    // Observers in one-pass mode (one forward per block, like the plain loop), first with what
    // Wanda and SmoothQuant need (channel norms, abs-max), then with the Hessians GPTQ and
    // SparseGPT add.
    auto observed_with = [&](bool hessian) {
      calibration::Requirements req;
      req.channel_norms = req.abs_max = true;
      req.hessian = hessian;
      calibration::SequentialOptions o;
      o.sequential = false;
      o.batch_size = batch;
      return best_of(repeat, [&] {
        calibration::run_sequential(*model, ids, {}, req, o, [](model::BlockView&, const calibration::BlockStats&) {});
      });
    };
    const double light = observed_with(false);
    const double observed = observed_with(true);
    // The Hessians' floor: multiply-adds per row of one triangle of XᵀX per input group (syrk)
    // against those of the block's linears. No implementation of the Hessian can cost less.
    double gram_macs = 0, linear_macs = 0;
    for (int b = 0; b < model->num_blocks(); ++b) {
      for (const auto& g : model->input_groups(b)) {
        const auto in = static_cast<double>(model->slots()[g.slots.front()].in_features());
        gram_macs += in * (in + 1) / 2;
        for (size_t si : g.slots) linear_macs += in * static_cast<double>(model->slots()[si].out_features());
      }
    }
    const double tokens_n = static_cast<double>(samples * seq_len);
    std::printf("forward of the blocks, %lld x %lld tokens: plain %.2f s (%.0f tok/s)\n"
                "  with channel norms + abs-max (Wanda, SmoothQuant): %.2f s (%.0f tok/s): +%.1f%%\n"
                "  with those + Hessians (GPTQ, SparseGPT): %.2f s (%.0f tok/s): +%.1f%%; the Hessians' multiply-adds "
                "are %.0f%% of the linears'\n",
                static_cast<long long>(samples), static_cast<long long>(seq_len), plain, tokens_n / plain, light,
                tokens_n / light, 100 * (light / plain - 1), observed, tokens_n / observed, 100 * (observed / plain - 1),
                100 * gram_macs / linear_macs);
    out.update({{"light_seconds", light}, {"light_overhead", light / plain - 1}, {"gram_to_linear_macs", gram_macs / linear_macs}});
    out.update({{"plain_seconds", plain}, {"observed_seconds", observed}, {"overhead", observed / plain - 1}});

    auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
    const double mm = best_of(repeat + 2, [&] { torch::mm(a, b); });
    const double peak = 2.0 * 2048 * 2048 * 2048 / mm / 1e9;
    // bfloat16 beside it: oneDNN 2.6 through LibTorch is no faster than OpenBLAS's float32 on AVX-512
    // BF16 (165 against 309 GFLOP/s on this project's Emerald Rapids machine), so calibration stays
    // in float32.
    const auto a16 = a.to(torch::kBFloat16), b16 = b.to(torch::kBFloat16);
    const double mm16 = best_of(repeat + 2, [&] { torch::mm(a16, b16); });
    std::printf("fp32 GEMM 2048^3 (torch::mm): %.1f GFLOP/s; bfloat16: %.1f GFLOP/s\n", peak,
                2.0 * 2048 * 2048 * 2048 / mm16 / 1e9);
    out["gemm_gflops"] = peak;
    out["gemm_bf16_gflops"] = 2.0 * 2048 * 2048 * 2048 / mm16 / 1e9;
    nlohmann::json hess = nlohmann::json::array();
    for (int64_t in : {model->hidden_size(), model->slots()[model->input_groups(0).back().slots[0]].in_features()}) {
      const int64_t rows = batch * seq_len;
      auto x = torch::randn({rows, in});
      calibration::Requirements h;
      h.hessian = true;
      calibration::GroupStats g;
      const double t = best_of(repeat + 2, [&] { calibration::accumulate(g, x, h); });
      // Counted as the GEMM XᵀX would count them (2·rows·in²), so the figure says how fast the
      // Hessian arrives against a GEMM doing the same job; syrk does half of those.
      const double gflops = 2.0 * static_cast<double>(rows) * static_cast<double>(in * in) / t / 1e9;
      std::printf("Hessian accumulation [%lld rows, %lld]: %.1f GFLOP/s (GEMM-equivalent) = %.0f%% of the GEMM\n", static_cast<long long>(rows),
                  static_cast<long long>(in), gflops, 100 * gflops / peak);
      hess.push_back({{"rows", rows}, {"in", in}, {"gflops", gflops}, {"fraction_of_gemm", gflops / peak}});
    }
    out["hessian"] = hess;
  }
  if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
  return 0;
}
