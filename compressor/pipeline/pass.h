// The pass interface and the context passes run in.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compressor/model/model.h"
#include "compressor/recipe/plan.h"

namespace compressor::pipeline {

class Context;

// A compression pass. Built by the registry from resolved options; `check` runs for every pass
// before any pass touches a weight, so shape problems (2:4 on a width not divisible by 4) are
// reported up front with the recipe location and the tensor name.
class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  virtual void check(const model::Model& model, const std::vector<const model::LinearSlot*>& slots,
                     const recipe::Location& where) const {
    (void)model;
    (void)slots;
    (void)where;
  }
  virtual void apply(model::Model& model, const std::vector<model::LinearSlot*>& slots, Context& ctx) = 0;
};

}  // namespace compressor::pipeline
