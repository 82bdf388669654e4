// Numeric kernels that read weights in their stored type: row dot products, row dequantisation, norms, RoPE.
#pragma once

#include "engine/format/ggmltype.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engine {

// An activation vector quantised to 8 bits per block of 32, as ggml's quantize_row_q8_0 does
// (d = max|x| / 127, q = round(x / d); d kept as float here, not f16). Decode quantises a matmul's
// input once and the block-quantised types then take integer dot products with it: the weights'
// 4-8 bit quants times these int8 values, summed exactly in int32 inside a block and scaled once.
struct QuantizedInput {
    static constexpr size_t kBlock = 32;
    std::vector<int8_t> q; // n values, block after block
    std::vector<float> d; // per block of 32: x ~ d * q
    std::vector<float> dsum; // per block of 32: d * sum(q), for the types with an offset or a min
    std::vector<int32_t> qsum16; // per 16 values: sum(q), for Q6_K's 16-value groups
    size_t n = 0;
    void quantize(const float* x, size_t n); // n a multiple of 32
};

// The one place a tensor type plugs in: how to dot one stored row with an F32 vector and how to
// turn one stored row into F32. Every matmul in the engine goes through these functions.
struct TypeKernels {
    // sum_i row[i] * x[i] for n elements (n a multiple of the type's block size)
    float (*dot)(const uint8_t* row, const float* x, size_t n);
    // out[i] = row[i] as float
    void (*dequantizeRow)(const uint8_t* row, float* out, size_t n);
    // sum_i row[i] * x[i] with x quantised (QuantizedInput of the same n). Null for the float types,
    // whose decode stays in float.
    float (*dotQ8)(const uint8_t* row, const QuantizedInput& x, size_t n) = nullptr;
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
