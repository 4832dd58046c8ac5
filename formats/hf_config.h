// The parts of a Hugging Face config.json we read, kept with the raw JSON so nothing is lost
// when the artifact copies it.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace compressor::formats {

struct HfConfig {
  std::filesystem::path file;  // for error messages
  nlohmann::json raw;
  std::string model_type;      // "gpt2", "bert", ...

  // Typed getters that name the file and key on a missing or mistyped value.
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  bool has(const std::string& key) const;
};

HfConfig load_hf_config(const std::filesystem::path& checkpoint_dir);
HfConfig parse_hf_config(const std::string& text, const std::filesystem::path& file_for_errors);

}  // namespace compressor::formats
