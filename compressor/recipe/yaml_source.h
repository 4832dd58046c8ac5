// The recipe as a YAML node tree that keeps each value's line and column: loaded from YAML or
// JSON text, then edited by --set overrides. Knows how to turn a node into a Location, including
// for values an override put there (those have no place in the file).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "compressor/recipe/plan.h"

namespace compressor::recipe {

struct Override {
  std::string text;      // as the user typed it: "stages.0.name=x"
  std::string key_path;  // in message form: "stages[0].name"
};

struct Document {
  std::string file;                 // for messages, as given by the caller
  std::filesystem::path base_dir;   // absolute; relative paths in the recipe resolve against it
  YAML::Node root;
  std::vector<Override> overrides;  // in the order applied

  // "file:line:col" from the mark, or "--set <text>" when an override wrote the value at
  // key_path (or one of its parents), or created the container at key_path.
  Location locate(const YAML::Mark& mark, const std::string& key_path) const;
};

// Parses recipe text. JSON (json = true) is checked strictly first so that YAML's leniency does
// not hide JSON mistakes, then read by yaml-cpp for the marks. Throws BadInput with file:line:col.
// An empty text gives a Null root; the caller decides what that means.
Document load_document(const std::string& text, const std::filesystem::path& file, bool json);

// Applies one "key.path=value" override to doc.root (value parsed as YAML). Throws BadInput
// whose `where` is "--set <text>".
void apply_override(Document& doc, const std::string& text);

}  // namespace compressor::recipe
