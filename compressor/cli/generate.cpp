#include "compressor/cli/generate.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "calibration/tokenizer_for.h"
#include "compressor/base/error.h"
#include "compressor/runtime/decoder.h"
#include "compressor/runtime/generate.h"

namespace compressor::cli {

int generate_text(const GenerateArgs& args) {
  using Clock = std::chrono::steady_clock;
  args.sampling.check("--");
  if (args.max_tokens < 1) throw BadInput("--max-tokens", "must be >= 1, got " + std::to_string(args.max_tokens));
  const std::filesystem::path dir = args.model;
  const auto model = runtime::Decoder::load(dir);
  const auto tok = calibration::tokenizer_for(model->config().vocab_size, dir);
  const auto ids = tok->encode(args.prompt);
  const std::vector<int32_t> prompt(ids.begin(), ids.end());

  std::fputs(args.prompt.c_str(), stdout);
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
    const std::string text = tok->decode(generated);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
      std::fputs(text.c_str() + printed.size(), stdout);
      std::fflush(stdout);
      printed = text;
    }
    return true;
  };
  const auto r = runtime::generate(*model, prompt, args.max_tokens, args.sampling, on_token);
  const auto end = Clock::now();
  const std::string text = tok->decode(generated);
  if (text.compare(0, printed.size(), printed) == 0) std::fputs(text.c_str() + printed.size(), stdout);
  std::fputs("\n", stdout);
  const double prefill = std::chrono::duration<double>(first_token - start).count();
  const double decode = std::chrono::duration<double>(end - first_token).count();
  const auto n = static_cast<long long>(r.tokens.size());
  std::fprintf(stderr, "%lld prompt tokens in %.3f s (%.1f tok/s); %lld generated, %.1f tok/s after the first; %s\n",
               static_cast<long long>(prompt.size()), prefill, static_cast<double>(prompt.size()) / prefill, n,
               n > 1 && decode > 0 ? static_cast<double>(n - 1) / decode : 0.0,
               r.stopped_at_eos ? "stopped at end-of-sequence" : "stopped at --max-tokens or the context");
  return 0;
}

}  // namespace compressor::cli
