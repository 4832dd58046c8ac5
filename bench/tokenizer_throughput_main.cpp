// Tokenizer throughput: MB/s of encode (and decode) for the WordPiece (all-MiniLM-L6-v2) and the
// byte-level BPE (tests/golden/tokenizer/bpe.tokenizer.json) tokenizers, one thread, on a text file;
// also the same BPE behind the Llama-3, Qwen2 (with NFC) and o200k Split regexes (bpe_*.tokenizer.json).
// Two modes: the whole file as one string, and line by line. Compare with
//   /tmp/tok-venv/bin/python bench/tokenizer_throughput_reference.py   (Hugging Face `tokenizers`)
// Run from the repository root (or pass --root REPO):
//   build/bench/bench_tokenizer_throughput [--root .] [--text models/kjv-gpt2/data/test.txt] [--json OUT]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compressor/tokenizers/tokenizer_json.h"

using namespace compressor::tokenizers;

namespace {

// Best of `reps` timings of f(), each repeated until it has run ~0.3 s; returns seconds per call.
template <class F>
double time_best(F&& f, int reps = 3) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    int n = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double el = 0;
    do {
      f();
      ++n;
      el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (el < 0.3);
    best = std::min(best, el / n);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = ".", text_path, json_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--text")) text_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--root")) root = argv[i + 1];
    else if (!std::strcmp(argv[i], "--json")) json_out = argv[i + 1];
  }
  if (text_path.empty()) text_path = root + "/models/kjv-gpt2/data/test.txt";
  std::ifstream in(text_path, std::ios::binary);
  const std::string text(std::istreambuf_iterator<char>(in), {});
  if (text.empty()) {
    std::fprintf(stderr, "empty or missing %s\n", text_path.c_str());
    return 2;
  }
  std::vector<std::string> lines;
  for (size_t s = 0; s < text.size();) {
    size_t e = text.find('\n', s);
    if (e == std::string::npos) e = text.size();
    lines.push_back(text.substr(s, e - s));
    s = e + 1;
  }
  const std::string dir = root + "/tests/golden/tokenizer/";
  struct Item {
    const char* name;
    std::unique_ptr<Tokenizer> tok;
  };
  std::vector<Item> items;
  items.push_back({"wordpiece", load_tokenizer_json(dir + "wordpiece.tokenizer.json")});
  items.push_back({"bpe", load_tokenizer_json(dir + "bpe.tokenizer.json")});
  items.push_back({"bpe_llama3", load_tokenizer_json(dir + "bpe_llama3.tokenizer.json")});
  items.push_back({"bpe_qwen2", load_tokenizer_json(dir + "bpe_qwen2.tokenizer.json")});
  items.push_back({"bpe_o200k", load_tokenizer_json(dir + "bpe_o200k.tokenizer.json")});

  const double mb = static_cast<double>(text.size()) / 1e6;
  nlohmann::json rows = nlohmann::json::array();
  std::printf("text: %s (%zu bytes, %zu lines), 1 thread\n", text_path.c_str(), text.size(), lines.size());
  std::printf("%-11s %10s %14s %14s %14s\n", "tokenizer", "tokens", "whole MB/s", "lines MB/s", "decode MB/s");
  for (auto& it : items) {
    std::vector<int64_t> ids;
    const double t_whole = time_best([&] { ids = it.tok->encode(text); });
    size_t n = 0;
    const double t_lines = time_best([&] {
      n = 0;
      for (const auto& l : lines) n += it.tok->encode(l).size();
    });
    std::string back;
    const double t_dec = time_best([&] { back = it.tok->decode(ids); });
    std::printf("%-11s %10zu %14.2f %14.2f %14.2f\n", it.name, ids.size(), mb / t_whole, mb / t_lines, mb / t_dec);
    rows.push_back({{"tokenizer", it.name}, {"tokens", ids.size()}, {"encode_whole_MBps", mb / t_whole},
                    {"encode_lines_MBps", mb / t_lines}, {"decode_MBps", mb / t_dec}});
  }
  if (!json_out.empty())
    std::ofstream(json_out) << nlohmann::json{{"text", text_path}, {"bytes", text.size()}, {"rows", rows}}.dump(2) << "\n";
  return 0;
}
