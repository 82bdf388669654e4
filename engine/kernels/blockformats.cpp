// Dequantisation and float dots of the block formats, compiled once per ISA level (see isakernels.h).
#include "engine/kernels/isakernels.h"

#include "engine/format/ggmltype.h"
#include "engine/kernels/blockformats.h"
#include "engine/kernels/blockunpack.h"

#include <cmath>
#include <cstring>

namespace engine::PLAYGROUND_ISA_NS {

namespace {

// The portable dot product: dequantise one block into a buffer, then multiply-add. Correct by
// construction (it shares the dequantiser), used where no SIMD path is compiled in.
template <int QK, size_t BlockBytes, void (*Dequantize)(const uint8_t*, float*, size_t)>
[[maybe_unused]] float dotByBlocks(const uint8_t* row, const float* x, size_t n)
{
    float buf[QK];
    float sum = 0.0f;
    for (size_t b = 0; b < n / QK; ++b) {
        Dequantize(row + b * BlockBytes, buf, QK);
        float s = 0.0f;
        for (int j = 0; j < QK; ++j)
            s += buf[j] * x[b * QK + size_t(j)];
        sum += s;
    }
    return sum;
}

#if ENGINE_QUANT_AVX512
inline __m512 i8x16ToPs(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }
inline __m512 u8x16ToPs(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v)); }
inline __m128i lo128(__m256i v) { return _mm256_castsi256_si128(v); }
inline __m128i hi128(__m256i v) { return _mm256_extracti128_si256(v, 1); }
#endif

} // namespace

#if ENGINE_QUANT_AVX512
namespace {
// One Q4_K/Q5_K sub-block pair: 32 bytes of 4-bit (or 5-bit after adding the high bits) quants in
// `lo` (sub-block s) and `hi` (sub-block s+1). Adds q*x scaled by d*sc to accQ and sum(x) scaled by
// dmin*m to accM, so the row's dot is reduce(accQ) - reduce(accM).
inline void kQuantPair(__m256i lo, __m256i hi, const float* xs, const float dsc[2], const float dm[2], __m512& accQ0,
    __m512& accQ1, __m512& accM)
{
    const __m512 x0 = _mm512_loadu_ps(xs), x1 = _mm512_loadu_ps(xs + 16);
    const __m512 x2 = _mm512_loadu_ps(xs + 32), x3 = _mm512_loadu_ps(xs + 48);
    __m512 t0 = _mm512_mul_ps(u8x16ToPs(lo128(lo)), x0);
    t0 = _mm512_fmadd_ps(u8x16ToPs(hi128(lo)), x1, t0);
    __m512 t1 = _mm512_mul_ps(u8x16ToPs(lo128(hi)), x2);
    t1 = _mm512_fmadd_ps(u8x16ToPs(hi128(hi)), x3, t1);
    accQ0 = _mm512_fmadd_ps(t0, _mm512_set1_ps(dsc[0]), accQ0);
    accQ1 = _mm512_fmadd_ps(t1, _mm512_set1_ps(dsc[1]), accQ1);
    accM = _mm512_fmadd_ps(_mm512_add_ps(x0, x1), _mm512_set1_ps(dm[0]), accM);
    accM = _mm512_fmadd_ps(_mm512_add_ps(x2, x3), _mm512_set1_ps(dm[1]), accM);
}

// The 8 sub-block scales d*sc and mins dmin*m of a Q4_K/Q5_K super-block.
inline void kScales(uint16_t dHalf, uint16_t dminHalf, const uint8_t* scales, float dsc[8], float dm[8])
{
    const float d = f16ToF32(dHalf), dmin = f16ToF32(dminHalf);
    for (int s = 0; s < 8; ++s) {
        uint8_t sc, m;
        scaleMinK4(s, scales, sc, m);
        dsc[s] = d * sc;
        dm[s] = dmin * m;
    }
}
} // namespace
#endif

// ---------------------------------------------------------------------------------------------
// Dequantisation: the loops of ggml-quants.c dequantize_row_*, element order and arithmetic kept.

void dequantizeRowQ8_0(const uint8_t* row, float* out, size_t n)
{
    const BlockQ8_0* blocks = blocksOf<BlockQ8_0>(row);
    for (size_t b = 0; b < n / kQK8_0; ++b) {
        const float d = f16ToF32(blocks[b].d);
        for (int j = 0; j < kQK8_0; ++j)
            out[b * kQK8_0 + size_t(j)] = float(blocks[b].qs[j]) * d;
    }
}

