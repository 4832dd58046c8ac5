#include "passes/pruning/mask_structure.h"

#include <charconv>
#include <cmath>

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"
#include "passes/pruning/mask.h"

namespace compressor::passes {

namespace {

bool parse_count(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Keeps the `keep` highest of every row of `scores` [rows, width]; ties keep the earlier position.
torch::Tensor keep_top(const torch::Tensor& scores, int64_t keep) {
  const int64_t width = scores.size(-1);
  auto mask = torch::zeros_like(scores, torch::kBool);
  if (keep <= 0) return mask;
  if (keep >= width) return mask.fill_(true);
  // A stable descending sort puts the earlier of equal scores first.
  auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/true));
  mask.scatter_(-1, order.slice(-1, 0, keep), true);
  return mask;
}

torch::Tensor keep_nm(const torch::Tensor& scores, const MaskStructure& s) {
  const int64_t rows = scores.size(0), cols = scores.size(1);
  if (cols % s.m != 0) {
    throw InternalError("mask_structure", s.str() + " on width " + std::to_string(cols) + " (check_mask_structure first)");
  }
  return keep_top(scores.reshape({rows, cols / s.m, s.m}), s.n).reshape({rows, cols});
}

}  // namespace

MaskStructure parse_mask_structure(const std::string& text, const std::string& where) {
  const auto colon = text.find(':');
  MaskStructure s;
  const bool shape_ok = colon != std::string::npos && parse_count(text.substr(0, colon), &s.n) &&
                        parse_count(text.substr(colon + 1), &s.m);
  if (shape_ok && s.n == 0 && s.m == 0) return s;
  if (!shape_ok || s.n <= 0 || s.m <= s.n) {
    throw BadInput(where, "mask_structure '" + text + "' is not \"N:M\" with 0 < N < M (e.g. \"2:4\", \"4:8\") or \"0:0\" (unstructured)");
  }
  return s;
}

MaskStructureOption::MaskStructureOption(std::string text, std::string option)
    : text_(std::move(text)), option_(std::move(option)) {
  try {
    parsed_ = parse_mask_structure(text_, option_);
  } catch (const BadInput&) {
    // Reported by check() with the recipe location, or by get().
  }
}

const MaskStructure& MaskStructureOption::get() const {
  if (!parsed_) parse_mask_structure(text_, option_);  // throws, naming the option
  return *parsed_;
}

void check_mask_structure(const MaskStructure& s, const std::vector<const model::LinearSlot*>& slots,
                          const std::string& where) {
  if (s.unstructured()) return;
  for (const auto* slot : slots) {
    if (slot->in_features() % s.m != 0) {
      throw BadInput(where, "mask_structure " + s.str() + " needs an input width divisible by " + std::to_string(s.m) +
                                ", but '" + slot->name + "' has " + std::to_string(slot->in_features()) +
                                " inputs (add it to 'ignore')");
    }
  }
}

MaskStructure resolve_mask_structure(const std::string& text, double sparsity,
                                     const std::vector<const model::LinearSlot*>& slots, const std::string& pass_where) {
  const std::string where = pass_where + ".mask_structure";
  const MaskStructure s = parse_mask_structure(text, where);
  check_mask_structure(s, slots, where);
  if (!s.unstructured() && std::abs(s.sparsity() - sparsity) > 1e-9) {
    spdlog::warn("{}: sparsity {} is not used: mask_structure {} prunes {} of every {}", pass_where, sparsity, s.str(),
                 s.m - s.n, s.m);
  }
  return s;
}

torch::Tensor keep_by_score_per_row(const torch::Tensor& scores, double sparsity, const MaskStructure& s) {
  if (!s.unstructured()) return keep_nm(scores, s);
  const int64_t width = scores.size(1);
  return keep_top(scores, width - prune_count(sparsity, width));
}

}  // namespace compressor::passes
