#include "compressor/cli/commands.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "compressor/cli/bench.h"
#include "compressor/cli/calibrate.h"
#include "compressor/cli/export.h"
#include "compressor/cli/embed.h"
#include "compressor/cli/generate.h"
#include "compressor/cli/inspect.h"
#include "compressor/cli/run.h"
#include "compressor/cli/sensitivity.h"
#include "compressor/cli/validate.h"
#include "compressor/base/error.h"
#include "compressor/base/progress.h"
#include "compressor/runtime/kernels/blas_core.h"
#include "compressor/version.h"

namespace compressor::cli {

namespace {

int report(const char* kind, const std::exception& e, int code) {
  std::fprintf(stderr, "compressor: %s: %s\n", kind, e.what());
  return code;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"compressor: prune, quantize and distill models; validate and write compact artifacts"};
  // The kernels float32 GEMMs run on, so that a slow machine can be told from a slow build at a
  // glance (blas_core.h).
  app.set_version_flag("--version", std::string("compressor ") + kVersion + "\nOpenBLAS kernels: " + runtime::blas_core());
  app.require_subcommand(1);
  std::string log_level = "warn";
  bool quiet = false;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("-q,--quiet", quiet, "print only errors and the final result; no progress bars");

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "run a recipe: load, compress, evaluate before/after, gate, write the artifact");
  run->add_option("recipe", run_args.recipe, "recipe file (.yaml, .yml or .json)")->required();
  run->add_option("--set", run_args.overrides, "override a recipe value: key.path=value (repeatable)");
  run->add_flag("--dry-run", run_args.dry_run, "print the resolved plan as canonical YAML and exit");
  run->add_flag("--resume", run_args.resume,
                "continue training stages (distillation) from the checkpoints an interrupted run of this recipe left "
                "in <output>.training/");
  auto* help_passes = app.add_subcommand("passes", "list every pass with its options, types, ranges and defaults");
  run->add_flag_callback("--help-passes", [] { std::exit(print_passes()); }, "list every pass and its options, then exit");

