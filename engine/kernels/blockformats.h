// ggml's block-quantised weight formats (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K): layouts, dequantisation, float dots.
#pragma once

// Dot names give the weight type first, then the activation type, F32 when left out (ggml writes
// ggml_vec_dot_q4_0_q8_0 the same way): dotQ4_0 is a Q4_0 row times floats; dotQ4_0Q8 (activationq8.h) is
// a Q4_0 row times an 8-bit quantised activation.

#include <cstddef>
#include <cstdint>

namespace engine {

// Block layouts exactly as ggml-common.h declares them (packed, little-endian, f16 scales stored as raw
// IEEE half bits). Rows are arrays of these blocks, so a row of n elements is n / QK blocks.
constexpr int kQK8_0 = 32;
constexpr int kQK4_0 = 32;
constexpr int kQK5_0 = 32;
constexpr int kQK_K = 256; // super-block size of the k-quants
constexpr int kKScaleSize = 12; // K_SCALE_SIZE: 8 six-bit scales + 8 six-bit mins

// value[j] = qs[j] * d
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kQK8_0];
};

// value[j] = ((qs[j] & 0xF) - 8) * d and value[j + 16] = ((qs[j] >> 4) - 8) * d for j < 16
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[kQK4_0 / 2];
};

// Element j's 4-bit quant (0..15) of a Q4_0 block: the low nibbles hold elements 0..15, the high ones 16..31.
inline int q4Quant(const BlockQ4_0& b, int j) { return j < 16 ? b.qs[j] & 0x0F : b.qs[j - 16] >> 4; }

// As Q4_0 with a fifth bit per element: bit j of the little-endian uint32 qh is element j's bit 4;
// value = (q5 - 16) * d.
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[kQK5_0 / 2];
};

// 8 sub-blocks of 32: value = d * sc[s] * q - dmin * m[s], q 4-bit. scales packs the 6-bit sc/m
// (get_scale_min_k4); qs holds 64 elements per 32 bytes: low nibbles sub-block 2k, high nibbles 2k+1.
struct BlockQ4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[kKScaleSize];
    uint8_t qs[kQK_K / 2];
};

// As Q4_K with 5-bit q: qh[l] bit 2k is the high bit of element l of sub-block 2k, bit 2k+1 of 2k+1.
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[kKScaleSize];
    uint8_t qh[kQK_K / 8];
    uint8_t qs[kQK_K / 2];
};

// 16 sub-blocks of 16: value = d * scales[s] * (q - 32), q 6-bit split into 4 low bits (ql) and
// 2 high bits (qh); each half of 128 elements uses 64 bytes of ql and 32 of qh (see dequantizeRowQ6_K).
struct BlockQ6_K {
    uint8_t ql[kQK_K / 2];
    uint8_t qh[kQK_K / 4];
    int8_t scales[kQK_K / 16];
    uint16_t d;
};

static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K super-block (ggml's get_scale_min_k4):
// j < 4: low 6 bits of bytes j and j+4; j >= 4: a nibble of byte j+4 plus the top 2 bits of bytes j-4 / j.
inline void scaleMinK4(int j, const uint8_t* q, uint8_t& sc, uint8_t& m)
{
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Row dequantisation (n a multiple of the block size). The result equals ggml's dequantize_row_* bit
// for bit; for Q4_K/Q5_K that is fma(d*sc, q, -(dmin*m)), which is what ggml's `d1 * q - m1` compiles
// to with GCC or Clang on any FMA machine (both contract it), made explicit here so it does not
// depend on the compiler.
void dequantizeRowQ8_0(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ4_0(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ5_0(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ4_K(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ5_K(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ6_K(const uint8_t* row, float* out, size_t n);

// sum_i row[i] * x[i], x in F32, with the weights dequantised in registers (AVX-512/AVX2, scalar otherwise).
// Pure functions of their inputs: the same row and x give the same float on every thread.
float dotQ8_0(const uint8_t* row, const float* x, size_t n);
float dotQ4_0(const uint8_t* row, const float* x, size_t n);
float dotQ5_0(const uint8_t* row, const float* x, size_t n);
float dotQ4_K(const uint8_t* row, const float* x, size_t n);
float dotQ5_K(const uint8_t* row, const float* x, size_t n);
float dotQ6_K(const uint8_t* row, const float* x, size_t n);

} // namespace engine