void dequantizeRowQ4_0(const uint8_t* row, float* out, size_t n)
{
    const BlockQ4_0* blocks = blocksOf<BlockQ4_0>(row);
    for (size_t b = 0; b < n / kQK4_0; ++b) {
        const float d = f16ToF32(blocks[b].d);
        float* y = out + b * kQK4_0;
        for (int j = 0; j < kQK4_0 / 2; ++j) {
            y[j] = float((blocks[b].qs[j] & 0x0F) - 8) * d;
            y[j + kQK4_0 / 2] = float((blocks[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantizeRowQ5_0(const uint8_t* row, float* out, size_t n)
{
    const BlockQ5_0* blocks = blocksOf<BlockQ5_0>(row);
    for (size_t b = 0; b < n / kQK5_0; ++b) {
        const float d = f16ToF32(blocks[b].d);
        uint32_t qh;
        std::memcpy(&qh, blocks[b].qh, 4);
        float* y = out + b * kQK5_0;
        for (int j = 0; j < kQK5_0 / 2; ++j) {
            const int h0 = int((qh >> j) << 4) & 0x10;
            const int h1 = int(qh >> (j + 12)) & 0x10;
            y[j] = float(((blocks[b].qs[j] & 0x0F) | h0) - 16) * d;
            y[j + kQK5_0 / 2] = float(((blocks[b].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void dequantizeRowQ4_K(const uint8_t* row, float* out, size_t n)
{
    const BlockQ4_K* blocks = blocksOf<BlockQ4_K>(row);
    float* y = out;
#if ENGINE_QUANT_AVX512
    // Same arithmetic as the scalar loop: one fmsub per element, d*sc and dmin*m rounded first.
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (size_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
        float dsc[8], dm[8];
        kScales(blocks[b].d, blocks[b].dmin, blocks[b].scales, dsc, dm);
        for (int p = 0; p < 4; ++p) {
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[b].qs + 32 * p));
            const __m256i nib[2] = { _mm256_and_si256(raw, low4), _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4) };
            for (int s = 0; s < 2; ++s) {
                const __m512 d = _mm512_set1_ps(dsc[2 * p + s]), m = _mm512_set1_ps(dm[2 * p + s]);
                float* ys = y + 64 * p + 32 * s;
                _mm512_storeu_ps(ys, _mm512_fmsub_ps(d, u8x16ToPs(lo128(nib[s])), m));
                _mm512_storeu_ps(ys + 16, _mm512_fmsub_ps(d, u8x16ToPs(hi128(nib[s])), m));
            }
        }
    }
#else
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ4_K& blk = blocks[b];
        const float d = f16ToF32(blk.d);
        const float dmin = f16ToF32(blk.dmin);
        const uint8_t* q = blk.qs;
        for (int s = 0; s < 8; s += 2) {
            uint8_t sc, m;
            scaleMinK4(s, blk.scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            scaleMinK4(s + 1, blk.scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l)
                *y++ = std::fma(d1, float(q[l] & 0xF), -m1);
            for (int l = 0; l < 32; ++l)
                *y++ = std::fma(d2, float(q[l] >> 4), -m2);
            q += 32;
        }
    }
#endif
}

void dequantizeRowQ5_K(const uint8_t* row, float* out, size_t n)
{
    const BlockQ5_K* blocks = blocksOf<BlockQ5_K>(row);
    float* y = out;
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ5_K& blk = blocks[b];
        const float d = f16ToF32(blk.d);
        const float dmin = f16ToF32(blk.dmin);
        const uint8_t* ql = blk.qs;
        uint8_t u1 = 1, u2 = 2;
        for (int s = 0; s < 8; s += 2) {
            uint8_t sc, m;
            scaleMinK4(s, blk.scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            scaleMinK4(s + 1, blk.scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l)
                *y++ = std::fma(d1, float((ql[l] & 0xF) + (blk.qh[l] & u1 ? 16 : 0)), -m1);
            for (int l = 0; l < 32; ++l)
                *y++ = std::fma(d2, float((ql[l] >> 4) + (blk.qh[l] & u2 ? 16 : 0)), -m2);
            ql += 32;
            u1 = uint8_t(u1 << 2);
            u2 = uint8_t(u2 << 2);
        }
    }
}

void dequantizeRowQ6_K(const uint8_t* row, float* out, size_t n)
{
    const BlockQ6_K* blocks = blocksOf<BlockQ6_K>(row);
    float* y = out;
#if ENGINE_QUANT_AVX512
    // Same arithmetic as the scalar loop: (d * sc) rounded, then times q.
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const float d = f16ToF32(blocks[b].d);
        for (int half = 0; half < 2; ++half, y += 128) {
            __m256i q[4];
            unpackQ6Half(blocks[b], half, q);
            const int8_t* sc = blocks[b].scales + 8 * half;
            for (int k = 0; k < 4; ++k) {
                _mm512_storeu_ps(
                    y + 32 * k, _mm512_mul_ps(_mm512_set1_ps(d * float(sc[2 * k])), i8x16ToPs(lo128(q[k]))));
                _mm512_storeu_ps(
                    y + 32 * k + 16, _mm512_mul_ps(_mm512_set1_ps(d * float(sc[2 * k + 1])), i8x16ToPs(hi128(q[k]))));
            }
        }
    }
#else
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ6_K& blk = blocks[b];
        const float d = f16ToF32(blk.d);
        const uint8_t* ql = blk.ql;
        const uint8_t* qh = blk.qh;
        const int8_t* sc = blk.scales;
        // Each half of 128: byte l of ql/qh carries elements l, l+32, l+64, l+96 (low nibble of ql[l],
        // low nibble of ql[l+32], high nibbles of both; qh bits 0-1, 2-3, 4-5, 6-7).
        for (int half = 0; half < 2; ++half) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                // ggml: d * sc[is] * q, i.e. (d * sc) * q with two roundings.
                y[l] = d * float(sc[is + 0]) * float(q1);
                y[l + 32] = d * float(sc[is + 2]) * float(q2);
                y[l + 64] = d * float(sc[is + 4]) * float(q3);
                y[l + 96] = d * float(sc[is + 6]) * float(q4);
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
#endif
}

// ---------------------------------------------------------------------------------------------
// Dot products. The SIMD paths widen the quants to float in registers and FMA them against x: the
// weights are read once, front to back, so decode runs near the memory bandwidth. Per-(sub-)block
// partial sums are scaled once, which is why the result is not bit-identical to the dequantised
// dot (it agrees to float rounding; tests bound the difference).

float dotQ8_0(const uint8_t* row, const float* x, size_t n)
{
#if ENGINE_QUANT_AVX512
    const BlockQ8_0* blocks = blocksOf<BlockQ8_0>(row);
    const size_t nb = n / kQK8_0;
    __m512 acc[2] = { _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (size_t b = 0; b < nb; ++b) {
        const float* xb = x + b * kQK8_0;
        const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[b].qs));
        const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[b].qs + 16));
        __m512 t = _mm512_mul_ps(i8x16ToPs(q0), _mm512_loadu_ps(xb));
        t = _mm512_fmadd_ps(i8x16ToPs(q1), _mm512_loadu_ps(xb + 16), t);
        acc[b & 1] = _mm512_fmadd_ps(t, _mm512_set1_ps(f16ToF32(blocks[b].d)), acc[b & 1]);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
#else
    return dotByBlocks<kQK8_0, sizeof(BlockQ8_0), dequantizeRowQ8_0>(row, x, n);
#endif
}

float dotQ4_0(const uint8_t* row, const float* x, size_t n)
{
#if ENGINE_QUANT_AVX512
    const BlockQ4_0* blocks = blocksOf<BlockQ4_0>(row);
    const size_t nb = n / kQK4_0;
    const __m128i low4 = _mm_set1_epi8(0x0F);
    const __m128i eight = _mm_set1_epi8(8);
    __m512 acc[2] = { _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (size_t b = 0; b < nb; ++b) {
        const float* xb = x + b * kQK4_0;
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[b].qs));
        // Low nibbles are elements 0..15, high nibbles 16..31 (ggml block_q4_0).
        const __m128i lo = _mm_sub_epi8(_mm_and_si128(raw, low4), eight);
        const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(raw, 4), low4), eight);
        __m512 t = _mm512_mul_ps(i8x16ToPs(lo), _mm512_loadu_ps(xb));
        t = _mm512_fmadd_ps(i8x16ToPs(hi), _mm512_loadu_ps(xb + 16), t);
        acc[b & 1] = _mm512_fmadd_ps(t, _mm512_set1_ps(f16ToF32(blocks[b].d)), acc[b & 1]);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
#else
    return dotByBlocks<kQK4_0, sizeof(BlockQ4_0), dequantizeRowQ4_0>(row, x, n);
#endif
}

float dotQ5_0(const uint8_t* row, const float* x, size_t n)
{
#if ENGINE_QUANT_AVX512
    const BlockQ5_0* blocks = blocksOf<BlockQ5_0>(row);
    const size_t nb = n / kQK5_0;
    const __m128i low4 = _mm_set1_epi8(0x0F);
    const __m256i sixteen = _mm256_set1_epi8(16);
    __m512 acc[2] = { _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (size_t b = 0; b < nb; ++b) {
        const float* xb = x + b * kQK5_0;
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[b].qs));
        const __m128i lo = _mm_and_si128(raw, low4);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), low4);
        uint32_t qh;
        std::memcpy(&qh, blocks[b].qh, 4);
        // Bytes 0..31 are elements 0..31; bit j of qh is element j's fifth bit. value = q5 - 16, so
        // elements whose bit is clear get 16 subtracted from their nibble, the others keep it.
        __m256i q = _mm256_set_m128i(hi, lo);
        q = _mm256_mask_sub_epi8(q, __mmask32(~qh), q, sixteen);
        __m512 t = _mm512_mul_ps(i8x16ToPs(lo128(q)), _mm512_loadu_ps(xb));
        t = _mm512_fmadd_ps(i8x16ToPs(hi128(q)), _mm512_loadu_ps(xb + 16), t);
        acc[b & 1] = _mm512_fmadd_ps(t, _mm512_set1_ps(f16ToF32(blocks[b].d)), acc[b & 1]);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
#else
    return dotByBlocks<kQK5_0, sizeof(BlockQ5_0), dequantizeRowQ5_0>(row, x, n);
#endif
}

float dotQ4_K(const uint8_t* row, const float* x, size_t n)
{
#if ENGINE_QUANT_AVX512
    const BlockQ4_K* blocks = blocksOf<BlockQ4_K>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m512 accQ0 = _mm512_setzero_ps(), accQ1 = _mm512_setzero_ps(), accM = _mm512_setzero_ps();
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ4_K& blk = blocks[b];
        float dsc[8], dm[8];
        kScales(blk.d, blk.dmin, blk.scales, dsc, dm);
        const float* xb = x + b * kQK_K;
        for (int p = 0; p < 4; ++p) {
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p));
            const __m256i lo = _mm256_and_si256(raw, low4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
            kQuantPair(lo, hi, xb + 64 * p, dsc + 2 * p, dm + 2 * p, accQ0, accQ1, accM);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(accQ0, accQ1)) - _mm512_reduce_add_ps(accM);
#else
    return dotByBlocks<kQK_K, sizeof(BlockQ4_K), dequantizeRowQ4_K>(row, x, n);
#endif
}

float dotQ5_K(const uint8_t* row, const float* x, size_t n)
{
#if ENGINE_QUANT_AVX512
    const BlockQ5_K* blocks = blocksOf<BlockQ5_K>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i sixteen = _mm256_set1_epi8(16);
    __m512 accQ0 = _mm512_setzero_ps(), accQ1 = _mm512_setzero_ps(), accM = _mm512_setzero_ps();
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ5_K& blk = blocks[b];
        float dsc[8], dm[8];
        kScales(blk.d, blk.dmin, blk.scales, dsc, dm);
        const float* xb = x + b * kQK_K;
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh));
        for (int p = 0; p < 4; ++p) {
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p));
            __m256i lo = _mm256_and_si256(raw, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
            // qh[l] bit 2p is the fifth bit of element l of sub-block 2p, bit 2p+1 of sub-block 2p+1.
            const __mmask32 hLo = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(char(1 << (2 * p))));
            const __mmask32 hHi = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(char(2 << (2 * p))));
            lo = _mm256_mask_add_epi8(lo, hLo, lo, sixteen);
            hi = _mm256_mask_add_epi8(hi, hHi, hi, sixteen);
            kQuantPair(lo, hi, xb + 64 * p, dsc + 2 * p, dm + 2 * p, accQ0, accQ1, accM);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(accQ0, accQ1)) - _mm512_reduce_add_ps(accM);
