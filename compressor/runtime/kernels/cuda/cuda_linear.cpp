#include "compressor/runtime/kernels/cuda/cuda_linear.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "compressor/base/error.h"
#include "compressor/quant/packing.h"

namespace compressor::runtime::cuda {

namespace {

// CUDA failures are the machine's, not the input's: InternalError naming the weight.
template <class F>
auto on_device(const std::string& name, F&& f) {
  try {
    return f();
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const Error*>(&e)) throw;
    throw InternalError(name, std::string("CUDA: ") + e.what());
  }
}

template <class T>
DeviceBuffer upload_vector(const std::vector<T>& v) {
  return DeviceBuffer::upload(v.data(), v.size() * sizeof(T));
}

InputView input_view(const LinearWeight& w) {
  InputView in;
  if (!w.input_args) return in;
  const auto& a = *w.input_args;
  in.num_bits = a.num_bits;
  in.symmetric = a.symmetric;
  const bool integer = a.type == quant::QuantType::integer;
  if (w.input_qparams) {
    in.scheme = integer ? InputScheme::int_static : InputScheme::fp8_static;
    in.static_scale = w.input_qparams->scale;
    in.static_zero_point = integer ? w.input_qparams->zero_point : 0;
    return in;
  }
  if (!a.dynamic || (a.strategy != quant::Strategy::token && a.strategy != quant::Strategy::tensor)) {
    throw BadInput(w.name, "activation scheme " + quant::encoding_name(a) +
                               " cannot be executed (dynamic token or tensor, or static per tensor)");
  }
  if (!integer && a.num_bits != 8) throw BadInput(w.name, "FP8 activations must have 8 bits");
  const bool token = a.strategy == quant::Strategy::token;
  in.scheme = integer ? (token ? InputScheme::int_token : InputScheme::int_tensor)
                      : (token ? InputScheme::fp8_token : InputScheme::fp8_tensor);
  return in;
}

}  // namespace

DeviceBuffer::DeviceBuffer(size_t bytes) : ptr_(device_alloc(bytes)), bytes_(bytes) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    device_free(ptr_);
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

DeviceBuffer DeviceBuffer::upload(const void* host, size_t bytes) {
  DeviceBuffer b(bytes);
  copy_to_device(b.get(), host, bytes);
  return b;
}

DeviceLinear::DeviceLinear(const LinearWeight& w) : name_(w.name) {
  view_.rows = w.rows;
  view_.cols = w.cols;
  input_ = input_view(w);
  const auto elements = static_cast<size_t>(w.rows * w.cols);
  on_device(name_, [&] {
    switch (w.storage) {
      case WeightStorage::dense:
        view_.kind = ElementKind::f32;
        data_ = DeviceBuffer::upload(w.dense_data(), elements * sizeof(float));
        break;
      case WeightStorage::dense16:
        view_.kind = w.bf16 ? ElementKind::bf16 : ElementKind::f16;
        data_ = DeviceBuffer::upload(w.half, elements * sizeof(uint16_t));
        break;
      case WeightStorage::packed:
        view_.kind = ElementKind::packed;
        view_.num_bits = w.args.num_bits;
        view_.words_per_row = quant::packed_words(w.cols, w.args.num_bits);
        data_ = DeviceBuffer::upload(w.packed, static_cast<size_t>(w.rows * view_.words_per_row) * sizeof(int32_t));
        break;
      case WeightStorage::packed_2of4: {  // the device kernels have no 2:4 path: the dense codes go up
        LinearWeight dense = w;
        dense.expand_2of4();
        view_.kind = ElementKind::packed;
        view_.num_bits = w.args.num_bits;
        view_.words_per_row = quant::packed_words(w.cols, w.args.num_bits);
        data_ = DeviceBuffer::upload(dense.packed, static_cast<size_t>(w.rows * view_.words_per_row) * sizeof(int32_t));
        break;
      }
      case WeightStorage::int_bytes:
        view_.kind = ElementKind::int_bytes;
        view_.num_bits = w.args.num_bits;
        data_ = DeviceBuffer::upload(w.bytes, elements);
        break;
      case WeightStorage::fp8_bytes:
        view_.kind = ElementKind::fp8_e4m3;
        data_ = DeviceBuffer::upload(w.bytes, elements);
        break;
    }
    if (w.quantized()) {
      view_.scale_rows = w.layout.scale_rows;
      view_.scale_cols = w.layout.scale_cols;
      view_.group_size = w.layout.group_size;
      scale_ = upload_vector(w.scale);
      if (!w.zero_point.empty()) zero_point_ = upload_vector(w.zero_point);
      if (w.layout.g_idx) g_idx_ = upload_vector(*w.layout.g_idx);
    }
    if (!w.input_order.empty()) input_order_ = upload_vector(w.input_order);
    if (!w.bias.empty()) bias_ = DeviceBuffer::upload(w.bias.data(), w.bias.size() * sizeof(float));
    if (!w.code_sums.empty()) code_sums_ = upload_vector(w.code_sums);
    return 0;
  });
  view_.data = data_.get();
  view_.scale = static_cast<const float*>(scale_.get());
  view_.zero_point = static_cast<const int32_t*>(zero_point_.get());
  view_.g_idx = static_cast<const int32_t*>(g_idx_.get());
  view_.bias = static_cast<const float*>(bias_.get());
  view_.code_sums = static_cast<const int32_t*>(code_sums_.get());
  input_.input_order = static_cast<const int32_t*>(input_order_.get());
}

size_t DeviceLinear::device_bytes() const {
  return data_.bytes() + scale_.bytes() + zero_point_.bytes() + g_idx_.bytes() + input_order_.bytes() + bias_.bytes() +
         code_sums_.bytes();
}

void DeviceLinear::forward(const float* x, int64_t n, float* y, void* scratch) const {
  on_device(name_, [&] {
    launch_linear(view_, input_, x, n, y, scratch);
    return 0;
  });
}

void DeviceLinear::dequantize(float* out) const {
  on_device(name_, [&] {
    launch_dequantize(view_, out);
    return 0;
  });
}

Matrix linear(const DeviceLinear& w, const Matrix& x) {
  if (x.cols != w.cols()) {
    throw InternalError("cuda::linear", w.name() + ": input has " + std::to_string(x.cols) + " columns, weight " +
                                            std::to_string(w.cols()));
  }
  Matrix y(x.rows, w.rows());
  on_device(w.name(), [&] {
    const auto in = DeviceBuffer::upload(x.data.data(), x.data.size() * sizeof(float));
    DeviceBuffer out(y.data.size() * sizeof(float));
    DeviceBuffer scratch(w.scratch_bytes(x.rows));
    w.forward(static_cast<const float*>(in.get()), x.rows, static_cast<float*>(out.get()), scratch.get());
    copy_to_host(y.data.data(), out.get(), out.bytes());
    return 0;
  });
  return y;
}

Matrix dequantize(const DeviceLinear& w) {
  Matrix out(w.rows(), w.cols());
  on_device(w.name(), [&] {
    DeviceBuffer d(out.data.size() * sizeof(float));
    w.dequantize(static_cast<float*>(d.get()));
    copy_to_host(out.data.data(), d.get(), d.bytes());
    return 0;
  });
  return out;
}

}  // namespace compressor::runtime::cuda