  EvalArgs eval_args;
  auto* ev = app.add_subcommand("eval", "perplexity of an artifact or checkpoint on a text file");
  ev->add_option("model", eval_args.model, "artifact or checkpoint directory")->required();
  ev->add_option("--text", eval_args.text, "UTF-8 text file")->required();
  ev->add_option("--seq-len", eval_args.seq_len, "window length in tokens (default: the model's context, at most 256)");
  ev->add_option("--stride", eval_args.stride, "tokens the window advances (default: seq-len / 2)");
  ev->add_option("--max-bytes", eval_args.max_bytes, "evaluate only the first N bytes of the text (0: all)");
  ev->add_option("--engine", eval_args.engine,
                 "auto (default): runtime for an artifact of GPT-2 or Llama, torch otherwise; runtime: the artifact "
                 "executed as stored by compressor's runtime; torch: the weights dequantized into the LibTorch model")
      ->check(CLI::IsMember({"auto", "torch", "runtime"}));
  ev->add_option("--device", eval_args.device,
                 "cpu (default), or cuda: the runtime engine on CUDA device 0 (needs a build that found nvcc, and a GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}));

  CalibrateArgs calibrate_args;
  auto* calibrate = app.add_subcommand(
      "calibrate", "run a recipe's calibration data through the uncompressed model and write per-layer activation statistics");
  calibrate->add_option("recipe", calibrate_args.recipe, "recipe file with a calibration block")->required();
  calibrate->add_option("--stats", calibrate_args.stats,
                        "JSON file to write: per input group abs-max, percentiles, Hessian trace and diagonal range, dead channels")
      ->required();
  calibrate->add_option("--set", calibrate_args.overrides, "override a recipe value: key.path=value (repeatable)");

  SensitivityArgs sens;
  auto* sensitivity = app.add_subcommand(
      "sensitivity", "perplexity with one layer at a time quantized to each candidate scheme, for the recipe's first "
                     "quantization pass's layers; with --target-bpw, the allocation with the least summed increase");
  sensitivity->add_option("recipe", sens.recipe, "recipe file with a quantization, gptq or awq pass")->required();
  sensitivity->add_option("--set", sens.overrides, "override a recipe value: key.path=value (repeatable)");
  sensitivity->add_option("--schemes", sens.schemes,
                          "candidates, comma-separated: wN (N-bit weights per channel), wNgG (groups of G; a trailing a: "
                          "asymmetric, w4g64a), e4m3 (FP8 weights per channel), presets (W8A16, W4A16, W8A8, FP8_DYNAMIC)")
      ->capture_default_str();
  sensitivity->add_option("--target-bpw", sens.target_bpw,
                          "bits per weight over the pass's layers (4.25): propose the allocation within it");
  sensitivity->add_option("--text", sens.text, "text to measure on (default: the recipe's calibration text)");
  sensitivity->add_option("--max-bytes", sens.max_bytes, "measure on the first N bytes of the text (0: all)")
      ->capture_default_str();
  sensitivity->add_option("--seq-len", sens.seq_len, "window length in tokens (default: the calibration's seq_len)");
  sensitivity->add_option("--out", sens.out, "JSON file to write: every layer's perplexity per candidate, the allocation");
  sensitivity->add_option("--emit-recipe", sens.emit_recipe,
                          "write the recipe (resolved, absolute paths) with the allocation as the pass's config_groups");

  GenerateArgs gen;
  auto* generate = app.add_subcommand("generate", "continue a prompt with an artifact or checkpoint, executed by the runtime");
  generate->add_option("model", gen.model, "artifact or checkpoint directory (GPT-2 or Llama)")->required();
  auto* prompt_opt = generate->add_option("--prompt", gen.prompts, "the text to continue; repeat it to run several prompts as one batch");
  auto* prompts_opt = generate->add_option("--prompts", gen.prompts_file, "a text file of prompts, one a line (empty lines skipped), run as one batch");
  generate->add_option("--batch", gen.batch, "prompts run together at most (default 8); more run in turns");
  prompt_opt->excludes(prompts_opt);
  prompts_opt->excludes(prompt_opt);
  generate->add_option("--max-tokens", gen.max_tokens, "tokens to generate at most (default 64)");
  generate->add_option("--temperature", gen.sampling.temperature, "0: greedy (default); > 0: sample from softmax(logits / T)");
  generate->add_option("--top-k", gen.sampling.top_k, "sample among the k most likely tokens (0: all, default)");
  generate->add_option("--top-p", gen.sampling.top_p, "sample among the smallest set whose probability reaches p (default 1)");
  generate->add_option("--repetition-penalty", gen.sampling.repetition_penalty, "CTRL penalty on tokens already seen (default 1: none)");
  generate->add_option("--seed", gen.sampling.seed, "seed of the sampler (default 0)");
  generate->add_option("--device", gen.device,
                       "cpu (default), or cuda: one prompt run by the CUDA decoder on GPU 0 (a build that found nvcc, and a GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}));

  EmbedArgs embed_args;
  auto* embed = app.add_subcommand("embed", "sentence embeddings of each line of a text with a BERT artifact or checkpoint "
                                            "(mean-pooled, L2-normalised), executed by the runtime");
  embed->add_option("model", embed_args.model, "artifact or checkpoint directory (BERT)")->required();
  embed->add_option("--text", embed_args.text, "UTF-8 text file, one sentence a line (empty lines skipped)")->required();
  embed->add_option("--out", embed_args.out, "JSON lines file to write, {\"line\": N, \"embedding\": [...]} a line (default: stdout)");
  embed->add_option("--batch", embed_args.batch, "sentences encoded together (default 32)");

  ExportArgs export_args;
  auto* exp = app.add_subcommand(
      "export", "write an artifact as a GGUF file that llama.cpp runs, its quantized weights carried over exactly "
                "(int4 -> Q4_0, int8 -> Q8_0; other schemes are refused with the reason)");
  exp->add_option("model", export_args.model, "artifact or checkpoint directory (GPT-2 or Llama)")->required();
  exp->add_option("--to", export_args.to, "the format to write (gguf)")->required()->check(CLI::IsMember({"gguf"}));
  exp->add_option("--out", export_args.out, "file to write (default: the directory's path + .gguf)");

  ValidateArgs val;
  auto* validate = app.add_subcommand(
      "validate", "run an artifact in the runtime and as the fake-quant LibTorch model, and its baseline, on one text: "
                  "perplexities, runtime-vs-LibTorch logit agreement against its tolerance, and the recipe's gate (exit 3)");
  validate->add_option("artifact", val.artifact, "artifact directory")->required();
  validate->add_option("--baseline", val.baseline, "the uncompressed checkpoint (directory or .gguf)")->required();
  validate->add_option("--text", val.text, "UTF-8 text file (held-out; when it is one of the recipe's evaluate datasets, "
                                            "that dataset's name, windows and max_bytes are used)")->required();
  validate->add_option("--seq-len", val.seq_len, "window length in tokens");
  validate->add_option("--stride", val.stride, "tokens the window advances");
  validate->add_option("--max-bytes", val.max_bytes, "use only the first N bytes of the text (0: all)");
  validate->add_option("--max-drop", val.max_drop,
                       "gate rule metric=limit (perplexity=2%, bits_per_byte=0.01; repeatable): replaces the recipe's "
                       "validate.max_drop");
  validate->add_option("--json", val.json, "also write the report as JSON to this file");

  BenchArgs bench_args;
  auto* bench = app.add_subcommand(
      "bench", "time an artifact or checkpoint in the runtime (prefill and decode tok/s, time per op, peak RSS, size, "
               "bytes per token against the measured DRAM bandwidth) and as float32 LibTorch in the same run");
  bench->add_option("model", bench_args.model, "artifact or checkpoint directory (GPT-2 or Llama)")->required();
  bench->add_option("--prompt-tokens", bench_args.prompt_tokens, "prompt length, prefilled in one forward (default 128)");
  bench->add_option("--decode-tokens", bench_args.decode_tokens, "tokens decoded greedily one at a time after it (default 64)");
  bench->add_option("--batch", bench_args.batch,
                    "sequences run together, each the prompt (default 1); tok/s count them all; LibTorch is timed at 1 only");
  bench->add_option("--runs", bench_args.runs, "timed runs, after one warm-up; the median is reported (default 3)");
  bench->add_option("--threads", bench_args.threads, "threads for the runtime and LibTorch (default: every core)");
  bench->add_option("--text", bench_args.text, "take the prompt from this text's first tokens (default: seeded random ids)");
  bench->add_flag("!--no-torch", bench_args.torch, "skip the float32 LibTorch comparison");
  bench->add_flag("!--no-bandwidth", bench_args.bandwidth, "skip measuring the DRAM read bandwidth (1 GiB, about a second)");
  bench->add_option("--json", bench_args.json, "also write the report as JSON to this file");

  std::string inspect_path;
  auto* inspect = app.add_subcommand("inspect", "summarise an artifact (manifest, per-layer sparsity) or a checkpoint");
  inspect->add_option("path", inspect_path, "artifact directory, checkpoint directory or .safetensors file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 1;
  }

  spdlog::set_level(quiet ? spdlog::level::err : spdlog::level::from_str(log_level));
  spdlog::set_pattern("[%l] %v");
  base::ProgressBar::set_enabled(!quiet);
  try {
    if (*run) return run_recipe(run_args, quiet);
    if (*help_passes) return print_passes();
    if (*ev) return eval_model(eval_args);
    if (*calibrate) return calibrate_recipe(calibrate_args, quiet);
    if (*inspect) return inspect_path_cmd(inspect_path);
    if (*generate) return generate_text(gen);
    if (*embed) return embed_text(embed_args);
    if (*exp) return export_model(export_args);
    if (*validate) return validate_artifact(val);
    if (*bench) return bench_model(bench_args);
    if (*sensitivity) return sensitivity_recipe(sens, quiet);
  } catch (const GateFailed& e) {
    return report("accuracy gate failed", e, 3);
  } catch (const BadInput& e) {
    return report("error", e, 2);
  } catch (const Error& e) {
    return report("internal error", e, 4);
  } catch (const c10::Error& e) {
    return report("internal error (torch)", e, 4);
  } catch (const std::exception& e) {
    return report("internal error", e, 4);
  }
  return 1;
}

}  // namespace compressor::cli
