#include "tests/cli/cli_fixture.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "calibration/dataset.h"
#include "compressor/runtime/kernels/blas_core.h"
#include "compressor/tokenizers/tokenizer.h"
#include "compressor/model/architecture.h"
#include "formats/hf_config.h"
#include "distill/lm_trainer.h"
#include "formats/safetensors.h"

#include <catch2/catch.hpp>
#include "tests/test_util.h"

namespace cli_test {

fs::path compressor_binary() { return test_util::binary_dir() / "compressor"; }

namespace {

// The binary restarts itself when OpenBLAS fell back to SSE kernels (compressor/cli/main.cpp);
// the hundreds of runs here are spared that (~0.45 s each) by starting them with the variable it
// would set. process_start_test.cpp removes it to test the restart itself.
const bool kBlasCoreForChildren = [] {
  const std::string core = compressor::runtime::better_blas_core();
  if (!core.empty()) ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  return true;
}();

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args) { return run_binary(compressor_binary(), args); }

CliResult run_binary(const fs::path& binary, const std::vector<std::string>& args) {
  static std::atomic<int> counter{0};
  const fs::path scratch = test_util::binary_dir() / "test-tmp";
  fs::create_directories(scratch);
  const fs::path err_file =
      scratch / ("cli-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".txt");

  std::string cmd = shell_quote(binary.string());
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " </dev/null 2>" + shell_quote(err_file.string());

  CliResult r;
  std::fflush(nullptr);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("test fixture: popen failed for " + cmd);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status == -1) {
    r.code = -1;
  } else if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.code = 128 + WTERMSIG(status);
  }
  std::error_code ec;
  if (fs::exists(err_file, ec)) {
    r.err = read_bytes(err_file);
    fs::remove(err_file, ec);
  }
  return r;
}

namespace {

// Writes config.json, builds the architecture's random model from it, optionally trains it on
// `text`, and writes model.safetensors.
fs::path write_tiny_model(const fs::path& dir, const nlohmann::json& config, int64_t seq_len, uint64_t seed,
                          int64_t train_steps, const fs::path& text, const std::string& nan_tensor) {
  fs::create_directories(dir);
  const std::string config_text = config.dump(2) + "\n";
  write_bytes(dir / "config.json", config_text);
  const auto hf = compressor::model::parse_hf_config(config_text, dir / "config.json");
  auto model = compressor::model::architectures().at(hf.model_type).init(hf, seed);

  if (train_steps > 0) {
    compressor::tokenizers::ByteTokenizer tok;
    auto tokens = compressor::calibration::load_text_tokens(text, tok, 0, "fixture text");
    compressor::distill::LmTrainOptions o;
    o.steps = train_steps;
    o.batch = 8;
    o.seq_len = seq_len;
    o.lr = 1e-2;
    o.warmup_steps = std::min<int64_t>(10, train_steps);
    o.seed = seed;
    o.eval_every = 0;
    compressor::distill::train_lm(*model, tokens, tokens, o, [](const compressor::distill::LmTrainStep&) {});
  }

  auto tensors = model->checkpoint_tensors();
  if (!nan_tensor.empty()) {
    bool found = false;
    for (auto& [name, t] : tensors) {
      if (name != nan_tensor) continue;
      t = t.clone().contiguous();
      t.view({-1})[0] = std::numeric_limits<float>::quiet_NaN();
      found = true;
    }
    if (!found) throw std::runtime_error("test fixture: no tensor " + nan_tensor);
  }
  compressor::formats::write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

}  // namespace

fs::path make_tiny_gpt2(const fs::path& dir, const TinyShape& shape, uint64_t seed, int64_t train_steps,
                        const fs::path& text, const std::string& nan_tensor) {
  const nlohmann::json config = {
      {"model_type", "gpt2"},          {"architectures", {"GPT2LMHeadModel"}},
      {"vocab_size", shape.vocab_size}, {"n_positions", shape.n_positions},
      {"n_ctx", shape.n_positions},    {"n_embd", shape.n_embd},
      {"n_layer", shape.n_layer},      {"n_head", shape.n_head},
      {"n_inner", shape.n_inner},      {"activation_function", "gelu_new"},
      {"layer_norm_epsilon", 1e-5},    {"tie_word_embeddings", true},
  };
  return write_tiny_model(dir, config, shape.n_positions, seed, train_steps, text, nan_tensor);
}

fs::path make_tiny_llama(const fs::path& dir, uint64_t seed, int64_t train_steps, const fs::path& text) {
  const nlohmann::json config = {
      {"model_type", "llama"},          {"architectures", {"LlamaForCausalLM"}},
      {"vocab_size", 256},              {"hidden_size", 64},
      {"intermediate_size", 128},       {"num_hidden_layers", 2},
      {"num_attention_heads", 4},       {"num_key_value_heads", 2},
      {"hidden_act", "silu"},           {"max_position_embeddings", 64},
      {"rms_norm_eps", 1e-6},           {"rope_theta", 10000.0},
      {"tie_word_embeddings", false},   {"bos_token_id", 1},
      {"eos_token_id", 2},
  };
  return write_tiny_model(dir, config, 64, seed, train_steps, text, {});
}

fs::path make_text(const fs::path& path, std::size_t bytes) {
  std::string all = read_bytes(test_util::source_dir() / "models/kjv-gpt2/data/test.txt");
  std::string head = all.substr(0, std::min(bytes, all.size()));
  const auto nl = head.rfind('\n');
  if (nl != std::string::npos) head.resize(nl + 1);
  write_bytes(path, head);
  return path;
}

std::string recipe_yaml(const RecipeSpec& s) {
  std::ostringstream y;
  y << "version: 1\n"
    << "name: cli-test\n"
    << "seed: 0\n";
  if (s.model.empty()) {
    y << "model:\n  architecture: auto\n";  // the block is there, its required `path` is not
  } else {
    y << "model:\n  path: " << s.model.string() << "\n";
  }
  y << "stages:\n"
    << "  - name: prune\n"
    << "    passes:\n"
    << "      - " << s.pass << "\n"
    << "evaluate:\n"
    << "  datasets:\n"
    << "    - name: " << kDataset << "\n"
    << "      path: " << s.text.string() << "\n"
    << "      seq_len: " << kSeqLen << "\n"
    << "      stride: " << kStride << "\n"
    << "      max_bytes: " << kMaxBytes << "\n"
    << "  metrics: [perplexity, bits_per_byte]\n";
  if (!s.validate.empty()) y << "validate:\n  max_drop: " << s.validate << "\n";
  if (!s.output.empty()) y << "output:\n  path: " << s.output.string() << "\n  dtype: f32\n";
  if (!s.output.empty() && !s.sparse_format.empty()) y << "  sparse_format: " << s.sparse_format << "\n";
  y << s.extra;
  return y.str();
}

RecipeSpec Workspace::spec() const {
  RecipeSpec s;
  s.model = model;
  s.text = text;
  s.output = out;
  return s;
}

fs::path Workspace::write_recipe(const RecipeSpec& s, const std::string& name) const {
  const fs::path p = dir / name;
  write_bytes(p, recipe_yaml(s));
  return p;
}

Workspace make_workspace(const std::string& tag, const TinyShape& shape, int64_t train_steps) {
  Workspace w;
  w.dir = test_util::temp_dir("cli-" + tag);
  w.text = make_text(w.dir / "text.txt");
  w.model = make_tiny_gpt2(w.dir / "model", shape, 0, train_steps, w.text);
  w.out = w.dir / "out";
  return w;
}

std::vector<fs::path> files_under(const fs::path& p) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return {p};
  if (!fs::is_directory(p, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(p)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  return out;
}

namespace {
std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  std::string s;
  while (in >> s) w.push_back(s);
  return w;
}
}  // namespace

std::string table_value(const std::string& output, const std::string& metric, int column) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    auto w = words(line);
    if (w.size() == 4 && w[0] == metric) return w.at(static_cast<size_t>(column));
  }
  return {};
}

