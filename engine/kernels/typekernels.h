// The per-tensor-type kernel table (row dots, row dequantisation) and the forward pass's RMS norm, softmax, SiLU.
#pragma once

#include "engine/format/ggmltype.h"
#include "engine/kernels/activationq8.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engine {

// One of prefill's integer matrix kernels (int8gemm.h) as an ISA level defines it: the arguments of int8Gemm after the
// type, shapes already checked, plus scratch of int8GemmWorkspaceBytes(n, T) bytes (cpudispatch.h; any alignment of 4).
using Int8GemmKernel = void (*)(const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x, int T,
    float* y, int64_t ldy, void* workspace);

// The one place a tensor type plugs in: how to dot one stored row with an F32 vector (and, for the
// block types, with an ActivationQ8), how to turn one stored row into F32 and, for the block types, how to
// multiply a block of rows by quantised activation rows (prefill). Every matmul in the engine goes through
// these functions.
struct TypeKernels {
    // sum_i row[i] * x[i] for n elements (n a multiple of the type's block size)
    float (*dot)(const uint8_t* row, const float* x, size_t n);
    // out[i] = row[i] as float
    void (*dequantizeRow)(const uint8_t* row, float* out, size_t n);
    // sum_i row[i] * x[i] with x quantised (ActivationQ8 of the same n). Null for the float types,
    // whose decode stays in float.
    float (*dotQ8)(const uint8_t* row, const ActivationQ8& x, size_t n) = nullptr;
    // Prefill's integer matrix kernel for the type (reached through int8gemm.h): the vectorised one, null where
    // the ISA level has none (scalar), and the scalar reference every level has. Both null for the float types.
    Int8GemmKernel int8Gemm = nullptr;
    Int8GemmKernel int8GemmScalar = nullptr;
    // Decode's dotQ8 over a row repacked in groups (q4groups.h; WeightMatrix::decodeRows): Q4_0 on the avx512 level,
    // null elsewhere (models then keep the stored layout only).
    float (*dotQ8Groups)(const uint8_t* row, const ActivationQ8& x, size_t n) = nullptr;
};

// Kernels for a supported type; throws std::invalid_argument naming the type otherwise.
const TypeKernels& typeKernels(GgmlType type);

// out = x / sqrt(mean(x^2) + eps) * weight, n elements.
void rmsNorm(float* out, const float* x, const float* weight, size_t n, float eps);

// Numerically stable in-place softmax over n values.
void softmax(float* x, size_t n);
// The exponential softmax uses, on x <= 0 (std::exp where no SIMD path is compiled in); for tests.
void expNonPositiveForTest(const float* x, float* out, size_t n);

// out[i] = silu(g[i]) · u[i] with silu(x) = x / (1 + e^-x): the feed-forward's gate, n values.
void siluMul(const float* g, const float* u, float* out, size_t n);

} // namespace engine
