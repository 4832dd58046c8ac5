#include "compressor/runtime/kernels/linear_blas.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/dequantize.h"
#include "compressor/runtime/kernels/linear_ref.h"

namespace compressor::runtime {

void linear_blas(const LinearWeight& w, const Matrix& x_in, Matrix& y) {
  if (x_in.cols != w.cols) {
    throw InternalError("linear_blas", w.name + ": input has " + std::to_string(x_in.cols) + " columns, weight " +
                                           std::to_string(w.cols));
  }
  const Matrix quantized_input = w.input_args ? quantize_input(w, x_in) : Matrix();
  const Matrix& x = w.input_args ? quantized_input : x_in;
  const auto n = static_cast<blasint>(x.rows), k = static_cast<blasint>(w.cols), rows = static_cast<blasint>(w.rows);
  y = Matrix(x.rows, w.rows);
  if (x.rows == 0) return;
  // The OpenMP threads split the weight's rows, each running OpenBLAS single-threaded on its share
  // (dequantizing its own tiles): OpenBLAS's own pool, woken per call, then spun beside the OpenMP
  // threads of the next op on the same cores, and the tiles were dequantized by one thread.
  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t share = (w.rows + threads - 1) / threads;
    const int64_t begin = std::min(w.rows, t * share), end = std::min(w.rows, begin + share);
    if (w.storage == WeightStorage::dense) {
      if (end > begin) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, static_cast<blasint>(end - begin), k, 1.0f,
                    x.data.data(), k, w.dense_data() + begin * w.cols, k, 0.0f, y.data.data() + begin, rows);
      }
    } else {
      FloatVector tile(static_cast<size_t>(std::min<int64_t>(kTileRows, end - begin) * w.cols));
      for (int64_t r0 = begin; r0 < end; r0 += kTileRows) {
        const int64_t r1 = std::min(r0 + kTileRows, end);
        dequantize_rows(w, r0, r1, tile.data());
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, static_cast<blasint>(r1 - r0), k, 1.0f, x.data.data(), k,
                    tile.data(), k, 0.0f, y.data.data() + r0, rows);
      }
    }
  }
  openblas_set_num_threads(blas_threads);
  if (!w.bias.empty()) {
    for (int64_t t = 0; t < y.rows; ++t) {
      float* yt = y.row(t);
      for (int64_t o = 0; o < w.rows; ++o) yt[o] += w.bias[o];
    }
  }
}

}  // namespace compressor::runtime