fs::path make_tiny_bert(const fs::path& dir) {
  fs::create_directories(dir);
  const auto golden = test_util::source_dir() / "tests/golden/tiny-bert";
  for (const char* f : {"config.json", "model.safetensors"}) {
    fs::copy_file(golden / f, dir / f, fs::copy_options::overwrite_existing);
  }
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  int n = 5;
  for (const char* w : {"in", "the", "beginning", "god", "created", "heaven", "and", "earth", "was", "without", "form",
                        "void", "light", "darkness", "said", "let", "there", "be", ",", "."}) {
    vocab += std::string(w) + "\n";
    ++n;
  }
  for (char c = 'a'; c <= 'z'; ++c, n += 2) vocab += std::string(1, c) + "\n##" + std::string(1, c) + "\n";
  while (n < 100) vocab += "[unused" + std::to_string(n++) + "]\n";
  write_bytes(dir / "vocab.txt", vocab);
  return dir;
}

std::string calibration_block(const Workspace& w) {
  return "calibration:\n  source: " + w.text.string() + "\n  samples: 8\n  seq_len: 32\n  sequential: true\n";
}

std::string inspect_sparsity(const std::string& output, const std::string& name) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    auto w = words(line);
    if (w.size() >= 3 && w[0] == name && w.back().size() > 1 && w.back().back() == '%') {
      return w.back().substr(0, w.back().size() - 1);
    }
  }
  return {};
}

compressor::formats::StoredTensor& find_tensor(std::vector<compressor::formats::StoredTensor>& ts, const std::string& name) {
  for (auto& t : ts) {
    if (t.name == name) return t;
  }
  FAIL("no tensor " << name);
  throw;
}

void copy_without_manifest(const fs::path& dir, const fs::path& to,
                           const std::function<void(std::vector<compressor::formats::StoredTensor>&)>& edit,
                           const std::function<void(nlohmann::json&)>& edit_config) {
  auto st = compressor::formats::SafetensorsFile::open(dir / "model.safetensors");
  std::vector<compressor::formats::StoredTensor> tensors;
  for (const auto& info : st->tensors()) tensors.push_back({info.name, st->tensor(info.name).clone(), info.dtype});
  edit(tensors);
  fs::create_directories(to);
  compressor::formats::write_safetensors_typed(to / "model.safetensors", tensors, {{"format", "pt"}});
  auto config = nlohmann::json::parse(read_bytes(dir / "config.json"));
  if (edit_config) edit_config(config);
  write_bytes(to / "config.json", config.dump(2));
}

std::string eval_perplexity(const fs::path& artifact, const fs::path& text, const std::string& engine) {
  const auto r = run_cli({"eval", artifact.string(), "--text", text.string(), "--seq-len", std::to_string(kSeqLen),
                          "--stride", std::to_string(kStride), "--max-bytes", std::to_string(kMaxBytes), "--engine", engine});
  INFO(r.all());
  REQUIRE(r.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("perplexity ([0-9.]+)")));
  return m[1];
}

}  // namespace cli_test
