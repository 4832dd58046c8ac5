// The explicit pass registry. register_builtin_passes() (passes/register_builtin.cpp) lists every
// built-in pass in one place; no static-initialiser magic.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "passes/options.h"
#include "passes/pass.h"

namespace compressor::passes {

struct PassInfo {
  std::string name;
  std::string summary;                // one line for --help-passes
  std::vector<OptionSpec> options;    // declared once: parse, help and canonical print
  std::function<std::unique_ptr<Pass>(const OptionValues&)> create;
};

class PassRegistry : public PassCatalog {
 public:
  const std::vector<OptionSpec>* options_of(const std::string& type) const override;
  std::vector<std::string> pass_names() const override { return names(); }
  void add(PassInfo info);
  const PassInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  const std::map<std::string, PassInfo>& all() const { return passes_; }

 private:
  std::map<std::string, PassInfo> passes_;
};

// The registry with every built-in pass.
const PassRegistry& builtin_registry();
void register_builtin_passes(PassRegistry& registry);

}  // namespace compressor::passes
