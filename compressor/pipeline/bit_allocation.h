// Mixed-precision allocation: given, for every layer, what each candidate encoding costs (bits per
// weight) and how much it hurts (its sensitivity, e.g. the perplexity increase with only that
// layer quantized), choose one candidate per layer so the weighted mean bits per weight stays
// within a budget and the summed sensitivity is least. This is a multiple-choice knapsack; it is
// solved by dynamic programming over the budget left once every layer has its cheapest candidate,
// cut into `resolution` units; each layer's extra cost is rounded up to whole units, so the result
// never exceeds the budget and is optimal among allocations whose rounded costs fit (rounding
// gives away at most layers/resolution of that spare budget).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace compressor::pipeline {

struct AllocationLayer {
  std::string name;
  int64_t weights = 0;
  std::vector<double> bits_per_weight;  // per candidate
  std::vector<double> sensitivity;      // per candidate, same order
};

struct Allocation {
  std::vector<size_t> choice;    // per layer: the index of its candidate
  double bits_per_weight = 0;    // Σ bits / Σ weights of the choice
  double sensitivity = 0;        // Σ sensitivity of the choice
};

// BadInput at `where` when even the cheapest candidate of every layer exceeds `target_bpw`
// (the message says the least reachable), or when the layers are empty or disagree in their
// number of candidates.
Allocation allocate_bits(const std::vector<AllocationLayer>& layers, double target_bpw, const std::string& where,
                         int64_t resolution = 100000);

}  // namespace compressor::pipeline
