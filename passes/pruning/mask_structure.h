// Which weights a pruning pass may remove: unstructured ("0:0"), or N:M semi-structured, keeping N
// of every M consecutive weights along the input dimension (2:4 is what sparse tensor cores run;
// NVIDIA's reading of N:M: N kept, so "2:4" and "4:8" keep half). Every pruning pass takes it as
// `mask_structure`, as in llm-compressor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "compressor/model/model.h"

namespace compressor::passes {

struct MaskStructure {
  int64_t n = 0, m = 0;  // 0:0 = unstructured
  bool unstructured() const { return m == 0; }
  double sparsity() const { return unstructured() ? 0.0 : static_cast<double>(m - n) / static_cast<double>(m); }
  std::string str() const { return std::to_string(n) + ":" + std::to_string(m); }
};

// "N:M" with 0 < N < M, or "0:0"; anything else is BadInput naming `where` (the option's location).
MaskStructure parse_mask_structure(const std::string& text, const std::string& where);

// BadInput naming `where` and the tensor when an N:M structure's M does not divide a slot's input width.
void check_mask_structure(const MaskStructure& s, const std::vector<const model::LinearSlot*>& slots,
                          const std::string& where);

// What a pruning pass's check() does with its mask_structure option: parse it, check every slot's
// width against it, and warn when an N:M structure leaves the pass's `sparsity` unused.
MaskStructure resolve_mask_structure(const std::string& text, double sparsity,
                                     const std::vector<const model::LinearSlot*>& slots, const std::string& pass_where);

// A pass's mask_structure option: parsed when the pass is built. An invalid text fails in check()
// with the recipe location, or on first use (naming `option`, e.g. "wanda.mask_structure") for a C++
// caller that skips check(); it never silently falls back to unstructured.
class MaskStructureOption {
 public:
  MaskStructureOption(std::string text, std::string option);
  // resolve_mask_structure with this option's text.
  MaskStructure check(double sparsity, const std::vector<const model::LinearSlot*>& slots,
                      const std::string& pass_where) const {
    return resolve_mask_structure(text_, sparsity, slots, pass_where);
  }
  const MaskStructure& get() const;

 private:
  std::string text_, option_;
  std::optional<MaskStructure> parsed_;
};

// Keep-mask (bool, like `scores`) from scores [out, in] where higher means more important:
// unstructured: in every row, the round(sparsity · in) lowest scores are pruned;
// N:M: in every group of M consecutive inputs of a row, the N highest are kept.
// Ties go by position: of equal scores the later one is pruned first, so masks are reproducible.
torch::Tensor keep_by_score_per_row(const torch::Tensor& scores, double sparsity, const MaskStructure& s);

}  // namespace compressor::passes
