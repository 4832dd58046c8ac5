#include "formats/hf_config.h"

#include "compressor/base/error.h"
#include "compressor/base/atomic_file.h"

namespace compressor::formats {

namespace {
const nlohmann::json& require(const HfConfig& c, const std::string& key) {
  auto it = c.raw.find(key);
  if (it == c.raw.end() || it->is_null()) {
    throw BadInput(c.file.string(), "missing key '" + key + "'");
  }
  return *it;
}
}  // namespace

bool HfConfig::has(const std::string& key) const {
  auto it = raw.find(key);
  return it != raw.end() && !it->is_null();
}

int64_t HfConfig::get_int(const std::string& key) const {
  const auto& v = require(*this, key);
  if (!v.is_number_integer()) {
    throw BadInput(file.string(), "key '" + key + "': expected an integer, got " + v.dump());
  }
  return v.get<int64_t>();
}

int64_t HfConfig::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double HfConfig::get_float(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const auto& v = raw.at(key);
  if (!v.is_number()) throw BadInput(file.string(), "key '" + key + "': expected a number, got " + v.dump());
  return v.get<double>();
}

std::string HfConfig::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = raw.at(key);
  if (!v.is_string()) throw BadInput(file.string(), "key '" + key + "': expected a string, got " + v.dump());
  return v.get<std::string>();
}

HfConfig parse_hf_config(const std::string& text, const std::filesystem::path& file) {
  HfConfig c;
  c.file = file;
  try {
    c.raw = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw BadInput(file.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!c.raw.is_object()) throw BadInput(file.string(), "expected a JSON object at the top level");
  c.model_type = c.get_string("model_type", "");
  if (c.model_type.empty()) throw BadInput(file.string(), "missing key 'model_type' (which architecture is this?)");
  return c;
}

HfConfig load_hf_config(const std::filesystem::path& dir) {
  const auto file = dir / "config.json";
  return parse_hf_config(base::read_text_file(file, "model config"), file);
}

}  // namespace compressor::formats
