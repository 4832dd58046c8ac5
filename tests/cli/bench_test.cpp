// `compressor bench` through the real binary. What it times cannot be checked against a golden
// value, so the tests check what can be counted: the parameters and the bytes a decoded token reads
// against their closed forms for the tiny GPT-2 (float32 and int4), the op timers' call counts per
// token, the op times inside the runs' times, and the bad-input cases (exit 2, --json untouched).
#include <catch2/catch.hpp>

#include <algorithm>

#include "compressor/runtime/kernels/memory_bandwidth.h"
#include "tests/cli/cli_fixture.h"

using namespace cli_test;

namespace {

nlohmann::json bench_json(const fs::path& model, const fs::path& json, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"bench", model.string(), "--prompt-tokens", "8", "--decode-tokens", "4", "--runs", "2",
                                   "--no-bandwidth", "--json", json.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_cli(args);
  INFO(r.all());
  REQUIRE(r.code == 0);
  CHECK(r.out.find("prefill tok/s") != std::string::npos);
  return nlohmann::json::parse(read_bytes(json));
}

double op(const nlohmann::json& j, const std::string& phase, const std::string& name, const char* field) {
  return j["ops"][phase][name][field].get<double>();
}

}  // namespace

TEST_CASE("bench: parameters, bytes per decoded token and op counts of a tiny GPT-2, float32 and int4", "[cli][bench]") {
  auto w = make_workspace("bench");
  const TinyShape s;  // the workspace's model
  const int64_t V = 256, D = s.n_embd, P = s.n_positions, I = s.n_inner, L = s.n_layer;
  const int64_t linear_elements = L * (3 * D * D + D * D + D * I + I * D);
  const int64_t params = V * D + P * D + 2 * D +
                         L * (4 * D + linear_elements / L + 3 * D + D + I + D);  // + norms, weights, biases
  const auto f32 = bench_json(w.model, w.dir / "f32.json");
  CHECK(f32["parameters"] == params);
  CHECK(f32["float32_bytes"] == 4 * params);
  CHECK(f32["weights_file_bytes"] == static_cast<int64_t>(fs::file_size(w.model / "model.safetensors")));
  // Everything but the learned positions, the tied head reading the whole embedding, one embedding row.
  CHECK(f32["weight_bytes_per_token"] == 4 * (params - P * D + D));
  CHECK(f32["prompt_tokens"] == 8);
  CHECK(f32["decode_tokens"] == 4);
  REQUIRE(f32["runs"].size() == 2);
  CHECK(f32["runtime"]["prefill_tokens_per_second"].get<double>() > 0);
  CHECK(f32["runtime"]["decode_tokens_per_second"].get<double>() > 0);
  CHECK(f32["torch"]["prefill_tokens_per_second"].get<double>() > 0);
  CHECK(f32["torch"]["single_token_forward_per_second"].get<double>() > 0);
  CHECK(f32["peak_rss_mib"].get<double>() >= f32["runtime"]["peak_rss_mib"].get<double>());
  CHECK(!f32.contains("dram_read_gb_per_second"));

  // Each of the 2 runs × 4 decoded tokens: one embedding, 2 norms per layer and the final one, one
  // fused q/k/v, attention, MLP up and down per layer, one head.
  const double tokens = 2 * 4;
  CHECK(op(f32, "decode", "embedding", "calls") == tokens);
  CHECK(op(f32, "decode", "norm", "calls") == tokens * (2 * L + 1));
  CHECK(op(f32, "decode", "q/k/v projections", "calls") == tokens * L);
  CHECK(op(f32, "decode", "attention", "calls") == tokens * L);
  CHECK(op(f32, "decode", "mlp down projection", "calls") == tokens * L);
  CHECK(op(f32, "decode", "vocabulary head", "calls") == tokens);
  CHECK(op(f32, "decode", "rotary", "calls") == 0);  // GPT-2 has none
  CHECK(op(f32, "prefill", "vocabulary head", "calls") == 2);  // the last prompt row, once per run
  double op_seconds = 0, run_seconds = 0;
  for (const auto& [name, v] : f32["ops"]["decode"].items()) op_seconds += v["seconds"].get<double>();
  for (const auto& r : f32["runs"]) run_seconds += r["decode_seconds"].get<double>();
  CHECK(op_seconds > 0);
  CHECK(op_seconds <= run_seconds);  // the ops run inside the timed decode

  // int4 in groups of 16, f32 scales: each quantized linear element costs half a byte plus a
  // quarter byte of scale instead of 4 bytes; the embedding (and so the head) stays float32.
  auto spec = w.spec();
  spec.pass = "quantization: {config_groups: {g: {targets: [Linear], weights: {num_bits: 4, type: int, symmetric: true, "
              "strategy: group, group_size: 16}}}}";
  spec.output = w.dir / "int4";
  const auto run = run_cli({"run", w.write_recipe(spec, "int4.yaml").string()});
  INFO(run.all());
  REQUIRE(run.code == 0);
  const auto int4 = bench_json(spec.output, w.dir / "int4.json", {"--no-torch"});
  CHECK(int4["parameters"] == params);
  CHECK(int4["weight_bytes_per_token"] == 4 * (params - P * D + D) - 4 * linear_elements + linear_elements / 2 + linear_elements / 4);
  CHECK(int4["weights_file_bytes"].get<int64_t>() < f32["weights_file_bytes"].get<int64_t>());
  CHECK(int4["linear_encodings"].get<std::string>().find("int4") != std::string::npos);
  CHECK(!int4.contains("torch"));
}

