// The distillation loss made `logit_chunk` positions at a time is the whole micro-batch's loss: the
// same value and the same gradient for every trained tensor (blocks and a trained head, tied to the
// embedding), with padded positions, against the full teacher and against cached top-k logits.
#include <catch2/catch.hpp>

#include <cmath>

#include "compressor/model/architecture.h"
#include "compressor/pipeline/distillation_run.h"
#include "tests/pipeline/tiny_model.h"
#include "tests/test_util.h"

using namespace compressor;

namespace {

struct Result {
  double value = 0;
  std::vector<torch::Tensor> grads;
};

Result loss_and_grads(model::Model& student, const model::Model& teacher, const passes::TrainingSpec& spec,
                      const distill::MicroBatch& batch, const distill::TeacherCache* cache) {
  std::vector<torch::Tensor> trained;
  for (auto& p : student.module().parameters()) {
    p.requires_grad_(true);
    if (p.grad().defined()) p.mutable_grad().zero_();
    trained.push_back(p);
  }
  auto loss = pipeline::distillation_loss(student, teacher, spec, {}, cache, trained);
  auto terms = loss(batch);
  terms.total.backward();
  Result r{terms.total.item<double>(), {}};
  for (auto& p : trained) r.grads.push_back(p.grad().clone());
  return r;
}

}  // namespace

TEST_CASE("distillation loss in logit chunks equals the whole micro-batch's", "[pipeline][distillation]") {
  auto student = test_util::tiny_gpt2(1);
  auto teacher = test_util::tiny_gpt2(2);
  for (auto& p : teacher->module().parameters()) p.requires_grad_(false);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto windows = torch::randint(0, 256, {4, 10}, gen, torch::kLong);
  auto mask = torch::ones({3, 10}, torch::kLong);
  mask[1].slice(0, 6).zero_();  // a padded window
  const auto rows = torch::tensor({2, 0, 3}, torch::kLong);
  const distill::MicroBatch batch{windows.index_select(0, rows), mask, rows};

  const auto dir = test_util::temp_dir("distill-chunks");
  distill::TeacherCache cache(dir / "top.bin", windows.slice(1, 0, -1), 12, {{"t", 2}},
                              [&](const torch::Tensor& ids) { return teacher->forward(ids); }, 2);
  for (const distill::TeacherCache* c : std::vector<const distill::TeacherCache*>{nullptr, &cache}) {
    INFO("cached " << (c != nullptr));
    passes::TrainingSpec spec;
    spec.alpha = 0.3;
    spec.temperature = 2.0;
    const auto whole = loss_and_grads(*student, *teacher, spec, batch, c);
    for (int64_t chunk : {5, 9, 27, 100}) {
      INFO("chunk " << chunk);
      spec.logit_chunk = chunk;
      const auto parts = loss_and_grads(*student, *teacher, spec, batch, c);
      CHECK(parts.value == Approx(whole.value).epsilon(1e-5));
      REQUIRE(parts.grads.size() == whole.grads.size());
      for (size_t i = 0; i < whole.grads.size(); ++i) {
        INFO("tensor " << i);
        CHECK(torch::allclose(parts.grads[i], whole.grads[i], 1e-4, 1e-6));
      }
    }
  }
}

TEST_CASE("distillation loss with alpha 1 is the labels' cross-entropy and never runs the teacher", "[pipeline][distillation]") {
  auto student = test_util::tiny_gpt2(1);
  auto teacher = test_util::tiny_gpt2(2);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : teacher->module().parameters()) p.fill_(std::nan(""));  // would poison any KD term
  }
  const auto ids = torch::randint(0, 256, {2, 10}, at::make_generator<at::CPUGeneratorImpl>(3), torch::kLong);
  passes::TrainingSpec spec;
  spec.alpha = 1.0;
  const auto expected =
      distill::hard_label_loss(student->forward(ids.slice(1, 0, -1)), ids.slice(1, 1)).item<double>();
  for (int64_t chunk : {0, 7}) {
    spec.logit_chunk = chunk;
    const auto terms = pipeline::distillation_loss(*student, *teacher, spec)(distill::MicroBatch{ids, {}, {}});
    CHECK(terms.total.item<double>() == Approx(expected).epsilon(1e-6));
  }
}

