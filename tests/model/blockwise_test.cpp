// The block-wise model interface: chunked attention against a float64 definition, padded batches
// against the same rows alone, head(rows) against the full head, block views and input groups.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <tuple>

#include "compressor/model/architecture.h"
#include "compressor/model/ops.h"
#include "tests/model/golden_util.h"

using namespace compressor;

namespace {

// Attention written from its definition in float64, with K/V heads repeated as HF's repeat_kv.
torch::Tensor reference_attention(torch::Tensor q, torch::Tensor k, torch::Tensor v, bool causal,
                                  const torch::Tensor& key_mask, double scale) {
  q = q.to(torch::kFloat64);
  const int64_t rep = q.size(1) / k.size(1), T = q.size(2), S = k.size(2);
  k = k.to(torch::kFloat64).repeat_interleave(rep, 1);
  v = v.to(torch::kFloat64).repeat_interleave(rep, 1);
  auto s = torch::matmul(q, k.transpose(-2, -1)) * scale;  // [B, H, T, S]
  auto allowed = torch::ones({q.size(0), 1, T, S}, torch::kBool);
  if (causal) allowed = allowed.logical_and(torch::ones({T, S}, torch::kBool).tril());
  if (key_mask.defined()) allowed = allowed.logical_and(key_mask.view({q.size(0), 1, 1, S}));
  s = s.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(s, -1), v);
}

std::unique_ptr<model::Model> load(const std::string& name) {
  return model::load_model(golden_util::Golden(name).dir());
}

}  // namespace

TEST_CASE("ops: chunked attention equals its float64 definition", "[model][ops]") {
  torch::manual_seed(3);
  const int64_t B = 2, H = 4, KV = 2, T = 13, hd = 8;
  auto q = torch::randn({B, H, T, hd}), k = torch::randn({B, KV, T, hd}), v = torch::randn({B, KV, T, hd});
  auto mask = torch::ones({B, T}, torch::kBool);
  mask[1].slice(0, 9).fill_(false);  // the second row is right-padded after 9 tokens
  for (bool causal : {false, true}) {
    for (bool padded : {false, true}) {
      model::BlockInputs in;
      in.causal = causal;
      if (padded) in.key_mask = mask;
      const auto want = reference_attention(q, k, v, causal, in.key_mask, 0.35);
      // Budgets from one query row per chunk up to the whole matrix at once.
      for (int64_t budget : {int64_t{1}, B * H * T * 4 * 3, int64_t{1} << 30}) {
        INFO("causal " << causal << " padded " << padded << " budget " << budget);
        auto got = model::ops::attention(q, k, v, in, 0.35, budget).to(torch::kFloat64);
        // Padded query rows are never used; compare the real ones.
        auto real = padded ? mask.view({B, 1, T, 1}).expand_as(got) : torch::ones_like(got, torch::kBool);
        CHECK((got - want).abs().masked_select(real).max().item<double>() < 2e-6);
        CHECK(torch::isfinite(got).all().item<bool>());
      }
    }
  }
}

TEST_CASE("ops: without autograd the fused attention equals its float64 definition, causal or not, with grouped heads and odd widths",
          "[model][ops]") {
  torch::manual_seed(4);
  // (B, H, KV, T, hd): grouped heads, lengths that are not multiples of the kernel's 4 rows or 32-row
  // blocks, and head widths that take its 64-, 32-, 16-wide and scalar value paths.
  for (const auto& [B, H, KV, T, hd] : {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>{2, 6, 2, 37, 16},
                                         {1, 4, 4, 70, 64}, {2, 3, 1, 5, 24}, {1, 2, 1, 1, 8}, {1, 9, 3, 67, 96},
                                         {1, 16, 4, 512, 32}}) {  // the last on every core (ops.cpp)
    CAPTURE(B, H, KV, T, hd);
    auto q = torch::randn({B, H, T, hd}), k = torch::randn({B, KV, T, hd}), v = torch::randn({B, KV, T, hd});
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    for (bool causal : {false, true}) {
      CAPTURE(causal);
      model::BlockInputs in;
      in.causal = causal;
      const auto want = reference_attention(q, k, v, causal, {}, scale);
      torch::NoGradGuard no_grad;
      const auto got = model::ops::attention(q, k, v, in, scale).to(torch::kFloat64);
      REQUIRE(got.sizes() == want.sizes());
      CHECK((got - want).abs().max().item<double>() < 1e-5);
    }
  }
}

