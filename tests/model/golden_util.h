// Shared by the model tests that compare against a golden checkpoint from tests/golden/make_golden.py:
// tests/golden/<name>/{config.json, model.safetensors, expected.safetensors}.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compressor/model/architecture.h"
#include "formats/safetensors.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

namespace golden_util {

namespace fs = std::filesystem;

using Tensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Every tensor of a safetensors file, in file order, as owned copies.
inline Tensors read_all(const fs::path& file) {
  auto f = compressor::formats::SafetensorsFile::open(file);
  Tensors out;
  for (const auto& info : f->tensors()) out.emplace_back(info.name, f->tensor(info.name).clone());
  return out;
}

// The tensor called `name` in `t`, to edit in place; fails the test when there is none.
inline torch::Tensor& find(Tensors& t, const std::string& name) {
  for (auto& [n, v] : t) {
    if (n == name) return v;
  }
  FAIL("no tensor " << name);
  throw;  // unreachable
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

// The BadInput message thrown while loading `dir`.
inline std::string load_error(const fs::path& dir) {
  INFO("loading " << dir);
  return test_util::bad_input_message([&] { compressor::model::load_model(dir); });
}

// One golden checkpoint, tests/golden/<name>.
class Golden {
 public:
  explicit Golden(std::string name) : name_(std::move(name)) {}

  fs::path dir() const { return test_util::source_dir() / "tests" / "golden" / name_; }

  // A tensor of the Python reference's expected.safetensors ("input_ids", "logits", "hidden").
  torch::Tensor expected(const std::string& name) const {
    return compressor::formats::SafetensorsFile::open(dir() / "expected.safetensors")->tensor(name).clone();
  }

  // `m` on the reference input_ids, without autograd.
  torch::Tensor run(compressor::model::Model& m) const {
    torch::NoGradGuard no_grad;
    return m.forward(expected("input_ids"));
  }

  // A copy of the golden checkpoint (in a fresh temp_dir(tag)) with its tensors and/or config.json edited.
  fs::path edited_copy(const std::string& tag, const std::function<void(Tensors&)>& edit_tensors,
                       const std::function<void(nlohmann::json&)>& edit_config = {}) const {
    const fs::path out = test_util::temp_dir(tag);
    Tensors t = read_all(dir() / "model.safetensors");
    if (edit_tensors) edit_tensors(t);
    compressor::formats::write_safetensors(out / "model.safetensors", t);
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir() / "config.json"));
    if (edit_config) edit_config(cfg);
    std::ofstream(out / "config.json") << cfg.dump(2);
    return out;
  }

 private:
  std::string name_;
};

}  // namespace golden_util