#else
    return dotByBlocks<kQK_K, sizeof(BlockQ5_K), dequantizeRowQ5_K>(row, x, n);
#endif
}

float dotQ6_K(const uint8_t* row, const float* x, size_t n)
{
#if ENGINE_QUANT_AVX512
    const BlockQ6_K* blocks = blocksOf<BlockQ6_K>(row);
    __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ6_K& blk = blocks[b];
        const float d = f16ToF32(blk.d);
        for (int half = 0; half < 2; ++half) {
            const int8_t* sc = blk.scales + 8 * half;
            const float* xh = x + b * kQK_K + 128 * half;
            __m256i q[4];
            unpackQ6Half(blk, half, q);
            for (int k = 0; k < 4; ++k) {
                const __m256i s = q[k];
                // 16-element groups 2k and 2k+1 of this half have their own int8 scale.
                const __m512 w0 = _mm512_mul_ps(i8x16ToPs(lo128(s)), _mm512_set1_ps(d * float(sc[2 * k])));
                const __m512 w1 = _mm512_mul_ps(i8x16ToPs(hi128(s)), _mm512_set1_ps(d * float(sc[2 * k + 1])));
                acc[k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xh + 32 * k), acc[k]);
                acc[k] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xh + 32 * k + 16), acc[k]);
            }
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
#else
    return dotByBlocks<kQK_K, sizeof(BlockQ6_K), dequantizeRowQ6_K>(row, x, n);
#endif
}

} // namespace engine::PLAYGROUND_ISA_NS
