#include "compressor/runtime/kernels/threads.h"

#include <cblas.h>
#include <omp.h>

namespace compressor::runtime {

void set_kernel_threads(int n) {
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int kernel_threads() { return omp_get_max_threads(); }

}  // namespace compressor::runtime
