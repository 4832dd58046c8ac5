#include "compressor/recipe/node_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <regex>

#include "compressor/base/error.h"

namespace compressor::recipe {

namespace {

// YAML 1.2 core-schema numbers (also every JSON number). Deliberately no inf/nan/hex/octal:
// no option takes them and a typo should not silently become one.
const std::regex& int_pattern() {
  static const std::regex re(R"([-+]?[0-9]+)");
  return re;
}
const std::regex& float_pattern() {
  static const std::regex re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  return re;
}

// A quoted scalar ("0.5" in JSON or YAML) is text, never a number or a bool.
bool is_plain(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "?"; }

std::optional<bool> parse_bool(const YAML::Node& n) {
  if (!is_plain(n)) return std::nullopt;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::string key_text(const YAML::Node& key) { return key.IsScalar() ? key.Scalar() : describe(key); }

[[noreturn]] void expected(const Field& f, const OptionSpec& spec) {
  f.fail("expected " + spec.describe_domain() + ", got " + describe(f.node));
}

void check_bounds(const Field& f, const OptionSpec& spec, double v) {
  bool low = spec.min && (v < *spec.min || (v == *spec.min && !spec.min_inclusive));
  bool high = spec.max && (v > *spec.max || (v == *spec.max && !spec.max_inclusive));
  if (low || high) expected(f, spec);
}

std::string read_scalar_string(const Field& f, const OptionSpec& spec) {
  if (!f.node.IsScalar()) expected(f, spec);
  return f.node.Scalar();
}

std::vector<std::string> read_list_value(const Field& f, const OptionSpec& spec) {
  if (f.node.IsScalar()) return {f.node.Scalar()};  // llm-compressor habit: targets: "Linear"
  if (!f.node.IsSequence()) expected(f, spec);
  std::vector<std::string> out;
  for (const Field& e : read_list(f)) {
    if (!e.node.IsScalar()) e.fail("expected a string, got " + describe(e.node));
    out.push_back(e.node.Scalar());
  }
  return out;
}

}  // namespace

Location Field::where() const {
  bool empty = !node.IsDefined() || node.IsNull();
  return doc->locate(empty && !key_mark.is_null() ? key_mark : node.Mark(), path);
}

Location Field::key_where() const { return doc->locate(key_mark.is_null() ? node.Mark() : key_mark, path); }

void Field::fail(const std::string& message) const { throw BadInput(where().str(), message); }

void Field::fail_at_key(const std::string& message) const { throw BadInput(key_where().str(), message); }

Field Field::member(const std::string& key, const YAML::Node& value, const YAML::Mark& mark) const {
  return Field{doc, value, mark, path.empty() ? key : path + "." + key};
}

Field Field::element(size_t index, const YAML::Node& value) const {
  return Field{doc, value, YAML::Mark::null_mark(), path + "[" + std::to_string(index) + "]"};
}

MapReader::MapReader(const Field& map, std::vector<std::string> valid_keys, bool null_is_empty)
    : map_(map) {
  if ((null_is_empty && map.node.IsNull()) || !map.node.IsDefined()) return;
  if (!map.node.IsMap()) {
    std::string keys = valid_keys.empty() ? "" : " with keys " + join_list(valid_keys);
    map.fail("expected a map" + keys + ", got " + describe(map.node));
  }
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    std::string key = key_text(it->first);
    Field field = map.member(key, it->second, it->first.Mark());
    if (!it->first.IsScalar()) field.fail_at_key("keys must be plain names, got " + describe(it->first));
    bool any_key = valid_keys.empty();
    if (!any_key && std::find(valid_keys.begin(), valid_keys.end(), key) == valid_keys.end()) {
      field.fail_at_key("unknown key '" + key + "'; valid keys: " + join_list(valid_keys));
    }
    for (const auto& [seen, first] : entries_) {
      if (seen == key) field.fail_at_key("duplicate key '" + key + "' (first at " + first.key_where().str() + ")");
    }
    entries_.emplace_back(key, field);
  }
}

std::optional<Field> MapReader::get(const std::string& key) const {
  for (const auto& [k, f] : entries_) {
    if (k == key) return f;
  }
  return std::nullopt;
}

Field MapReader::require(const std::string& key) const {
  if (auto f = get(key)) return *f;
  map_.fail("missing required key '" + key + "'");
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  const std::string& s = node.Scalar();
  if (!is_plain(node)) return "the string \"" + s + "\"";
  if (parse_number(node) || parse_bool(node)) return s;
  return "'" + s + "'";
}

std::optional<double> parse_number(const YAML::Node& node) {
  if (!is_plain(node)) return std::nullopt;
  return parse_number(node.Scalar());
}

std::optional<double> parse_number(const std::string& text) {
  if (!std::regex_match(text, float_pattern())) return std::nullopt;
  double v = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

namespace {

// A YAML subtree as JSON with typed scalars: plain scalars that read as numbers or booleans become
// those (integers stay integers), null stays null, quoted scalars stay strings.
nlohmann::json to_json(const Field& f) {
  const YAML::Node& n = f.node;
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  if (n.IsSequence()) {
    auto out = nlohmann::json::array();
    for (size_t i = 0; i < n.size(); ++i) out.push_back(to_json(f.element(i, n[i])));
    return out;
  }
  if (n.IsMap()) {
    auto out = nlohmann::json::object();
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (out.contains(key)) f.fail("duplicate key '" + key + "'");
      out[key] = to_json(f.member(key, kv.second, kv.first.Mark()));
    }
    return out;
  }
  if (is_plain(n)) {
    const std::string& s = n.Scalar();
    if (auto b = parse_bool(n)) return *b;
    if (std::regex_match(s, int_pattern())) {
      int64_t v = 0;
      const char* begin = s.c_str() + (s[0] == '+' ? 1 : 0);
      if (std::from_chars(begin, s.c_str() + s.size(), v).ec == std::errc()) return v;
    }
    if (auto d = parse_number(n)) return *d;
    if (s == "~" || s == "null") return nullptr;
  }
  return n.Scalar();
}

}  // namespace

OptionValue read_option(const Field& f, const OptionSpec& spec) {
  switch (spec.kind) {
    case OptionKind::Bool: {
      auto b = parse_bool(f.node);
      if (!b) expected(f, spec);
      return *b;
    }
    case OptionKind::Int: {
      if (!is_plain(f.node) || !std::regex_match(f.node.Scalar(), int_pattern())) expected(f, spec);
      const std::string& s = f.node.Scalar();
      int64_t v = 0;
      const char* begin = s.c_str() + (s[0] == '+' ? 1 : 0);
      auto res = std::from_chars(begin, s.c_str() + s.size(), v);
      if (res.ec != std::errc()) expected(f, spec);  // beyond int64: outside any domain we declare
      check_bounds(f, spec, static_cast<double>(v));
      return v;
    }
    case OptionKind::Float: {
      auto v = parse_number(f.node);
      if (!v) expected(f, spec);
      check_bounds(f, spec, *v);
      return *v;
    }
    case OptionKind::String:
      return read_scalar_string(f, spec);
    case OptionKind::Choice: {
      std::string s = read_scalar_string(f, spec);
      if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) expected(f, spec);
      return s;
    }
    case OptionKind::StringList:
      return read_list_value(f, spec);
    case OptionKind::Mapping:
      if (!f.node.IsMap()) expected(f, spec);
      return passes::MappingValue{to_json(f)};
  }
  throw InternalError(f.path, "unhandled option kind");
}

std::string read_string(const Field& f) {
  auto s = std::get<std::string>(read_option(f, string_option("", "", std::nullopt)));
  if (s.empty()) f.fail("expected a non-empty string");
  return s;
}

int64_t read_int(const Field& f, std::optional<int64_t> min) {
  return std::get<int64_t>(read_option(f, int_option("", "", std::nullopt, min)));
}

std::string read_choice(const Field& f, const std::vector<std::string>& choices) {
  return std::get<std::string>(read_option(f, choice_option("", "", choices, std::nullopt)));
}

std::vector<std::string> read_string_list(const Field& f) {
  return std::get<std::vector<std::string>>(read_option(f, list_option("", "", {})));
}

std::vector<Field> read_list(const Field& f) {
  if (!f.node.IsSequence()) f.fail("expected a list, got " + describe(f.node));
  std::vector<Field> out;
  for (size_t i = 0; i < f.node.size(); ++i) out.push_back(f.element(i, f.node[i]));
  return out;
}

}  // namespace compressor::recipe
