// Helpers for the CLI end-to-end tests: run the built `compressor` binary, build a tiny byte-level
// GPT-2 checkpoint, a small text file and a recipe in a fresh temporary directory.
#pragma once

#include <cstdint>
#include <functional>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "tests/test_util.h"

namespace cli_test {

namespace fs = std::filesystem;

// The `compressor` executable of this build tree.
fs::path compressor_binary();

struct CliResult {
  int code = -1;    // exit status (or 128 + signal)
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const { return out + err; }
};

// Runs `compressor args...` (every argument shell-quoted), stdin from /dev/null.
CliResult run_cli(const std::vector<std::string>& args);
// The same for another executable of this build tree (e.g. train_lm).
CliResult run_binary(const fs::path& binary, const std::vector<std::string>& args);

// Whole-file helpers (shared with the other test areas).
using test_util::read_bytes;
using test_util::write_bytes;

struct TinyShape {
  int64_t n_embd = 32;
  int64_t n_head = 2;
  int64_t n_inner = 64;
  int64_t n_layer = 2;
  int64_t n_positions = 64;
  int64_t vocab_size = 256;  // byte-level at 256; another size has no tokenizer
};

// A random-initialised byte-level GPT-2 (vocab 256) written as `dir`/config.json +
// `dir`/model.safetensors. `train_steps` > 0 first trains it for that many small steps on `text`
// (so that pruning measurably hurts it). `nan_tensor`, when not empty, names a checkpoint tensor
// whose first element is set to NaN before writing. Returns `dir`.
fs::path make_tiny_gpt2(const fs::path& dir, const TinyShape& shape = {}, uint64_t seed = 0,
                        int64_t train_steps = 0, const fs::path& text = {},
                        const std::string& nan_tensor = {});

// A byte-level Llama (vocab 256, hidden 64, MLP 128, 4 query heads sharing 2 key/value heads, 2 layers,
// untied head) written as `dir`/config.json + model.safetensors, trained as make_tiny_gpt2 trains.
fs::path make_tiny_llama(const fs::path& dir, uint64_t seed = 0, int64_t train_steps = 0, const fs::path& text = {});

// tests/golden/tiny-bert (hidden 32, vocabulary of 100) copied to `dir` with a vocab.txt of 100
// WordPiece entries: [PAD] [UNK] [CLS] [SEP] [MASK], twenty KJV words, "," ".", and a..z with their
// ##-continuations. Returns `dir`.
fs::path make_tiny_bert(const fs::path& dir);

// The first `bytes` bytes of models/kjv-gpt2/data/test.txt, cut back to a line end, as `path`.
fs::path make_text(const fs::path& path, std::size_t bytes = 4096);

// Evaluation settings every test recipe uses (and `eval` must use to reproduce its numbers).
inline constexpr int kSeqLen = 64;
inline constexpr int kStride = 32;
inline constexpr int kMaxBytes = 2048;
inline constexpr const char* kDataset = "tiny";

struct RecipeSpec {
  fs::path model;          // model.path (empty: a model block without its path key)
  fs::path text;           // the evaluate dataset
  std::string pass = "magnitude: {sparsity: 0.5}";  // the one pass of stage 'prune' (YAML flow)
  std::string validate;    // YAML flow map for validate.max_drop, e.g. "{perplexity: 25%}"; empty: no gate
  fs::path output;         // output.path (empty: no output block)
  std::string sparse_format;  // output.sparse_format (empty: not written)
  std::string extra;       // more top-level YAML appended verbatim (e.g. a calibration block)
};

std::string recipe_yaml(const RecipeSpec& spec);

// A temp directory holding model/ (tiny GPT-2), text.txt and, on request, recipe.yaml.
struct Workspace {
  fs::path dir, model, text, out;
  RecipeSpec spec() const;  // model, text and output = out, everything else default
  fs::path write_recipe(const RecipeSpec& spec, const std::string& name = "recipe.yaml") const;
};

Workspace make_workspace(const std::string& tag, const TinyShape& shape = {}, int64_t train_steps = 0);

// A calibration block on the workspace's text: 8 samples of 32 tokens, sequential.
std::string calibration_block(const Workspace& w);

// `compressor eval ARTIFACT --text TEXT` with the test evaluation settings on `engine` (torch |
// runtime): the perplexity it prints, as printed. A failed eval fails the test.
std::string eval_perplexity(const fs::path& artifact, const fs::path& text, const std::string& engine);
// Every regular file under `p` (recursively), or `p` itself when it is a file; empty if absent.
std::vector<fs::path> files_under(const fs::path& p);

// The number in the table row of `compressor run` for `metric` ("tiny/perplexity"), column 1
// (baseline) or 2 (compressed), as printed. Empty if the row is not there.
std::string table_value(const std::string& output, const std::string& metric, int column);

// The sparsity column ("50.00") of `compressor inspect` for tensor `name`; empty if absent.
std::string inspect_sparsity(const std::string& output, const std::string& name);

// Every tensor of `dir`'s model.safetensors copied into a plain compressed-tensors checkpoint
// (no manifest) at `to`, with `edit` applied to the tensor list and `edit_config` to config.json.
void copy_without_manifest(const fs::path& dir, const fs::path& to,
                           const std::function<void(std::vector<compressor::formats::StoredTensor>&)>& edit,
                           const std::function<void(nlohmann::json&)>& edit_config = {});

// The tensor `name` of a list copy_without_manifest hands to its edit (a test failure if absent).
compressor::formats::StoredTensor& find_tensor(std::vector<compressor::formats::StoredTensor>& ts, const std::string& name);

}  // namespace cli_test
