// Typed, checked reading of recipe nodes. Every read either returns a value of the expected type
// and domain or throws BadInput "<file>:<line>:<col>: <key path>: expected ..., got ...", so the
// schema code in resolve.cpp states only what it wants, never how to complain.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "compressor/recipe/plan.h"
#include "compressor/recipe/yaml_source.h"

namespace compressor::recipe {

// A value in the recipe tree together with the key path that reached it.
struct Field {
  const Document* doc = nullptr;
  YAML::Node node;
  YAML::Mark key_mark = YAML::Mark::null_mark();  // of the map key naming it; null for list entries
  std::string path;                               // "stages[0].passes[1].magnitude.sparsity"

  Location where() const;      // the value's position (the key's when the value is empty)
  Location key_where() const;  // the key's position (the value's for list entries)
  [[noreturn]] void fail(const std::string& message) const;
  [[noreturn]] void fail_at_key(const std::string& message) const;

  Field member(const std::string& key, const YAML::Node& value, const YAML::Mark& mark) const;
  Field element(size_t index, const YAML::Node& value) const;
};

// The keys of a map, checked on construction against the valid keys at that level: unknown keys
// (with the valid list), duplicate keys and non-map values are errors. `null_is_empty` accepts
// an empty value ("magnitude:") as an empty map. No valid keys: any key is accepted (maps whose
// keys are data, like validate.max_drop).
class MapReader {
 public:
  MapReader(const Field& map, std::vector<std::string> valid_keys, bool null_is_empty = false);
  std::optional<Field> get(const std::string& key) const;
  Field require(const std::string& key) const;  // "missing required key 'x'" at the map
  const Field& self() const { return map_; }
  const std::vector<std::pair<std::string, Field>>& entries() const { return entries_; }  // file order

 private:
  Field map_;
  std::vector<std::pair<std::string, Field>> entries_;
};

// "a, b, c": valid keys, passes and choices as messages list them.
std::string join_list(const std::vector<std::string>& items);

// How a value reads in a message: 1.0, 'abc', the string "0.5", a list, a map, null.
std::string describe(const YAML::Node& node);

// A value for a declared option, checked against its kind and domain.
OptionValue read_option(const Field& f, const OptionSpec& spec);

// Shorthands for the schema's own fields, all built on read_option.
std::string read_string(const Field& f);  // non-empty scalar
int64_t read_int(const Field& f, std::optional<int64_t> min = std::nullopt);
std::string read_choice(const Field& f, const std::vector<std::string>& choices);
std::vector<std::string> read_string_list(const Field& f);  // a list, or one string as a list of one
std::vector<Field> read_list(const Field& f);               // a YAML list, entries with paths "x[i]"

// Parses a plain YAML/JSON number; nullopt for anything else (quoted text, inf, nan, words).
std::optional<double> parse_number(const YAML::Node& node);
std::optional<double> parse_number(const std::string& text);  // the same rules, on bare text

}  // namespace compressor::recipe
