// Typed pass options, declared once per pass; they live with the passes, below the recipe. The
// same declaration drives recipe parsing and
// validation, `compressor run --help-passes`, and the canonical print of a resolved plan.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace compressor::passes {

enum class OptionKind { Bool, Int, Float, String, Choice, StringList, Mapping };

// A nested mapping option (quantization's config_groups) as the recipe wrote it. Wrapped so the
// variant's converting constructor stays unambiguous (json converts from everything).
struct MappingValue {
  nlohmann::json value = nlohmann::json::object();
  bool operator==(const MappingValue& o) const { return value == o.value; }
};

using OptionValue = std::variant<bool, int64_t, double, std::string, std::vector<std::string>, MappingValue>;

struct OptionSpec {
  std::string key;
  OptionKind kind = OptionKind::Float;
  std::string help;
  std::optional<OptionValue> default_value;  // nullopt: the option is required
  std::optional<double> min;                 // numeric bounds (Int, Float)
  std::optional<double> max;
  bool min_inclusive = true;
  bool max_inclusive = true;
  std::vector<std::string> choices;          // Choice

  // Human text of the accepted range/choices, e.g. "a number in [0, 1)".
  std::string describe_domain() const;
};

// Builders keep pass declarations short and readable.
OptionSpec float_option(std::string key, std::string help, std::optional<double> def,
                        std::optional<double> min, std::optional<double> max,
                        bool min_inclusive = true, bool max_inclusive = true);
OptionSpec int_option(std::string key, std::string help, std::optional<int64_t> def,
                      std::optional<int64_t> min = std::nullopt, std::optional<int64_t> max = std::nullopt);
OptionSpec bool_option(std::string key, std::string help, bool def);
OptionSpec choice_option(std::string key, std::string help, std::vector<std::string> choices,
                         std::optional<std::string> def);
OptionSpec string_option(std::string key, std::string help, std::optional<std::string> def);
OptionSpec list_option(std::string key, std::string help, std::vector<std::string> def);
// A nested mapping; its default is empty (the pass decides what an empty one means).
OptionSpec mapping_option(std::string key, std::string help);

// Resolved option values: every declared key is present (defaults filled in).
class OptionValues {
 public:
  void set(const std::string& key, OptionValue v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // Int values are widened
  const std::string& get_string(const std::string& key) const;
  const std::vector<std::string>& get_list(const std::string& key) const;
  const nlohmann::json& get_mapping(const std::string& key) const;
  const std::map<std::string, OptionValue>& all() const { return values_; }

 private:
  const OptionValue& at(const std::string& key) const;
  std::map<std::string, OptionValue> values_;
};

std::string to_string(const OptionValue& v);  // canonical text, e.g. 0.5, true, [a, b]

// Option keys every pass accepts besides its own (selection of slots).
const std::vector<OptionSpec>& common_pass_options();

// What the recipe resolver needs to know about passes; the PassRegistry (passes/registry.h)
// implements it, and recipe tests use a small fake.
class PassCatalog {
 public:
  virtual ~PassCatalog() = default;
  // Declared options of a pass type (without the common targets/ignore), or nullptr if unknown.
  virtual const std::vector<OptionSpec>* options_of(const std::string& type) const = 0;
  virtual std::vector<std::string> pass_names() const = 0;  // sorted, for "valid choices" lists
};

}  // namespace compressor::passes
