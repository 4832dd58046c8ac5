#include "compressor/cli/generate.h"

#include <chrono>
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "calibration/tokenizer_for.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/cli/device_flag.h"
#include "compressor/runtime/decoder.h"
#include "compressor/runtime/generate.h"
#if defined(COMPRESSOR_HAVE_CUDA)
#include "compressor/runtime/kernels/cuda/cuda_decoder.h"
#endif

namespace compressor::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// The prompts of --prompts FILE: its non-empty lines, without their line ends.
std::vector<std::string> read_prompts(const std::string& file) {
  const std::string text = base::read_text_file(file, "--prompts");
  std::vector<std::string> prompts;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) prompts.push_back(line);
  }
  if (prompts.empty()) throw BadInput(file, "--prompts: the file has no prompt (one a line)");
  return prompts;
}

template <class Model>
int stream_one(const Model& model, const tokenizers::Tokenizer& tok, const std::string& text_prompt,
               const std::vector<int32_t>& prompt, const GenerateArgs& args) {
  std::fputs(text_prompt.c_str(), stdout);
  std::fflush(stdout);
  // The continuation is decoded whole after each token and only its new tail printed, so tokens
  // that are parts of one character come out together.
  std::vector<int64_t> generated;
  std::string printed;
  const auto start = Clock::now();
  Clock::time_point first_token;
  auto on_token = [&](int32_t t) {
    if (generated.empty()) first_token = Clock::now();
    generated.push_back(t);
    const std::string text = tok.decode(generated);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
      std::fputs(text.c_str() + printed.size(), stdout);
      std::fflush(stdout);
      printed = text;
    }
    return true;
  };
  const auto r = runtime::generate(model, prompt, args.max_tokens, args.sampling, on_token);
  const auto end = Clock::now();
  const std::string text = tok.decode(generated);
  if (text.compare(0, printed.size(), printed) == 0) std::fputs(text.c_str() + printed.size(), stdout);
  std::fputs("\n", stdout);
  const double prefill = seconds(start, first_token);
  const double decode = seconds(first_token, end);
  const auto n = static_cast<long long>(r.tokens.size());
  std::fprintf(stderr, "%lld prompt tokens in %.3f s (%.1f tok/s); %lld generated, %.1f tok/s after the first; %s\n",
               static_cast<long long>(prompt.size()), prefill, static_cast<double>(prompt.size()) / prefill, n,
               n > 1 && decode > 0 ? static_cast<double>(n - 1) / decode : 0.0,
               r.stopped_at_eos ? "stopped at end-of-sequence" : "stopped at --max-tokens or the context");
  return 0;
}

}  // namespace

int generate_text(const GenerateArgs& args) {
  args.sampling.check("--");
  if (args.max_tokens < 1) throw BadInput("--max-tokens", "must be >= 1, got " + std::to_string(args.max_tokens));
  if (args.batch < 1) throw BadInput("--batch", "must be >= 1, got " + std::to_string(args.batch));
  const std::vector<std::string> texts = args.prompts_file.empty() ? args.prompts : read_prompts(args.prompts_file);
  if (texts.empty()) throw BadInput("--prompt", "give the text to continue (--prompt TEXT, or --prompts FILE)");
  check_device(args.device);
  const std::filesystem::path dir = args.model;
  const auto model = runtime::Decoder::load(dir);
  const auto tok = calibration::tokenizer_for(model->config().vocab_size, dir);
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& t : texts) {
    const auto ids = tok->encode(t);
    prompts.emplace_back(ids.begin(), ids.end());
  }
  if (args.device == "cuda") {
    if (prompts.size() != 1) throw BadInput("--device", "cuda runs one prompt at a time; " + std::to_string(prompts.size()) + " given");
#if defined(COMPRESSOR_HAVE_CUDA)
    const runtime::cuda::CudaDecoder gpu(*model);
    return stream_one(gpu, *tok, texts[0], prompts[0], args);
#else
    throw InternalError("--device", "cuda without CUDA kernels passed check_device");
#endif
  }
  if (prompts.size() == 1) return stream_one(*model, *tok, texts[0], prompts[0], args);

  // Every prompt is checked before any is run, so a bad one fails the command before it prints.
  const int64_t context = model->config().max_positions;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::string which = (args.prompts_file.empty() ? "--prompt " : args.prompts_file + ": prompt ") + std::to_string(i + 1);
    if (prompts[i].empty()) throw BadInput(which, "is empty: generation needs at least one token");
    if (static_cast<int64_t>(prompts[i].size()) >= context) {
      throw BadInput(which, std::to_string(prompts[i].size()) + " tokens leave no room in the model's context of " +
                                std::to_string(context) + " positions");
    }
  }
  const auto start = Clock::now();
  long long prompt_tokens = 0, generated = 0, at_eos = 0;
  for (size_t first = 0; first < prompts.size(); first += static_cast<size_t>(args.batch)) {
    const size_t end = std::min(prompts.size(), first + static_cast<size_t>(args.batch));
    const std::vector<std::vector<int32_t>> turn(prompts.begin() + static_cast<std::ptrdiff_t>(first),
                                                 prompts.begin() + static_cast<std::ptrdiff_t>(end));
    const auto results = runtime::generate_batch(*model, turn, args.max_tokens, args.sampling);
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      const std::vector<int64_t> ids(r.tokens.begin(), r.tokens.end());
      if (first + i > 0) std::fputs("\n", stdout);
      std::fputs((texts[first + i] + tok->decode(ids) + "\n").c_str(), stdout);
      prompt_tokens += static_cast<long long>(turn[i].size());
      generated += static_cast<long long>(r.tokens.size());
      at_eos += r.stopped_at_eos;
    }
    std::fflush(stdout);
  }
  const double wall = seconds(start, Clock::now());
  std::fprintf(stderr,
               "%zu prompts (%lld tokens) in batches of up to %lld; %lld tokens generated in %.3f s: %.1f tok/s "
               "with prefill; %lld stopped at end-of-sequence\n",
               prompts.size(), prompt_tokens, static_cast<long long>(args.batch), generated, wall,
               static_cast<double>(generated) / wall, at_eos);
  return 0;
}

}  // namespace compressor::cli
