// A decoder (GPT-2, Llama) executed on a CUDA device: the weights of a loaded runtime::Decoder
// uploaded as stored (quantized ones stay packed; DeviceLinear), the key/value cache in device
// memory, and every op of the forward on the device (device_ops.h), so one token's step moves no
// activations through the host. Same results as Decoder::forward within float32 rounding (tested
// against it on the golden tiny models); same errors for tokens or positions it cannot run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "compressor/runtime/decoder.h"
#include "compressor/runtime/kernels/cuda/cuda_linear.h"

namespace compressor::runtime::cuda {

class CudaDecoder {
 public:
  // Uploads every weight of `model` to device 0. InternalError for a CUDA failure (no device, out
  // of memory); BadInput as DeviceLinear for a scheme the device kernels do not execute.
  explicit CudaDecoder(const Decoder& model);

  const DecoderConfig& config() const { return config_; }
  // Device memory the weights hold.
  size_t device_bytes() const;

  // The device buffers a forward of up to `tokens` tokens works in. Kept with the sequence and
  // grown only when a call brings more tokens, so a decode step allocates (and cudaFree
  // synchronises) nothing.
  struct Workspace {
    int64_t tokens = 0;
    DeviceBuffer ids, x, h, q, k, v, qkv, attended, a, up, projected, linear_scratch;
  };
  // One sequence's keys and values, [layers, kv_heads, capacity, head_dim] each, on the device.
  struct State {
    DeviceBuffer keys, values;
    int64_t capacity = 0, length = 0;
    Workspace workspace;
  };
  State new_state(int64_t capacity) const;

  // Runs `n` tokens after the state's positions and returns their hidden states after the final
  // norm, copied to the host: [n, hidden_size]. BadInput as Decoder::forward.
  Matrix forward(const int32_t* tokens, int64_t n, State& state) const;
  // Logits [rows, vocab_size] of hidden states (the head on the device).
  Matrix logits(const Matrix& hidden) const;

 private:
  struct Layer {
    DeviceBuffer norm1_weight, norm1_bias, norm2_weight, norm2_bias;
    std::unique_ptr<DeviceLinear> qkv, q, k, v, out, gate, up, down;
  };
  void check_tokens(const int32_t* tokens, int64_t n, const State& state) const;
  // `w` big enough for n tokens (unchanged when it is).
  void reserve(Workspace& w, int64_t n) const;

  DecoderConfig config_;
  std::unique_ptr<DeviceLinear> embed_, head_;  // head_: an untied lm_head, else the embedding is the head
  DeviceBuffer positions_, final_norm_weight_, final_norm_bias_;
  std::vector<Layer> layers_;
};

}  // namespace compressor::runtime::cuda
