#pragma once
#include <string>

namespace compressor::cli {

struct ExportArgs {
  std::string model;  // artifact or checkpoint directory
  std::string to = "gguf";
  std::string out;    // default: the directory's path + ".gguf"
};

// Writes the GGUF file (runtime/gguf_export.h) and prints what it holds. Returns 0; throws BadInput.
int export_model(const ExportArgs& args);

}  // namespace compressor::cli