TEST_CASE("distillation loss with gradient checkpointing has the plain loss and gradients", "[pipeline][distillation]") {
  auto student = test_util::tiny_gpt2(3);
  auto teacher = test_util::tiny_gpt2(4);
  for (auto& p : teacher->module().parameters()) p.requires_grad_(false);
  const auto ids = torch::randint(0, 256, {3, 11}, at::make_generator<at::CPUGeneratorImpl>(5), torch::kLong);
  auto mask = torch::ones({3, 11}, torch::kLong);
  mask[2].slice(0, 7).zero_();
  const distill::MicroBatch batch{ids, mask, {}};
  passes::TrainingSpec spec;
  spec.alpha = 0.4;
  spec.hidden_weight = 0.7;     // every block's output in the loss
  spec.attention_weight = 0.2;  // the last block's attention (that block runs plainly)
  for (int64_t chunk : {0, 8}) {
    INFO("chunk " << chunk);
    spec.logit_chunk = chunk;
    spec.gradient_checkpointing = false;
    const auto plain = loss_and_grads(*student, *teacher, spec, batch, nullptr);
    spec.gradient_checkpointing = true;
    const auto checkpointed = loss_and_grads(*student, *teacher, spec, batch, nullptr);
    CHECK(checkpointed.value == Approx(plain.value).epsilon(1e-6));
    for (size_t i = 0; i < plain.grads.size(); ++i) {
      INFO("tensor " << i);
      CHECK((checkpointed.grads[i] - plain.grads[i]).abs().max().item<double>() <=
            1e-5 * plain.grads[i].abs().max().item<double>());
    }
  }
}

// An encoder has no logits: its loss is hidden_weight · the mean of the blocks' output MSEs plus
// attention_weight · the last block's attention KL, whatever alpha says; zero against itself.
TEST_CASE("distillation loss of an encoder is its hidden-state and attention terms", "[pipeline][distillation]") {
  const nlohmann::json config = {{"model_type", "bert"}, {"vocab_size", 40}, {"hidden_size", 16},
                                 {"num_hidden_layers", 2}, {"num_attention_heads", 2}, {"intermediate_size", 32},
                                 {"max_position_embeddings", 16}, {"type_vocab_size", 2}, {"hidden_act", "gelu"},
                                 {"layer_norm_eps", 1e-12}};
  const auto c = model::parse_hf_config(config.dump(), "config.json");
  auto student = model::architecture_info("bert").init(c, 1);
  auto teacher = model::architecture_info("bert").init(c, 2);
  const auto ids = torch::randint(0, 40, {2, 9}, at::make_generator<at::CPUGeneratorImpl>(8), torch::kLong);
  passes::TrainingSpec spec;
  spec.alpha = 0.3;  // no logits: not used
  spec.hidden_weight = 0.8;
  spec.attention_weight = 0.5;
  const auto terms = pipeline::distillation_loss(*student, *teacher, spec)(distill::MicroBatch{ids, {}, {}});

  // The reference, from the models' own block API on the same inputs (the window's first 8 ids).
  auto run = [&](const model::Model& m, std::vector<torch::Tensor>& blocks, torch::Tensor& attention) {
    model::BlockInputs in;
    model::AttentionCapture capture;
    capture.blocks = {1};
    in.attention = &capture;
    auto x = m.embed(model::Batch{ids.slice(1, 0, -1), {}, {}}, &in);
    for (int i = 0; i < 2; ++i) blocks.push_back(x = m.run_block(i, x, in));
    attention = capture.probs.at(1);
  };
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> s, t;
  torch::Tensor sa, ta;
  run(*student, s, sa);
  run(*teacher, t, ta);
  const double hidden = 0.5 * (distill::hidden_state_loss(s[0], t[0]).item<double>() +
                               distill::hidden_state_loss(s[1], t[1]).item<double>());
  const double attention = distill::attention_map_loss(sa, ta).item<double>();
  CHECK(terms.total.item<double>() == Approx(0.8 * hidden + 0.5 * attention).epsilon(1e-6));
  CHECK(hidden > 0);
  CHECK(attention > 0);
  CHECK(pipeline::distillation_loss(*teacher, *teacher, spec)(distill::MicroBatch{ids, {}, {}}).total.item<double>() ==
        Approx(0).margin(1e-9));
}
