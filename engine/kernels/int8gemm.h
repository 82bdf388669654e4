// Integer matrix kernels for prefill: a block of block-quantised weight rows times T activation rows
// quantised to 8 bits (ActivationQ8), with no float dequantisation of the weights.
#pragma once

// Naming as in activationq8.h: gemm<weight type><activation type>, so gemmQ4_0Q8 multiplies Q4_0 rows
// by ActivationQ8 rows.

#include "engine/format/ggmltype.h"
#include "engine/kernels/activationq8.h"

#include <cstddef>
#include <cstdint>

namespace engine {

// y[t * ldy + r] = row r of w times activation row t, for r < rows and t < T. w holds `rows` stored
// rows of n elements each, rowBytes apart; x holds the T activation rows back to back (one
// ActivationQ8::quantize of T * n values, n a multiple of the type's block size).
//
// Every output is defined by integers: per 32-element sub-block (16 for Q6_K's scale groups) the
// exact int32 sum I of the weights' unsigned quants times x's int8 quants, minus the format's offset
// (Q8_0 128 after flipping the sign bit, Q4_0 8, Q5_0 16, Q6_K 32) times the sum of x's quants; then,
// sub-block after sub-block in order, acc = fma(float(I), s_w * d_x, acc) with s_w the weights' scale
// of that sub-block (d, or d * sc for the k-quants), and for Q4_K/Q5_K acc = fma(-dmin * m, d_x *
// sum(q_x), acc). The vectorised kernels (AVX-512 VNNI; AVX2) and the scalar one do exactly these operations,
// so they give the same floats; each output depends only on its own row and activation row, never on
// how rows are split over threads.
//
// int8Gemm computes this for a block-quantised `type` (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K). It runs the active ISA
// level's code (cpudispatch.h; the type's TypeKernels entry): its vectorised kernel where it has one (vpdpbusd at the
// avx512 level, maddubs + madd at avx2), otherwise its scalar one; it throws std::invalid_argument for another type,
// when n is not whole blocks or x does not hold T rows of n.
void int8Gemm(GgmlType type, const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x, int T,
    float* y, int64_t ldy);
// Whether `type` has integer matrix kernels (the six block types above; not the float types).
bool hasInt8Gemm(GgmlType type);

// The scalar kernel of `type` (one of the six types above; throws std::invalid_argument otherwise): the
// reference the tests hold the vectorised kernels to, and what runs where none is compiled in.
void int8GemmScalar(GgmlType type, const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x,
    int T, float* y, int64_t ldy);

// Whether int8Gemm's kernels are vectorised at the active ISA level (false at the scalar level, e.g. with
// PLAYGROUND_ISA=scalar). Prefill uses them only then: the scalar kernel is much slower than dequantising to
// float and multiplying with Eigen.
bool int8GemmVectorised();

} // namespace engine
