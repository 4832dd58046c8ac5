#include "compressor/cli/embed.h"

#include <chrono>
#include <cstdio>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibration/tokenizer_for.h"
#include "compressor/base/atomic_file.h"
#include "compressor/base/error.h"
#include "compressor/cli/output_file.h"
#include "compressor/runtime/encoder.h"

namespace compressor::cli {

int embed_text(const EmbedArgs& args) {
  using Clock = std::chrono::steady_clock;
  if (!args.out.empty()) check_output_file(args.out, "--out");
  if (args.batch < 1) throw BadInput("--batch", "must be >= 1, got " + std::to_string(args.batch));
  const std::string text = base::read_text_file(args.text, "--text");
  const std::filesystem::path dir = args.model;
  const auto model = runtime::Encoder::load(dir);
  const auto tok = calibration::tokenizer_for(model->config().vocab_size, dir);

  std::vector<std::vector<int32_t>> sentences;
  std::vector<int64_t> lines;
  std::istringstream in(text);
  int64_t line_no = 0, tokens = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto ids = tok->encode(line);
    const auto n = static_cast<int64_t>(ids.size());
    if (n > model->config().max_positions) {
      throw BadInput(args.text + ":" + std::to_string(line_no),
                     std::to_string(n) + " tokens pass the model's max_position_embeddings (" +
                         std::to_string(model->config().max_positions) + ")");
    }
    if (n == 0) throw BadInput(args.text + ":" + std::to_string(line_no), "the tokenizer gives no token for this line");
    sentences.emplace_back(ids.begin(), ids.end());
    lines.push_back(line_no);
    tokens += n;
  }
  if (sentences.empty()) throw BadInput(args.text, "--text: the file has no sentence (one a line)");

  const auto start = Clock::now();
  std::string out;
  for (size_t first = 0; first < sentences.size(); first += static_cast<size_t>(args.batch)) {
    const size_t end = std::min(sentences.size(), first + static_cast<size_t>(args.batch));
    const std::vector<std::vector<int32_t>> batch(sentences.begin() + static_cast<std::ptrdiff_t>(first),
                                                  sentences.begin() + static_cast<std::ptrdiff_t>(end));
    const runtime::Matrix e = model->sentence_embeddings(batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      const float* row = e.row(static_cast<int64_t>(i));
      const nlohmann::ordered_json j = {{"line", lines[first + i]}, {"embedding", std::vector<float>(row, row + e.cols)}};
      out += j.dump() + "\n";
    }
    if (args.out.empty()) {  // stdout streams batch by batch; a file is written whole at the end (atomically)
      std::fputs(out.c_str(), stdout);
      out.clear();
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!args.out.empty()) write_output_file(args.out, out);
  std::fprintf(stderr, "%zu sentences (%lld tokens) embedded in %.3f s (%.1f sentences/s, batches of up to %lld)%s%s\n",
               sentences.size(), static_cast<long long>(tokens), seconds, static_cast<double>(sentences.size()) / seconds,
               static_cast<long long>(args.batch), args.out.empty() ? "" : " -> ", args.out.c_str());
  return 0;
}

}  // namespace compressor::cli