TEST_CASE("ops: without autograd rotary rotates in place and RMSNorm runs fused, equal to the LibTorch expressions",
          "[model][ops]") {
  torch::manual_seed(5);
  const int64_t B = 2, T = 11, H = 3, hd = 10;
  const auto [cos, sin] = model::ops::rope_tables(T, hd, 10000.0, torch::kFloat32);
  // A linear's output [B, T, H·hd] seen as heads [B, H, T, hd]: strided, as the Llama block passes it.
  const auto linear_out = torch::randn({B, T, H * hd});
  const auto want = model::ops::apply_rope(linear_out.clone().view({B, T, H, hd}).transpose(1, 2), cos, sin);
  auto fresh = linear_out.clone();
  torch::NoGradGuard no_grad;
  const auto got = model::ops::apply_rope(fresh.view({B, T, H, hd}).transpose(1, 2), cos, sin);
  CHECK(got.data_ptr() == fresh.data_ptr());  // rotated where it was
  CHECK((got - want).abs().max().item<double>() < 1e-6);

  const auto x = torch::randn({B, T, 37}) * 3, w = torch::randn({37});
  torch::Tensor norm_want;
  {
    torch::AutoGradMode with_grad(true);
    norm_want = model::ops::rms_norm(x, w, 1e-5);
  }
  const auto norm_got = model::ops::rms_norm(x, w, 1e-5);
  CHECK((norm_got - norm_want).abs().max().item<double>() < 1e-5 * norm_want.abs().max().item<double>());
}

TEST_CASE("ops: attention chunk size keeps the scores under the budget", "[model][ops]") {
  // SmolLM2 calibration batch: 8 windows x 9 heads x 512 keys; 32 MiB of scores per chunk.
  const int64_t rows = 8 * 9, keys = 512;
  const int64_t c = model::ops::attention_chunk(rows, keys, 512);
  CHECK(c * rows * keys * 4 <= model::ops::kAttentionScoreBudget);
  CHECK(c == 227);
  CHECK(model::ops::attention_chunk(rows, keys, 16) == 16);
  CHECK(model::ops::attention_chunk(int64_t{1} << 40, keys, 16) == 1);
}

TEST_CASE("model: forward is embed, every block, then head", "[model][blockwise]") {
  for (const char* name : {"tiny-gpt2", "tiny-llama", "tiny-bert"}) {
    INFO(name);
    auto m = load(name);
    torch::NoGradGuard no_grad;
    const auto ids = golden_util::Golden(name).expected("input_ids");
    model::BlockInputs in;
    auto x = m->embed({ids, {}, {}}, &in);
    for (int i = 0; i < m->num_blocks(); ++i) x = m->run_block(i, x, in);
    CHECK(golden_util::max_abs_diff(m->head(x), m->forward(ids)) == 0);
  }
}

TEST_CASE("model: head(rows) computes exactly the rows asked", "[model][blockwise]") {
  for (const char* name : {"tiny-gpt2", "tiny-llama", "tiny-bert"}) {
    INFO(name);
    auto m = load(name);
    torch::NoGradGuard no_grad;
    const auto ids = golden_util::Golden(name).expected("input_ids");
    const auto hidden = m->hidden_states({ids, {}, {}}, nullptr);
    const auto full = m->head(hidden);
    const auto rows = torch::tensor({0, 5, 17, 31, 3}, torch::kLong);  // rows of the flattened [2·16]
    const auto some = m->head(hidden, rows);
    REQUIRE(some.size(0) == 5);
    CHECK(golden_util::max_abs_diff(some, full.reshape({-1, full.size(-1)}).index_select(0, rows)) < 1e-5);
  }
}

TEST_CASE("model: a right-padded batch gives each sequence what it gives alone", "[model][blockwise][padding]") {
  // Sequence 0 is 16 tokens, sequence 1 its first 10 tokens padded to 16 with arbitrary ids.
  for (const char* name : {"tiny-gpt2", "tiny-llama", "tiny-bert"}) {
    INFO(name);
    auto m = load(name);
    torch::NoGradGuard no_grad;
    const auto ids = golden_util::Golden(name).expected("input_ids");
    const int64_t T = ids.size(1), n = 10;
    auto padded = ids.clone();
    padded[1].slice(0, n).fill_(1);
    auto mask = torch::ones_like(ids);
    mask[1].slice(0, n).fill_(0);
    const auto batch = m->forward(model::Batch{padded, mask, {}});
    const auto alone0 = m->forward(ids.slice(0, 0, 1));
    const auto alone1 = m->forward(ids.slice(0, 1, 2).slice(1, 0, n));
    CHECK(golden_util::max_abs_diff(batch.slice(0, 0, 1), alone0) < 1e-5);
    CHECK(golden_util::max_abs_diff(batch.slice(0, 1, 2).slice(1, 0, n), alone1) < 1e-5);
    CHECK(T == 16);
  }
}

