// A resolved recipe: every name checked, defaults filled, relative paths made absolute against
// the recipe file's directory. Nothing is loaded before the whole Plan is valid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "calibration/documents.h"
#include "calibration/sampler.h"
#include "compressor/eval/gate_rule.h"
#include "passes/options.h"

namespace compressor::recipe {

// Option declarations and the pass catalog belong to the passes; the recipe reads them.
using eval::GateRule;
using passes::bool_option;
using passes::choice_option;
using passes::float_option;
using passes::int_option;
using passes::list_option;
using passes::OptionKind;
using passes::OptionSpec;
using passes::OptionValue;
using passes::OptionValues;
using passes::PassCatalog;
using passes::string_option;
using passes::to_string;

// Where a value came from, for error messages: "recipe.yaml:12:7: stages[0].passes[1].magnitude.sparsity".
struct Location {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown (e.g. a default)
  int col = 0;
  std::string key_path;
  std::string str() const;
};

struct ModelSpec {
  std::filesystem::path path;
  std::string architecture = "auto";  // "auto": from config.json's model_type
  Location where;
};

struct CalibrationSpec {
  bool enabled = false;          // false when the recipe has no calibration block
  std::filesystem::path source;  // text, JSON Lines, or ids tokenized beforehand (.npy, .safetensors)
  calibration::SourceFormat format = calibration::SourceFormat::automatic;  // by extension
  std::string text_field = "text";   // JSON Lines: the field with each row's text
  std::string tensor = "input_ids";  // safetensors: the tensor of ids
  calibration::Sampler sampler = calibration::Sampler::random;
  calibration::ShortDocuments short_documents = calibration::ShortDocuments::pack;
  int64_t samples = 128;
  int64_t seq_len = 256;
  uint64_t seed = 0;
  // true: block i is calibrated on the compressed outputs of blocks < i (GPTQ, SparseGPT,
  // llm-compressor). false: every block's statistics come from the dense model (the Wanda paper).
  bool sequential = true;
  int64_t batch_size = 8;  // calibration samples per forward
  // MiB a true-sequential sweep may hold of group inputs wider than the hidden state (the MLP's
  // down projection input, for every sample) instead of making them again for the block's output.
  int64_t activation_cache_mib = 1024;
  // Activation percentiles `compressor calibrate --stats` reports, each in (0, 100].
  std::vector<double> percentiles = {99.0, 99.9, 99.99};
  Location where;
};

struct PassSpec {
  std::string type;                  // registry name, e.g. "magnitude"
  OptionValues options;              // declared options of that pass, defaults filled
  std::vector<std::string> targets;  // "Linear", role names ("mlp_up"), "re:<regex>", exact slot names
  std::vector<std::string> ignore;
  Location where;                    // of the pass entry; options report "<where>.<key>"
};

struct StageSpec {
  std::string name;
  std::vector<PassSpec> passes;
  Location where;
};

struct DatasetSpec {
  std::string name;
  // perplexity: a causal LM on a text file. probe: an encoder's sentence embeddings, a linear
  // probe fitted on `train` and scored (accuracy) on `path`, both "label<TAB>text" files.
  std::string task = "perplexity";
  std::filesystem::path path;   // text file (perplexity) or labelled test file (probe)
  std::filesystem::path train;  // probe only
  int64_t seq_len = 256;       // window length in tokens (probe: the most tokens kept per text)
  int64_t stride = 128;        // tokens the window advances; only the new ones are scored (perplexity)
  int64_t max_bytes = 0;       // 0: the whole file(s); otherwise their first max_bytes bytes
  Location where;
};

struct EvaluateSpec {
  std::vector<DatasetSpec> datasets;
  // Of "perplexity", "bits_per_byte" (perplexity datasets) and "accuracy" (probe datasets); each
  // dataset reports those its task computes.
  std::vector<std::string> metrics = {"perplexity"};
};

struct ValidateSpec {
  std::vector<eval::GateRule> max_drop;
};

struct OutputSpec {
  std::filesystem::path path;  // artifact directory: model.safetensors + config.json
  std::string dtype = "f32";   // dense tensor encoding: f32 | f16 | bf16
  // Linear weights in a compressed-tensors sparse layout where it suits them: dense |
  // sparse-24-bitmask | sparse-bitmask (formats/sparse_layout.h).
  std::string sparse_format = "dense";
  Location where;
  Location sparse_format_where;
};

struct Plan {
  std::string source_file;
  int version = 1;
  std::string name;
  uint64_t seed = 0;
  ModelSpec model;
  CalibrationSpec calibration;
  std::vector<StageSpec> stages;
  EvaluateSpec evaluate;
  ValidateSpec validate;
  OutputSpec output;
  bool has_output = false;
};

}  // namespace compressor::recipe
