#include "compressor/runtime/kernels/cuda/cuda_decoder.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "compressor/base/error.h"
#include "compressor/runtime/kernels/cuda/device_ops.h"

namespace compressor::runtime::cuda {

namespace {

DeviceBuffer upload_floats(const FloatVector& v) { return DeviceBuffer::upload(v.data(), v.size() * sizeof(float)); }

std::unique_ptr<DeviceLinear> upload(const std::optional<LinearWeight>& w) {
  return w ? std::make_unique<DeviceLinear>(*w) : nullptr;
}

float* floats(const DeviceBuffer& b) { return static_cast<float*>(b.get()); }

}  // namespace

CudaDecoder::CudaDecoder(const Decoder& model) : config_(model.config()) {
  if (config_.head_dim > kAttentionMaxHeadDim) {
    throw BadInput("cuda", "the CUDA attention runs heads of up to " + std::to_string(kAttentionMaxHeadDim) +
                               " dimensions; this model's have " + std::to_string(config_.head_dim));
  }
  try {
    embed_ = std::make_unique<DeviceLinear>(model.embedding());
    head_ = upload(model.lm_head());
    if (!model.positions().empty()) positions_ = upload_floats(model.positions());
    final_norm_weight_ = upload_floats(model.final_norm_weight());
    if (!model.final_norm_bias().empty()) final_norm_bias_ = upload_floats(model.final_norm_bias());
    for (const auto& l : model.layers()) {
      Layer d;
      d.norm1_weight = upload_floats(l.norm1_weight);
      d.norm2_weight = upload_floats(l.norm2_weight);
      if (!l.norm1_bias.empty()) d.norm1_bias = upload_floats(l.norm1_bias);
      if (!l.norm2_bias.empty()) d.norm2_bias = upload_floats(l.norm2_bias);
      d.qkv = upload(l.qkv);
      d.q = upload(l.q);
      d.k = upload(l.k);
      d.v = upload(l.v);
      d.out = std::make_unique<DeviceLinear>(l.out);
      d.gate = upload(l.gate);
      d.up = std::make_unique<DeviceLinear>(l.up);
      d.down = std::make_unique<DeviceLinear>(l.down);
      layers_.push_back(std::move(d));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw InternalError("cuda", std::string("uploading the model: ") + e.what());
  }
}

size_t CudaDecoder::device_bytes() const {
  size_t bytes = embed_->device_bytes() + (head_ ? head_->device_bytes() : 0) + positions_.bytes() +
                 final_norm_weight_.bytes() + final_norm_bias_.bytes();
  for (const auto& l : layers_) {
    bytes += l.norm1_weight.bytes() + l.norm1_bias.bytes() + l.norm2_weight.bytes() + l.norm2_bias.bytes();
    for (const auto* w : {&l.qkv, &l.q, &l.k, &l.v, &l.out, &l.gate, &l.up, &l.down}) {
      if (*w) bytes += (*w)->device_bytes();
    }
  }
  return bytes;
}

CudaDecoder::State CudaDecoder::new_state(int64_t capacity) const {
  State s;
  s.capacity = capacity;
  const auto bytes = static_cast<size_t>(config_.layers * config_.kv_heads * capacity * config_.head_dim) * sizeof(float);
  try {
    s.keys = DeviceBuffer(bytes);
    s.values = DeviceBuffer(bytes);
  } catch (const std::runtime_error& e) {
    throw InternalError("cuda", std::string("allocating the key/value cache: ") + e.what());
  }
  return s;
}

void CudaDecoder::check_tokens(const int32_t* tokens, int64_t n, const State& state) const {
  const auto& c = config_;
  if (n < 1) throw BadInput("runtime", "no tokens to run");
  if (state.length + n > state.capacity) {
    throw BadInput("runtime", std::to_string(state.length + n) + " positions exceed the cache of " +
                                  std::to_string(state.capacity));
  }
  if (state.length + n > c.max_positions) {
    throw BadInput("runtime", std::to_string(state.length + n) + " positions exceed the model's context of " +
                                  std::to_string(c.max_positions));
  }
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) {
      throw BadInput("runtime", "token " + std::to_string(tokens[t]) + " is outside the vocabulary of " +
                                    std::to_string(c.vocab_size));
    }
  }
}