TEST_CASE("model: BERT sentence embeddings are the same alone and in a padded batch", "[model][bert][padding]") {
  auto m = load("tiny-bert");
  torch::NoGradGuard no_grad;
  const auto ids = golden_util::Golden("tiny-bert").expected("input_ids");
  // Three sentences of 16, 7 and 3 tokens in one batch padded with id 0.
  const std::vector<int64_t> lengths{16, 7, 3};
  auto batch_ids = torch::zeros({3, 16}, torch::kLong), mask = torch::zeros({3, 16}, torch::kLong);
  for (int64_t b = 0; b < 3; ++b) {
    batch_ids[b].slice(0, 0, lengths[b]).copy_(ids[b % 2].slice(0, 0, lengths[b]));
    mask[b].slice(0, 0, lengths[b]).fill_(1);
  }
  const auto hidden = m->forward(model::Batch{batch_ids, mask, {}});
  for (int64_t b = 0; b < 3; ++b) {
    auto alone = m->forward(batch_ids[b].slice(0, 0, lengths[b]).unsqueeze(0))[0].mean(0);
    auto in_batch = hidden[b].slice(0, 0, lengths[b]).mean(0);  // the masked mean of sentence-transformers
    CHECK(golden_util::max_abs_diff(alone, in_batch) < 1e-5);
  }
}

TEST_CASE("model: block views list each block's slots, norms and input groups", "[model][blockwise]") {
  SECTION("llama: ln1 feeds q, k, v; v feeds o; ln2 feeds gate, up; up feeds down") {
    auto m = load("tiny-llama");
    REQUIRE(m->num_blocks() == 2);
    auto b = m->block(1);
    CHECK(b.linears.size() == 7);
    REQUIRE(b.norms.size() == 2);
    CHECK(b.norms[0]->name == "model.layers.1.input_layernorm");
    REQUIRE(b.groups.size() == 4);
    auto names = [&](const model::InputGroup& g) {
      std::vector<std::string> out;
      for (size_t s : g.slots) out.push_back(m->slots()[s].name);
      return out;
    };
    CHECK(names(b.groups[0]) == std::vector<std::string>{"model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.k_proj",
                                                         "model.layers.1.self_attn.v_proj"});
    CHECK(m->norms()[*b.groups[0].norm].name == "model.layers.1.input_layernorm");
    CHECK(m->slots()[*b.groups[1].producer].name == "model.layers.1.self_attn.v_proj");
    CHECK(names(b.groups[2]) == std::vector<std::string>{"model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj"});
    CHECK(m->norms()[*b.groups[2].norm].name == "model.layers.1.post_attention_layernorm");
    CHECK(m->slots()[*b.groups[3].producer].name == "model.layers.1.mlp.up_proj");
  }
  SECTION("bert: q, k, v read the previous block's output LayerNorm") {
    auto m = load("tiny-bert");
    CHECK(m->norms()[*m->block(0).groups[0].norm].name == "bert.embeddings.LayerNorm");
    CHECK(m->norms()[*m->block(1).groups[0].norm].name == "bert.encoder.layer.0.output.LayerNorm");
  }
  SECTION("gpt2: c_attn reads ln_1, c_fc reads ln_2") {
    auto m = load("tiny-gpt2");
    auto b = m->block(0);
    CHECK(m->norms()[*b.groups[0].norm].name == "transformer.h.0.ln_1");
    CHECK(m->slots()[b.groups[2].slots[0]].name == "transformer.h.0.mlp.c_fc");
  }
}

TEST_CASE("model: norm slots share storage with the module and set_weight bumps the generation",
          "[model][blockwise]") {
  auto m = load("tiny-llama");
  torch::NoGradGuard no_grad;
  const auto ids = golden_util::Golden("tiny-llama").expected("input_ids");
  const auto before = m->forward(ids);
  auto& slot = *m->block(0).linears[0];
  const auto gen = slot.generation;
  slot.set_weight(slot.weight * 0.5);
  CHECK(slot.generation == gen + 1);
  const auto after_slot = m->forward(ids);
  CHECK(golden_util::max_abs_diff(before, after_slot) > 1e-4);
  // Scaling a norm weight by 2 and the linears it feeds by 1/2 leaves the output unchanged: the
  // folding later passes rely on.
  auto b = m->block(1);
  const auto& g = b.groups[2];
  m->norms()[*g.norm].weight.mul_(2.0);
  for (size_t s : g.slots) m->slots()[s].set_weight(m->slots()[s].weight * 0.5);
  CHECK(golden_util::max_abs_diff(m->forward(ids), after_slot) < 1e-5);
}

TEST_CASE("model: hidden states after every block match the independent references", "[model][blockwise][golden]") {
  for (const char* name : {"tiny-gpt2", "tiny-bert", "tiny-llama", "tiny-llama-tied"}) {
    INFO(name);
    const golden_util::Golden g(name);
    auto m = model::load_model(g.dir());
    torch::NoGradGuard no_grad;
    model::BlockInputs in;
    auto x = m->embed({g.expected("input_ids"), {}, {}}, &in);
    REQUIRE(m->num_blocks() == 2);
    for (int i = 0; i < m->num_blocks(); ++i) {
      x = m->run_block(i, x, in);
      const auto want = g.expected("block." + std::to_string(i));
      CHECK(golden_util::max_abs_diff(x, want) < 2e-5 * (1 + want.abs().max().item<double>()));
    }
  }
}
