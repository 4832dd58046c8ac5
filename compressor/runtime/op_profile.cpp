#include "compressor/runtime/op_profile.h"

namespace compressor::runtime {

const char* op_name(Op op) {
  switch (op) {
    case Op::embedding: return "embedding";
    case Op::norm: return "norm";
    case Op::qkv: return "q/k/v projections";
    case Op::rotary: return "rotary";
    case Op::attention: return "attention";
    case Op::attn_out: return "attention output projection";
    case Op::mlp_in: return "mlp up (and gate) projections";
    case Op::activation: return "activation";
    case Op::mlp_down: return "mlp down projection";
    case Op::residual: return "residual and slicing";
    case Op::head: return "vocabulary head";
    case Op::count: break;
  }
  return "?";
}

double OpProfile::total_seconds() const {
  double t = 0;
  for (double s : seconds) t += s;
  return t;
}

OpProfile& OpProfile::operator+=(const OpProfile& other) {
  for (int i = 0; i < kOpCount; ++i) {
    seconds[i] += other.seconds[i];
    calls[i] += other.calls[i];
  }
  return *this;
}

}  // namespace compressor::runtime
