#include "compressor/runtime/kernels/threads.h"

#include <cblas.h>
#include <omp.h>

namespace compressor::runtime {

void set_kernel_threads(int n) {
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int kernel_threads() { return omp_get_max_threads(); }

int available_threads() { return omp_get_num_procs(); }

OpenMpThreadsScope::OpenMpThreadsScope(int n) : before_(omp_get_max_threads()) { omp_set_num_threads(n); }

OpenMpThreadsScope::~OpenMpThreadsScope() { omp_set_num_threads(before_); }

}  // namespace compressor::runtime
