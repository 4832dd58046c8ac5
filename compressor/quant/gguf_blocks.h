// Scalar reference dequantization of ggml block formats to float32. One function per type;
// each reads `n` values (a multiple of the type's block size, checked by the caller) from `src`
// and writes them to `dst`. The block layouts are documented beside each function in
// gguf_blocks.cpp and in docs/gguf.md. These are the definition of correct: the arithmetic is
// done in float32 in the same order as ggml's reference code (ggml-quants.c) and gguf-py's
// quants.py, so results are bit-exact with both.
#pragma once

#include <cstddef>
#include <cstdint>

namespace compressor::quant::gguf {

constexpr std::size_t kQK = 32;    // values per block of the Q4_0..Q8_0 family
constexpr std::size_t kQKK = 256;  // values per super-block of the K-quants

void dequantize_f32(const uint8_t* src, float* dst, std::size_t n);
void dequantize_f16(const uint8_t* src, float* dst, std::size_t n);
void dequantize_bf16(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q8_0(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q4_0(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q4_1(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q5_0(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q5_1(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q4_k(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q5_k(const uint8_t* src, float* dst, std::size_t n);
void dequantize_q6_k(const uint8_t* src, float* dst, std::size_t n);

// One block from codes that are already on the type's grid and the scale as float16 bits: the
// exact inverse of the dequantizers above (what an export writes when a scheme's grid is a GGUF
// type's). Q4_0: 32 codes in [-8, 7], 18 bytes; Q8_0: 32 codes in [-128, 127], 34 bytes.
void encode_q4_0_block(const int8_t* codes, uint16_t d, uint8_t* dst);
void encode_q8_0_block(const int8_t* codes, uint16_t d, uint8_t* dst);

}  // namespace compressor::quant::gguf
