// Our model's logits on the first tokens of a text, for checking another loader against them
// (bench/hf_load_check.py loads the same artifact with transformers + compressed-tensors).
//   build/bench/bench_dump_logits MODEL --text FILE [--tokens 128] [--no-activation-quant] --out DIR
// --no-activation-quant runs a W8A8 or FP8_DYNAMIC artifact with its inputs left in float, so its
// weights alone can be compared with another loader's (dynamic activation rounding amplifies
// float-rounding differences between implementations; see docs/benchmarks.md).
// Writes DIR/tokens.txt (the ids, comma-separated) and DIR/logits.f32 (float32 [tokens, vocab],
// little-endian, row-major).
#include <cstdio>
#include <fstream>
#include <string>

#include "calibration/dataset.h"
#include "calibration/tokenizer_for.h"
#include "compressor/model/architecture.h"
#include "formats/artifact.h"

#include "bench/bench_util.h"

using namespace compressor;

int main(int argc, char** argv) {
  bench::start_like_compressor(argv);
  std::string model_path, text, out;
  int64_t n = 128;
  bool activation_quant = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--text" && i + 1 < argc) text = argv[++i];
    else if (a == "--tokens" && i + 1 < argc) n = std::stoll(argv[++i]);
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--no-activation-quant") activation_quant = false;
    else model_path = a;
  }
  if (model_path.empty() || text.empty() || out.empty()) {
    std::fprintf(stderr, "usage: bench_dump_logits MODEL --text FILE [--tokens N] [--no-activation-quant] --out DIR\n");
    return 1;
  }
  try {
    if (formats::has_manifest(model_path)) formats::verify_artifact(model_path);
    auto model = model::load_model(model_path);
    if (!activation_quant) model->drop_activation_quantization();
    auto tok = calibration::tokenizer_for(*model, model_path);
    auto tokens = calibration::load_text_tokens(text, *tok, 1 << 20, "--text");
    n = std::min<int64_t>({n, tokens.size(0), model->max_positions()});
    model::Batch batch{tokens.narrow(0, 0, n).unsqueeze(0).to(torch::kInt64), {}, {}};
    torch::NoGradGuard no_grad;
    auto logits = model->forward(batch).squeeze(0).to(torch::kFloat32).contiguous();
    std::filesystem::create_directories(out);
    std::ofstream ids(std::filesystem::path(out) / "tokens.txt");
    for (int64_t i = 0; i < n; ++i) ids << (i ? "," : "") << batch.input_ids[0][i].item<int64_t>();
    std::ofstream bin(std::filesystem::path(out) / "logits.f32", std::ios::binary);
    bin.write(static_cast<const char*>(logits.data_ptr()), static_cast<std::streamsize>(logits.nbytes()));
    std::printf("%lld tokens, vocab %lld -> %s\n", static_cast<long long>(n), static_cast<long long>(logits.size(1)),
                out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dump_logits: %s\n", e.what());
    return 2;
  }
  return 0;
}
