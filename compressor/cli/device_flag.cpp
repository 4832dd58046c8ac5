#include "compressor/cli/device_flag.h"

#include "compressor/base/error.h"
#if defined(COMPRESSOR_HAVE_CUDA)
#include "compressor/runtime/kernels/cuda/device_kernels.h"
#endif

namespace compressor::cli {

void check_device(const std::string& device) {
  if (device == "cpu") return;
  if (device != "cuda") throw BadInput("--device", "'" + device + "' is not a device (cpu, cuda)");
#if defined(COMPRESSOR_HAVE_CUDA)
  if (runtime::cuda::device_count() == 0) {
    throw BadInput("--device", "cuda: no CUDA device answers on this machine (no GPU, or no driver)");
  }
#else
  throw BadInput("--device", "cuda: this build has no CUDA kernels (nvcc was not found when it was configured)");
#endif
}

}  // namespace compressor::cli
