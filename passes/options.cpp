// OptionSpec builders, the human description of an option's domain, typed access to resolved
// values and their canonical text. Parsing from YAML lives in node_reader.cpp.
#include "passes/options.h"

#include <charconv>
#include <cmath>

#include "compressor/base/error.h"

namespace compressor::passes {

namespace {

// Shortest text that reads back to the same double ("0.1", not "0.10000000000000001").
std::string shortest(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// Bounds print without a trailing ".0" so domains read "[0, 1)" rather than "[0.0, 1.0)".
std::string bound_text(double v, OptionKind kind) {
  if (kind == OptionKind::Int) return std::to_string(static_cast<int64_t>(v));
  return shortest(v);
}

std::string numeric_domain(const OptionSpec& s, const std::string& noun) {
  if (s.min && s.max) {
    return noun + " in " + (s.min_inclusive ? "[" : "(") + bound_text(*s.min, s.kind) + ", " +
           bound_text(*s.max, s.kind) + (s.max_inclusive ? "]" : ")");
  }
  if (s.min) return noun + (s.min_inclusive ? " >= " : " > ") + bound_text(*s.min, s.kind);
  if (s.max) return noun + (s.max_inclusive ? " <= " : " < ") + bound_text(*s.max, s.kind);
  return noun;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

// A pass asking for an option it never declared, or with the wrong kind, is our bug, not the user's.
[[noreturn]] void wrong_kind(const std::string& key, const char* wanted) {
  throw InternalError("option '" + key + "'", std::string("is not ") + wanted);
}

}  // namespace

std::string OptionSpec::describe_domain() const {
  switch (kind) {
    case OptionKind::Bool: return "true or false";
    case OptionKind::Int: return numeric_domain(*this, "an integer");
    case OptionKind::Float: return numeric_domain(*this, "a number");
    case OptionKind::String: return "a string";
    case OptionKind::Choice: return "one of " + join(choices, ", ");
    case OptionKind::StringList: return "a list of strings";
    case OptionKind::Mapping: return "a mapping";
  }
  return "a value";
}

OptionSpec float_option(std::string key, std::string help, std::optional<double> def,
                        std::optional<double> min, std::optional<double> max, bool min_inclusive,
                        bool max_inclusive) {
  OptionSpec s;
  s.key = std::move(key);
  s.kind = OptionKind::Float;
  s.help = std::move(help);
  if (def) s.default_value = *def;
  s.min = min;
  s.max = max;
  s.min_inclusive = min_inclusive;
  s.max_inclusive = max_inclusive;
  return s;
}

OptionSpec int_option(std::string key, std::string help, std::optional<int64_t> def,
                      std::optional<int64_t> min, std::optional<int64_t> max) {
  OptionSpec s;
  s.key = std::move(key);
  s.kind = OptionKind::Int;
  s.help = std::move(help);
  if (def) s.default_value = *def;
  if (min) s.min = static_cast<double>(*min);
  if (max) s.max = static_cast<double>(*max);
  return s;
}

OptionSpec bool_option(std::string key, std::string help, bool def) {
  OptionSpec s;
  s.key = std::move(key);
  s.kind = OptionKind::Bool;
  s.help = std::move(help);
  s.default_value = def;
  return s;
}

OptionSpec choice_option(std::string key, std::string help, std::vector<std::string> choices,
                         std::optional<std::string> def) {
  OptionSpec s;
  s.key = std::move(key);
  s.kind = OptionKind::Choice;
  s.help = std::move(help);
  s.choices = std::move(choices);
  if (def) s.default_value = *def;
  return s;
}

OptionSpec string_option(std::string key, std::string help, std::optional<std::string> def) {
  OptionSpec s;
  s.key = std::move(key);
  s.kind = OptionKind::String;
  s.help = std::move(help);
  if (def) s.default_value = *def;
  return s;
}

OptionSpec list_option(std::string key, std::string help, std::vector<std::string> def) {
  OptionSpec s;
  s.key = std::move(key);
  s.kind = OptionKind::StringList;
  s.help = std::move(help);
  s.default_value = std::move(def);
  return s;
}

OptionSpec mapping_option(std::string key, std::string help) {
  OptionSpec s;
  s.key = std::move(key);
  s.kind = OptionKind::Mapping;
  s.help = std::move(help);
  s.default_value = MappingValue{};
  return s;
}

const OptionValue& OptionValues::at(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw InternalError("option '" + key + "'", "was not declared by the pass");
  return it->second;
}

bool OptionValues::get_bool(const std::string& key) const {
  const auto* v = std::get_if<bool>(&at(key));
  if (!v) wrong_kind(key, "a bool");
  return *v;
}

int64_t OptionValues::get_int(const std::string& key) const {
  const auto* v = std::get_if<int64_t>(&at(key));
  if (!v) wrong_kind(key, "an integer");
  return *v;
}

double OptionValues::get_float(const std::string& key) const {
  const OptionValue& v = at(key);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  wrong_kind(key, "a number");
}

const std::string& OptionValues::get_string(const std::string& key) const {
  const auto* v = std::get_if<std::string>(&at(key));
  if (!v) wrong_kind(key, "a string");
  return *v;
}

const std::vector<std::string>& OptionValues::get_list(const std::string& key) const {
  const auto* v = std::get_if<std::vector<std::string>>(&at(key));
  if (!v) wrong_kind(key, "a list of strings");
  return *v;
}

const nlohmann::json& OptionValues::get_mapping(const std::string& key) const {
  const auto* v = std::get_if<MappingValue>(&at(key));
  if (!v) wrong_kind(key, "a mapping");
  return v->value;
}

std::string to_string(const OptionValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    std::string s = shortest(*d);
    // Keep floats visibly floats ("1.0"), so the canonical text says what kind the option is.
    if (std::isfinite(*d) && s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
  }
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* m = std::get_if<MappingValue>(&v)) return m->value.dump();
  return "[" + join(std::get<std::vector<std::string>>(v), ", ") + "]";
}

const std::vector<OptionSpec>& common_pass_options() {
  static const std::vector<OptionSpec> specs = {
      list_option("targets", "layers the pass applies to: Linear, a role name, re:<regex>, or a slot name",
                  {"Linear"}),
      list_option("ignore", "layers to leave alone even when targeted (same forms as targets)", {}),
  };
  return specs;
}

}  // namespace compressor::passes
