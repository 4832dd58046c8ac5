// A small PassCatalog for the recipe tests, so they do not depend on the real passes.
#pragma once

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "compressor/base/error.h"
#include "compressor/recipe/resolve.h"
#include "tests/catch_util.h"
#include "tests/test_util.h"

namespace recipe_test {

using namespace compressor::recipe;

class FakeCatalog : public PassCatalog {
 public:
  FakeCatalog() {
    specs_["magnitude"] = {
        float_option("sparsity", "fraction of weights set to zero", 0.5, 0.0, 1.0, true, false),
        choice_option("scope", "rank weights per layer or across all layers", {"layer", "global"}, "layer"),
    };
    specs_["nm"] = {
        int_option("n", "zeros per group", std::nullopt, 1),
        int_option("m", "group size", std::nullopt, 1),
    };
    specs_["tagger"] = {
        bool_option("verbose", "say more", false),
        string_option("label", "free text", std::string("x")),
        list_option("layers", "names", {"a", "b"}),
    };
  }
  const std::vector<OptionSpec>* options_of(const std::string& type) const override {
    auto it = specs_.find(type);
    return it == specs_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> pass_names() const override {
    std::vector<std::string> names;
    for (const auto& [name, specs] : specs_) names.push_back(name);
    return names;
  }

 private:
  std::map<std::string, std::vector<OptionSpec>> specs_;
};

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A recipe directory with the data files the recipes below refer to.
inline std::filesystem::path recipe_dir(const std::string& tag) {
  auto dir = test_util::temp_dir(tag);
  write_file(dir / "data" / "calib.txt", "In the beginning.\n");
  write_file(dir / "data" / "val.txt", "And the earth was without form.\n");
  return dir;
}

using test_util::bad_input_message;

}  // namespace recipe_test
