// The trainer's overhead: tokens/s of distill::Trainer (seeded epoch order, loss bookkeeping,
// clipping, masks re-applied every step) against a plain LibTorch loop doing the same
// forward/backward/clip/AdamW step on the same model and batches, in the same run, interleaved;
// and the distillation loss (a teacher forward more) for reference, with the teacher's top-64
// logits read from a cache instead (distill/teacher_cache.h), the distillation with its student's
// blocks recomputed in backward (gradient_checkpointing, distill/checkpoint.h), and the plain loop
// under LibTorch's CPU bf16 autocast (matmuls in bf16, AVX-512 BF16 where the CPU has it).
//   build/bench/bench_training_throughput [--model models/kjv-gpt2] [--text models/kjv-gpt2/data/validation.txt]
//       [--batch 8] [--seq-len 256] [--steps 10] [--rounds 3] [--threads N (LibTorch's intra-op threads)]
#include <unistd.h>

#include <ATen/autocast_mode.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "bench/bench_util.h"
#include "calibration/dataset.h"
#include "calibration/tokenizer_for.h"
#include "compressor/model/architecture.h"
#include "compressor/pipeline/distillation_run.h"
#include "distill/losses.h"
#include "distill/teacher_cache.h"
#include "distill/trainer.h"

using namespace compressor;