void CudaDecoder::reserve(Workspace& w, int64_t n) const {
  if (n <= w.tokens) return;
  const auto& c = config_;
  const int64_t D = c.hidden_size, qd = c.heads * c.head_dim, kvd = c.kv_heads * c.head_dim;
  const auto f = [](int64_t count) { return static_cast<size_t>(count) * sizeof(float); };
  size_t linear_scratch = 0;
  for (const auto& l : layers_) {
    for (const auto* lin : {&l.qkv, &l.q, &l.k, &l.v, &l.out, &l.gate, &l.up, &l.down}) {
      if (*lin) linear_scratch = std::max(linear_scratch, (*lin)->scratch_bytes(n));
    }
  }
  w = Workspace{};  // the old buffers go before the new ones come
  w.ids = DeviceBuffer(static_cast<size_t>(n) * sizeof(int32_t));
  w.x = DeviceBuffer(f(n * D));
  w.h = DeviceBuffer(f(n * D));
  w.q = DeviceBuffer(f(n * qd));
  w.k = DeviceBuffer(f(n * kvd));
  w.v = DeviceBuffer(f(n * kvd));
  if (c.architecture == "gpt2") w.qkv = DeviceBuffer(f(n * 3 * D));
  w.attended = DeviceBuffer(f(n * qd));
  w.a = DeviceBuffer(f(n * c.intermediate_size));
  w.up = DeviceBuffer(f(n * c.intermediate_size));
  w.projected = DeviceBuffer(f(n * D));
  w.linear_scratch = DeviceBuffer(linear_scratch);
  w.tokens = n;
}

Matrix CudaDecoder::forward(const int32_t* tokens, int64_t n, State& state) const {
  check_tokens(tokens, n, state);
  const auto& c = config_;
  const bool gpt2 = c.architecture == "gpt2";
  const int64_t D = c.hidden_size;
  const int64_t I = c.intermediate_size, first = state.length;
  const auto f = [](int64_t count) { return static_cast<size_t>(count) * sizeof(float); };
  Matrix out(n, D);
  try {
    reserve(state.workspace, n);
    Workspace& w = state.workspace;
    copy_to_device(w.ids.get(), tokens, static_cast<size_t>(n) * sizeof(int32_t));
    const auto run = [&](const DeviceLinear& lin, const DeviceBuffer& in, const DeviceBuffer& y) {
      lin.forward(floats(in), n, floats(y), w.linear_scratch.get());
    };
    const auto norm = [&](float* x, const DeviceBuffer& weight, const DeviceBuffer& bias) {
      if (gpt2) {
        launch_layer_norm(x, n, D, floats(weight), floats(bias), c.norm_eps);
      } else {
        launch_rms_norm(x, n, D, floats(weight), c.norm_eps);
      }
    };

    launch_embed(embed_->view(), embed_->input_order(), static_cast<const int32_t*>(w.ids.get()), n,
                 positions_.get() ? floats(positions_) : nullptr, first, floats(w.x));
    const int64_t layer_cache = c.kv_heads * state.capacity * c.head_dim;
    for (size_t i = 0; i < layers_.size(); ++i) {
      const auto& l = layers_[i];
      copy_on_device(w.h.get(), w.x.get(), f(n * D));
      norm(floats(w.h), l.norm1_weight, l.norm1_bias);
      if (l.qkv) {
        run(*l.qkv, w.h, w.qkv);
        launch_copy_columns(floats(w.qkv), n, 3 * D, 0, D, floats(w.q));
        launch_copy_columns(floats(w.qkv), n, 3 * D, D, D, floats(w.k));
        launch_copy_columns(floats(w.qkv), n, 3 * D, 2 * D, D, floats(w.v));
      } else {
        run(*l.q, w.h, w.q);
        run(*l.k, w.h, w.k);
        run(*l.v, w.h, w.v);
      }
      if (!gpt2) {
        launch_rotary(floats(w.q), n, c.heads, c.head_dim, first, c.rope_theta);
        launch_rotary(floats(w.k), n, c.kv_heads, c.head_dim, first, c.rope_theta);
      }
      float* keys = floats(state.keys) + static_cast<int64_t>(i) * layer_cache;
      float* values = floats(state.values) + static_cast<int64_t>(i) * layer_cache;
      launch_store_kv(floats(w.k), floats(w.v), n, c.kv_heads, c.head_dim, state.capacity, first, keys, values);
      launch_attention(floats(w.q), n, c.heads, c.kv_heads, c.head_dim, state.capacity, first, keys, values,
                       floats(w.attended));
      run(*l.out, w.attended, w.projected);
      launch_add(floats(w.x), floats(w.projected), n * D);

      copy_on_device(w.h.get(), w.x.get(), f(n * D));
      norm(floats(w.h), l.norm2_weight, l.norm2_bias);
      if (l.gate) {
        run(*l.gate, w.h, w.a);
        run(*l.up, w.h, w.up);
        launch_silu_mul(floats(w.a), floats(w.up), n * I);
      } else {
        run(*l.up, w.h, w.a);
        if (c.gelu_tanh) {
          launch_gelu_tanh(floats(w.a), n * I);
        } else {
          launch_gelu_erf(floats(w.a), n * I);
        }
      }
      run(*l.down, w.a, w.projected);
      launch_add(floats(w.x), floats(w.projected), n * D);
    }
    norm(floats(w.x), final_norm_weight_, final_norm_bias_);
    copy_to_host(out.data.data(), w.x.get(), f(n * D));
  } catch (const Error&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw InternalError("cuda", std::string("forward: ") + e.what());
  }
  state.length += n;
  return out;
}

Matrix CudaDecoder::logits(const Matrix& hidden) const {
  return linear(head_ ? *head_ : *embed_, hidden);
}

}  // namespace compressor::runtime::cuda
