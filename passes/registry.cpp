#include "passes/registry.h"

#include "compressor/base/error.h"

namespace compressor::passes {

void PassRegistry::add(PassInfo info) {
  if (passes_.count(info.name)) throw InternalError("pass registry", "pass '" + info.name + "' registered twice");
  std::string name = info.name;
  passes_.emplace(std::move(name), std::move(info));
}

const PassInfo* PassRegistry::find(const std::string& name) const {
  auto it = passes_.find(name);
  return it == passes_.end() ? nullptr : &it->second;
}

std::vector<std::string> PassRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, info] : passes_) out.push_back(name);
  return out;
}

const std::vector<OptionSpec>* PassRegistry::options_of(const std::string& type) const {
  const auto* info = find(type);
  return info ? &info->options : nullptr;
}

const PassRegistry& builtin_registry() {
  static const PassRegistry registry = [] {
    PassRegistry r;
    register_builtin_passes(r);
    return r;
  }();
  return registry;
}

}  // namespace compressor::passes
