// The 8-bit activation quantiser (ActivationQ8) and the integer dots of block-quantised weight rows with it.
#pragma once

// Naming, as in blockformats.h: dot<weight type><activation type>, so dotQ4_0Q8 is a Q4_0 weight row times an
// ActivationQ8 (ggml's ggml_vec_dot_q4_0_q8_0).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engine {

// An activation vector quantised to 8 bits per block of 32, as ggml's quantize_row_q8_0 does
// (d = max|x| / 127, q = round(x / d); d kept as float here, not f16). Decode quantises a matmul's
// input once and the block-quantised types then take integer dot products with it: the weights'
// 4-8 bit quants times these int8 values, summed exactly in int32 inside a block and scaled once.
struct ActivationQ8 {
    static constexpr size_t kBlock = 32;
    std::vector<int8_t> q; // n values, block after block
    std::vector<float> d; // per block of 32: x ~ d * q
    std::vector<float> dsum; // per block of 32: d * sum(q), for the types with an offset or a min
    std::vector<int32_t> qsum16; // per 16 values: sum(q), for Q6_K's 16-value groups
    size_t n = 0;
    void quantize(const float* x, size_t n); // n a multiple of 32
    // quantize in parts, for several threads: resize(n) sizes the buffers for n values (a multiple of 32), then
    // quantizeRange(x, begin, end) fills values [begin, end) of x (multiples of 32). Every block of 32 is computed
    // on its own by quantize's arithmetic, so ranges covering [0, n) give exactly what quantize(x, n) gives, and
    // disjoint ranges may be filled at once.
    void resize(size_t n);
    void quantizeRange(const float* x, size_t begin, size_t end);
};

// The block formats' dots against an ActivationQ8 (same n): integer products summed exactly inside
// each block, then scaled (AVX-512 VNNI where compiled in, else AVX-512 BW, else scalar). They differ
// from the float dots of blockformats.h by the activation's rounding only; the scalar versions
// (dot*Q8Scalar) are the reference the tests hold the SIMD ones to.
float dotQ8_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ6_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ8_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ6_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);

} // namespace engine
