#pragma once
#include <sstream>
#include <string>

#include <torch/torch.h>

namespace compressor::base {
// "[4096, 11008]": how error messages and reports print a tensor shape.
inline std::string shape_string(at::IntArrayRef shape) {
  std::ostringstream o;
  o << '[';
  for (size_t i = 0; i < shape.size(); ++i) o << (i ? ", " : "") << shape[i];
  o << ']';
  return o.str();
}
}  // namespace compressor::base
