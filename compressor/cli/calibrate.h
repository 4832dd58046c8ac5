#pragma once
#include <string>
#include <vector>

namespace compressor::cli {

struct CalibrateArgs {
  std::string recipe;
  std::vector<std::string> overrides;
  std::string stats;  // the JSON report to write
};

// `compressor calibrate RECIPE --stats FILE.json`: runs the recipe's calibration data through the
// uncompressed model and writes per-layer activation statistics (calibration/activation_report.h).
int calibrate_recipe(const CalibrateArgs& args, bool quiet);

}  // namespace compressor::cli
