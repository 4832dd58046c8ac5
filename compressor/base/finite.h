// Whether a float32 tensor holds only finite values, read in place: loaders check every weight,
// and torch::isfinite(w).all() would first build a bool tensor the size of the weight.
#pragma once

#include <torch/torch.h>

namespace compressor::base {

// True when no element is NaN or ±Inf. `t` must be float32; a non-contiguous tensor is made
// contiguous first (a copy), a contiguous one is only read.
bool all_finite(const torch::Tensor& t);

}  // namespace compressor::base
