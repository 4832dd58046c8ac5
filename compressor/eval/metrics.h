#pragma once
#include <map>
#include <string>

namespace compressor::eval {
// Metric values keyed "<dataset>/<metric>", e.g. "kjv-test/perplexity".
using Metrics = std::map<std::string, double>;

// perplexity and bits_per_byte go down when a model gets better; accuracy-like metrics go up.
bool lower_is_better(const std::string& metric_key);
// "kjv-test/perplexity" -> "perplexity"
std::string metric_of(const std::string& key);
}  // namespace compressor::eval
