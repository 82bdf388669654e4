// The per-tensor-type kernel table (row dots, row dequantisation) and the forward pass's RMS norm, softmax, SiLU.
#pragma once

#include "engine/format/ggmltype.h"
#include "engine/kernels/activationq8.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engine {

// The one place a tensor type plugs in: how to dot one stored row with an F32 vector (and, for the
// block types, with an ActivationQ8) and how to turn one stored row into F32. Every matmul in the
// engine goes through these functions.
struct TypeKernels {
    // sum_i row[i] * x[i] for n elements (n a multiple of the type's block size)
    float (*dot)(const uint8_t* row, const float* x, size_t n);
    // out[i] = row[i] as float
    void (*dequantizeRow)(const uint8_t* row, float* out, size_t n);
    // sum_i row[i] * x[i] with x quantised (ActivationQ8 of the same n). Null for the float types,
    // whose decode stays in float.
    float (*dotQ8)(const uint8_t* row, const ActivationQ8& x, size_t n) = nullptr;
};

// Kernels for a supported type; throws std::invalid_argument naming the type otherwise.
const TypeKernels& typeKernels(GgmlType type);

// out = x / sqrt(mean(x^2) + eps) * weight, n elements.
void rmsNorm(float* out, const float* x, const float* weight, size_t n, float eps);

// Numerically stable in-place softmax over n values.
void softmax(float* x, size_t n);
// The exponential softmax uses, on x <= 0 (std::exp where no SIMD path is compiled in); for tests.
void expNonPositiveForTest(const float* x, float* out, size_t n);

inline float silu(float x) { return x / (1.0f + __builtin_expf(-x)); }

} // namespace engine
