// `--device cpu|cuda` (eval, generate): which engine runs the runtime's forward.
#pragma once

#include <string>

namespace compressor::cli {

// BadInput naming --device when it asks for a device this build or machine does not have: cuda
// without CUDA kernels (nvcc not found when it was configured) or without a GPU answering.
void check_device(const std::string& device);

}  // namespace compressor::cli
