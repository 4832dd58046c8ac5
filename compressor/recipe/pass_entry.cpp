#include "compressor/recipe/pass_entry.h"

#include <regex>

namespace compressor::recipe {

namespace {

// Each entry names one pass so that options cannot be attached to the wrong pass by indentation.
// The usual slip is options written beside the pass name instead of under it: say so.
std::string entry_shape_error(const Field& entry, const PassCatalog& catalog) {
  std::string msg = "a pass entry is a map with one key, the pass type (e.g. '- magnitude: {sparsity: 0.5}')";
  if (!entry.node.IsMap()) return msg + ", got " + describe(entry.node);
  std::vector<std::string> keys;
  for (auto it = entry.node.begin(); it != entry.node.end(); ++it) {
    keys.push_back(it->first.IsScalar() ? it->first.Scalar() : describe(it->first));
  }
  msg += "; got " + std::to_string(keys.size()) + " keys (" + join_list(keys) + ")";
  if (!keys.empty() && entry.node.begin()->first.IsScalar() &&
      catalog.options_of(entry.node.begin()->first.Scalar()) && keys.size() > 1) {
    msg += "; indent the options under the pass name";
  }
  return msg;
}

// Targets are resolved against the model later; catch what can be caught without it.
void check_selectors(const Field& f, const std::vector<std::string>& selectors) {
  for (const std::string& s : selectors) {
    if (s.empty()) f.fail("empty name in list");
    if (s.rfind("re:", 0) != 0) continue;
    try {
      std::regex re(s.substr(3));
    } catch (const std::regex_error& e) {
      f.fail("invalid regular expression '" + s.substr(3) + "': " + e.what());
    }
  }
}

}  // namespace

PassSpec resolve_pass_entry(const Field& entry, const PassCatalog& catalog) {
  if (!entry.node.IsMap() || entry.node.size() != 1) entry.fail(entry_shape_error(entry, catalog));
  auto it = entry.node.begin();
  if (!it->first.IsScalar()) entry.fail(entry_shape_error(entry, catalog));
  const std::string type = it->first.Scalar();
  Field pass = entry.member(type, it->second, it->first.Mark());

  const std::vector<OptionSpec>* declared = catalog.options_of(type);
  if (!declared) {
    pass.fail_at_key("unknown pass type '" + type + "'; valid passes: " + join_list(catalog.pass_names()));
  }

  std::vector<std::string> keys;
  for (const auto& s : *declared) keys.push_back(s.key);
  for (const auto& s : passes::common_pass_options()) keys.push_back(s.key);
  MapReader options(pass, keys, /*null_is_empty=*/true);

  PassSpec spec;
  spec.type = type;
  spec.where = pass.key_where();
  for (const OptionSpec& o : *declared) {
    if (auto f = options.get(o.key)) {
      spec.options.set(o.key, read_option(*f, o));
    } else if (o.default_value) {
      spec.options.set(o.key, *o.default_value);
    } else {
      pass.fail_at_key("missing required option '" + o.key + "' (" + o.describe_domain() + ")");
    }
  }
  for (const OptionSpec& o : passes::common_pass_options()) {
    std::vector<std::string> list;
    if (o.default_value) list = std::get<std::vector<std::string>>(*o.default_value);
    if (auto f = options.get(o.key)) {
      list = std::get<std::vector<std::string>>(read_option(*f, o));
      check_selectors(*f, list);
    }
    (o.key == "targets" ? spec.targets : spec.ignore) = list;
  }
  if (spec.targets.empty()) options.require("targets").fail("expected at least one target");
  return spec;
}

}  // namespace compressor::recipe
