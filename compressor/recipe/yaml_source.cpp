#include "compressor/recipe/yaml_source.h"

#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "compressor/base/error.h"

namespace compressor::recipe {

namespace {

// True when `path` is `prefix` itself or lies under it ("a.b" is under "a", "a[0]" too, "ab" is not).
bool is_under(const std::string& path, const std::string& prefix) {
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

std::string position(const std::string& file, int line, int col) {
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

// nlohmann puts the position only into its message ("... at line 3, column 14: syntax error ...");
// re-shape it into our "file:line:col" form.
[[noreturn]] void throw_json_error(const std::string& file, const nlohmann::json::parse_error& e) {
  static const std::regex pattern(R"(at line (\d+), column (\d+): (.*))");
  std::smatch m;
  std::string what = e.what();
  if (std::regex_search(what, m, pattern)) {
    throw BadInput(position(file, std::stoi(m[1]), std::stoi(m[2])), "invalid JSON: " + m[3].str());
  }
  throw BadInput(file, "invalid JSON: " + what);
}

const char* type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "null";
  }
}

bool is_index(const std::string& s) {
  // Up to 9 digits: any real list fits, and stoul cannot overflow.
  return !s.empty() && s.size() < 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

}  // namespace

Location Document::locate(const YAML::Mark& mark, const std::string& key_path) const {
  // Later overrides win, so search from the last one.
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
    if (is_under(key_path, it->key_path)) return {"--set " + it->text, 0, 0, key_path};
  }
  if (mark.is_null()) {
    for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
      if (is_under(it->key_path, key_path)) return {"--set " + it->text, 0, 0, key_path};
    }
    return {file, 0, 0, key_path};
  }
  return {file, mark.line + 1, mark.column + 1, key_path};
}

Document load_document(const std::string& text, const std::filesystem::path& file, bool json) {
  Document doc;
  doc.file = file.string();
  doc.base_dir = std::filesystem::absolute(file).parent_path().lexically_normal();
  std::string yaml_text = text;
  if (json) {
    try {
      nlohmann::json checked = nlohmann::json::parse(text);
      (void)checked;  // only the syntax check matters; yaml-cpp reads it again for the marks
    } catch (const nlohmann::json::parse_error& e) {
      throw_json_error(doc.file, e);
    }
    // Valid JSON has no raw tab inside strings, so every tab is whitespace; spaces keep the
    // columns and spare yaml-cpp its indentation rules about tabs.
    std::replace(yaml_text.begin(), yaml_text.end(), '\t', ' ');
  }
  try {
    doc.root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw BadInput(position(doc.file, e.mark.line + 1, e.mark.column + 1), e.msg);
  } catch (const YAML::Exception& e) {
    throw BadInput(doc.file, e.msg);
  }
  return doc;
}

void apply_override(Document& doc, const std::string& text) {
  const std::string where = "--set " + text;
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw BadInput(where, "expected key.path=value");
  std::vector<std::string> parts = split_key(text.substr(0, eq));
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    throw BadInput(where, "empty component in key path '" + text.substr(0, eq) + "'");
  }
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw BadInput(where, "cannot parse the value as YAML: " + e.msg);
  }
  if (!doc.root.IsMap()) throw BadInput(where, "the recipe is not a map");

  // Note: yaml-cpp's Node::operator= assigns through to the referenced node; reset() rebinds.
  YAML::Node cur;
  cur.reset(doc.root);
  std::string path;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    const std::string here = path.empty() ? "the recipe" : path;
    if (cur.IsSequence()) {
      if (!is_index(part)) throw BadInput(where, here + " is a list; index it with a number, not '" + part + "'");
      size_t idx = std::stoul(part);
      if (idx >= cur.size()) throw BadInput(where, here + " has " + std::to_string(cur.size()) + " entries");
      path += "[" + part + "]";
      if (last) {
        cur[idx] = value;
      } else {
        YAML::Node next = cur[idx];
        cur.reset(next);
      }
      continue;
    }
    if (!cur.IsMap()) throw BadInput(where, here + " is " + type_name(cur) + ", not a map or list");
    path += (path.empty() ? "" : ".") + part;
    if (last) {
      cur[part] = value;
      continue;
    }
    const YAML::Node& view = cur;  // const lookup: does not insert the key
    YAML::Node existing = view[part];
    if (!existing.IsDefined() || existing.IsNull()) cur[part] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = cur[part];
    cur.reset(next);
  }
  doc.overrides.push_back({text, path});
}

}  // namespace compressor::recipe