namespace {

distill::TrainParams linear_params(model::Model& m) {
  distill::TrainParams p;
  for (auto& s : m.slots()) {
    if (s.is_linear()) p.decay.push_back(s.weight);
  }
  for (auto& t : m.module().parameters()) t.requires_grad_(false);
  return p;
}

torch::Tensor next_token_loss(const model::Model& m, const torch::Tensor& ids) {
  const auto logits = m.forward(ids.slice(1, 0, -1));
  return distill::hard_label_loss(logits, ids.slice(1, 1));
}

}  // namespace

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  std::string model_dir = "models/kjv-gpt2", text = "models/kjv-gpt2/data/validation.txt";
  int64_t batch = 8, seq_len = 256, steps = 10, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--model") model_dir = v;
    else if (a == "--text") text = v;
    else if (a == "--batch") batch = std::stoll(v);
    else if (a == "--seq-len") seq_len = std::stoll(v);
    else if (a == "--steps") steps = std::stoll(v);
    else if (a == "--rounds") rounds = std::stoll(v);
    else if (a == "--threads") at::set_num_threads(std::stoi(v));
  }
  auto student = model::load_model(model_dir);
  auto teacher = model::load_model(model_dir);
  for (auto& t : teacher->module().parameters()) t.requires_grad_(false);
  auto tok = calibration::tokenizer_for(*student, model_dir);
  const auto tokens = calibration::load_text_tokens(text, *tok, 0, "--text");
  const auto windows = pipeline::training_windows(tokens, seq_len, 1, "--text").train;
  const double tokens_per_run = static_cast<double>(steps * batch * (seq_len + 1));
  std::printf("%s: %lld windows of %lld tokens; %lld steps of %lld windows per timed run, %d threads\n",
              model_dir.c_str(), static_cast<long long>(windows.size(0)), static_cast<long long>(seq_len + 1),
              static_cast<long long>(steps), static_cast<long long>(batch), torch::get_num_threads());

  distill::TrainerOptions o;
  o.steps = steps;
  o.batch = batch;
  o.lr = 1e-5;
  o.grad_clip = 1.0;

  // The plain loop: the same batches the trainer takes, the same optimizer and clipping.
  auto plain = [&] {
    auto p = linear_params(*student);
    for (auto& t : p.decay) t.requires_grad_(true);
    torch::optim::AdamW opt(p.decay, torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps));
    for (int64_t s = 0; s < steps; ++s) {
      const auto rows = torch::tensor(distill::micro_batch_rows(windows.size(0), batch, s, 0), torch::kLong);
      opt.zero_grad();
      auto loss = next_token_loss(*student, windows.index_select(0, rows));
      loss.backward();
      torch::nn::utils::clip_grad_norm_(p.decay, o.grad_clip);
      opt.step();
    }
    for (auto& t : p.decay) t.requires_grad_(false);
  };
  auto ours = [&] {
    pipeline::KeepMasks masks(*student);
    distill::Trainer trainer(o, linear_params(*student), {&masks});
    trainer.run(windows, {}, [&](const distill::MicroBatch& b) {
      auto l = next_token_loss(*student, b.ids);
      return distill::LossTerms{l, {{"ce", l.item<double>()}}};
    }, {}, "bench");
  };
  passes::TrainingSpec spec;
  spec.alpha = 0.5;
  spec.temperature = 2.0;
  auto distilling = [&] {
    pipeline::KeepMasks masks(*student);
    distill::Trainer trainer(o, linear_params(*student), {&masks});
    trainer.run(windows, {}, pipeline::distillation_loss(*student, *teacher, spec), {}, "bench");
  };

  passes::TrainingSpec checkpointed_spec = spec;
  checkpointed_spec.gradient_checkpointing = true;
  auto distilling_checkpointed = [&] {
    pipeline::KeepMasks masks(*student);
    distill::Trainer trainer(o, linear_params(*student), {&masks});
    trainer.run(windows, {}, pipeline::distillation_loss(*student, *teacher, checkpointed_spec), {}, "bench");
  };

  // The cache is filled once, outside the timed runs (a first epoch pays for it; later ones do not).
  const auto cache_file = std::filesystem::temp_directory_path() / ("bench-teacher-top64-" + std::to_string(::getpid()) + ".bin");
  std::unique_ptr<distill::TeacherCache> cache;
  {
    const auto start = std::chrono::steady_clock::now();
    cache = std::make_unique<distill::TeacherCache>(cache_file, windows.slice(1, 0, -1), 64, nlohmann::json{{"bench", 1}},
                                                    [&](const torch::Tensor& ids) { return teacher->forward(ids); }, batch);
    std::printf("teacher top-64 cache of %lld windows: %.1f MB in %.1fs\n", static_cast<long long>(windows.size(0)),
                static_cast<double>(cache->bytes()) / 1e6,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  auto distilling_cached = [&] {
    pipeline::KeepMasks masks(*student);
    distill::Trainer trainer(o, linear_params(*student), {&masks});
    trainer.run(windows, {}, pipeline::distillation_loss(*student, *teacher, spec, {}, cache.get()), {}, "bench");
  };
  auto plain_bf16 = [&] {
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    plain();
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  };

  double best_plain = 1e30, best_ours = 1e30, best_kd = 1e30, best_cached = 1e30, best_bf16 = 1e30, best_ckpt = 1e30;
  for (int64_t r = 0; r < rounds; ++r) {
    best_plain = std::min(best_plain, bench::best_of(1, plain));
    best_ours = std::min(best_ours, bench::best_of(1, ours));
    best_kd = std::min(best_kd, bench::best_of(1, distilling));
    best_cached = std::min(best_cached, bench::best_of(1, distilling_cached));
    best_ckpt = std::min(best_ckpt, bench::best_of(1, distilling_checkpointed));
    best_bf16 = std::min(best_bf16, bench::best_of(1, plain_bf16));
  }
  cache.reset();
  std::filesystem::remove(cache_file);
  std::printf("%-44s %12s %10s\n", "loop", "tokens/s", "vs plain");
  std::printf("%-44s %12.0f %10.3f\n", "plain LibTorch forward/backward/AdamW", tokens_per_run / best_plain, 1.0);
  std::printf("%-44s %12.0f %10.3f\n", "distill::Trainer, same loss (+ masks)", tokens_per_run / best_ours,
              best_plain / best_ours);
  std::printf("%-44s %12.0f %10.3f\n", "distill::Trainer, distillation loss", tokens_per_run / best_kd,
              best_plain / best_kd);
  std::printf("%-44s %12.0f %10.3f\n", "distill::Trainer, distillation, cached top-64", tokens_per_run / best_cached,
              best_plain / best_cached);
  std::printf("%-44s %12.0f %10.3f\n", "distill::Trainer, distillation, checkpointed", tokens_per_run / best_ckpt,
              best_plain / best_ckpt);
  std::printf("%-44s %12.0f %10.3f\n", "plain loop under bf16 autocast", tokens_per_run / best_bf16, best_plain / best_bf16);
  std::printf("trainer overhead: %+.1f%% (best of %lld rounds each, interleaved)\n", 100 * (best_ours / best_plain - 1),
              static_cast<long long>(rounds));
  return 0;
}
