#include "passes/pruning/nm.h"

#include "compressor/error.h"
#include "passes/pruning/mask.h"

namespace compressor::passes {

namespace {

class NmPass final : public pipeline::Pass {
 public:
  explicit NmPass(const recipe::OptionValues& o) : n_(o.get_int("n")), m_(o.get_int("m")) {}
  std::string_view name() const override { return "nm"; }

  void check(const model::Model&, const std::vector<const model::LinearSlot*>& slots,
             const recipe::Location& where) const override {
    if (n_ >= m_) {
      throw BadInput(where.str() + ".n", "n must be smaller than m, got " + std::to_string(n_) + ":" + std::to_string(m_));
    }
    for (const auto* s : slots) {
      if (s->in_features() % m_ != 0) {
        throw BadInput(where.str() + ".m", std::to_string(n_) + ":" + std::to_string(m_) + " sparsity needs an input width divisible by " +
                                               std::to_string(m_) + ", but '" + s->name + "' has " +
                                               std::to_string(s->in_features()) + " inputs (add it to 'ignore')");
      }
    }
  }

  void apply(model::Model&, const std::vector<model::LinearSlot*>& slots, pipeline::Context&) override {
    for (auto* s : slots) nm_prune(*s, n_, m_);
  }

 private:
  int64_t n_, m_;
};

}  // namespace

void nm_prune(model::LinearSlot& slot, int64_t n, int64_t m) {
  torch::NoGradGuard no_grad;
  const int64_t rows = slot.out_features(), cols = slot.in_features();
  if (cols % m != 0 || n >= m) {
    throw BadInput(slot.name, "cannot apply " + std::to_string(n) + ":" + std::to_string(m) + " to width " + std::to_string(cols));
  }
  auto groups = slot.weight.detach().abs().reshape({rows, cols / m, m});
  // A stable descending sort keeps the earlier of equal weights, so masks are reproducible.
  auto order = std::get<1>(groups.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/true));
  auto keep = torch::zeros_like(groups, torch::kBool);
  keep.scatter_(-1, order.slice(-1, 0, n), true);
  apply_keep_mask(slot, keep.reshape({rows, cols}));
}

pipeline::PassInfo nm_pass_info() {
  pipeline::PassInfo info;
  info.name = "nm";
  info.summary = "N:M semi-structured sparsity by magnitude (keep n of every m weights along the input)";
  info.options = {
      recipe::int_option("n", "weights kept per group", 2, 1, 64),
      recipe::int_option("m", "group size along the input dimension", 4, 2, 64),
  };
  info.create = [](const recipe::OptionValues& o) { return std::make_unique<NmPass>(o); };
  return info;
}

}  // namespace compressor::passes