TEST_CASE("bench: a tiny Llama with its prompt from a text, rotary and gate timed", "[cli][bench]") {
  auto w = make_workspace("bench-llama");
  const auto llama = make_tiny_llama(w.dir / "llama");
  const auto j = bench_json(llama, w.dir / "llama.json", {"--text", w.text.string(), "--threads", "1"});
  CHECK(j["threads"] == 1);
  CHECK(j["prompt"] == w.text.string());
  CHECK(op(j, "decode", "rotary", "calls") == 2 * 4 * 2);  // 2 runs × 4 tokens × 2 layers
  CHECK(op(j, "decode", "mlp up (and gate) projections", "calls") == 2 * 4 * 2);
}

TEST_CASE("bench: a batch runs every sequence through one op call per step and skips LibTorch", "[cli][bench]") {
  auto w = make_workspace("bench-batch");
  const auto j = bench_json(w.model, w.dir / "batch.json", {"--batch", "3"});
  CHECK(j["batch"] == 3);
  CHECK_FALSE(j.contains("torch"));
  // Calls per step do not grow with the batch: 2 runs × 4 steps × 2 layers, as at batch 1.
  CHECK(op(j, "decode", "mlp up (and gate) projections", "calls") == 2 * 4 * 2);
  // Attention runs once per sequence: 2 runs × 4 steps × 2 layers × 3 sequences.
  CHECK(op(j, "decode", "attention", "calls") == 2 * 4 * 2 * 3);
  // tok/s counts the three sequences: 3 × 4 tokens over the median decode time.
  std::vector<double> decode;
  for (const auto& r : j["runs"]) decode.push_back(r["decode_seconds"].get<double>());
  std::sort(decode.begin(), decode.end());
  CHECK(j["runtime"]["decode_tokens_per_second"].get<double>() == Approx(12 / (0.5 * (decode[0] + decode[1]))));
}

TEST_CASE("bench: bad flags and models exit 2 naming the flag, and leave --json as it was", "[cli][bench]") {
  auto w = make_workspace("bench-bad");
  const fs::path json = w.dir / "keep.json";
  write_bytes(json, "keep");
  const auto m = w.model.string();
  const auto tiny_text = w.dir / "short.txt";
  write_bytes(tiny_text, "In the");
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {{m, "--decode-tokens", "0"}, {"--decode-tokens", "must be >= 1"}},
      {{m, "--prompt-tokens", "0"}, {"--prompt-tokens", "must be >= 1"}},
      {{m, "--runs", "0"}, {"--runs", "must be >= 1"}},
      {{m, "--batch", "0"}, {"--batch", "must be >= 1"}},
      {{m, "--threads", "-1"}, {"--threads"}},
      {{m, "--prompt-tokens", "60", "--decode-tokens", "10"}, {"--prompt-tokens", "context of 64"}},
      {{m, "--text", tiny_text.string()}, {"--text", "short.txt", "--prompt-tokens asks for 128"}},
      {{(w.dir / "missing").string()}, {"missing"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"bench"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"--no-bandwidth", "--no-torch", "--json", json.string()});
    const auto r = run_cli(args);
    INFO(r.all());
    CHECK(r.code == 2);
    for (const auto& e : c.expect) CHECK(r.err.find(e) != std::string::npos);
    CHECK(read_bytes(json) == "keep");
  }
  // A --json under a regular file is refused before anything runs; a missing directory is made.
  const auto r = run_cli({"bench", m, "--no-torch", "--no-bandwidth", "--json", (json / "out.json").string()});
  CHECK(r.code == 2);
  CHECK(r.err.find("--json") != std::string::npos);
  const fs::path nested = w.dir / "new-dir" / "out.json";
  const auto made = run_cli({"bench", m, "--prompt-tokens", "4", "--decode-tokens", "2", "--runs", "1", "--no-torch",
                             "--no-bandwidth", "--json", nested.string()});
  INFO(made.all());
  CHECK(made.code == 0);
  CHECK(nlohmann::json::parse(read_bytes(nested))["decode_tokens"] == 2);
}

TEST_CASE("bench: the DRAM probe reads a buffer and reports a positive rate", "[cli][bench]") {
  const double gbs = compressor::runtime::dram_read_gbs(1, int64_t{8} << 20, 2);
  CHECK(gbs > 0.1);
  CHECK(gbs < 10000);
}
