// Numeric kernels that read weights in their stored type: row dot products, row dequantisation, norms, RoPE.
#pragma once

#include "ggmltype.h"

#include <cstddef>
#include <cstdint>

namespace engine {

// The one place a tensor type plugs in: how to dot one stored row with an F32 vector and how to
// turn one stored row into F32. Every matmul in the engine goes through these two functions.
struct TypeKernels {
    // sum_i row[i] * x[i] for n elements (n a multiple of the type's block size)
    float (*dot)(const uint8_t* row, const float* x, size_t n);
    // out[i] = row[i] as float
    void (*dequantizeRow)(const uint8_t* row, float* out, size_t n);
};

// Kernels for a supported type; throws std::invalid_argument naming the type otherwise.
const TypeKernels& typeKernels(GgmlType type);

// out = x / sqrt(mean(x^2) + eps) * weight, n elements.
void rmsNorm(float* out, const float* x, const float* weight, size_t n, float eps);

// Numerically stable in-place softmax over n values.
void softmax(float* x, size_t n);

inline float silu(float x) { return x / (1.0f + __builtin_expf(-x)); }

} // namespace engine
