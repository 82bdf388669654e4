#include "engine/kernels/blockformats.h"

#include "engine/format/ggmltype.h"
#include "engine/kernels/typekernels.h"

#include <cmath>
#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define ENGINE_QUANT_AVX512 1
#include <immintrin.h>
#elif defined(__F16C__)
#include <immintrin.h>
#endif

namespace engine {

namespace {

template <typename Block> const Block* blocksOf(const uint8_t* row) { return reinterpret_cast<const Block*>(row); }

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

// The 256 quants of a Q6_K super-block half by half: the four 32-element quarters of half h as signed
// q - 32 (see dequantizeRowQ6_K). The 16-bit shifts move bits across byte borders; the masks cut them off.
inline void unpackQ6Half(const BlockQ6_K& blk, int half, __m256i q[4])
{
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i bits45 = _mm256_set1_epi8(0x30);
    const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * half));
    const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * half + 32));
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh + 32 * half));
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), bits45));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), bits45));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(h, bits45));
    q[3] = _mm256_or_si256(
        _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(h, 2), bits45));
    for (int k = 0; k < 4; ++k)
        q[k] = _mm256_sub_epi8(q[k], _mm256_set1_epi8(32));
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

// ---------------------------------------------------------------------------------------------
// Dots against an 8-bit quantised input (QuantizedInput, blocks of 32). Inside a block the products
// of small integers are summed exactly in int32; each block's sum is scaled once. Unsigned quants
// (Q4/Q5 nibbles, Q6 values before their offset, K-quant values before their min) multiply the
// signed input directly, and the offset or min comes off through the input's block sums.

namespace {
// The 4-bit (Q4_K) or 5-bit (Q5_K) unsigned quant of element l (0..31) of sub-block j (0..7).
inline int kQuantK(const uint8_t* qs, const uint8_t* qh, int j, int l)
{
    const int nibble = (j & 1) ? qs[32 * (j / 2) + l] >> 4 : qs[32 * (j / 2) + l] & 0x0F;
    return qh ? nibble | (((qh[l] >> j) & 1) << 4) : nibble;
}

// Q6_K's unsigned 6-bit value (0..63) of element e (0..255) of a super-block (see dequantizeRowQ6_K).
inline int q6Value(const BlockQ6_K& blk, int e)
{
    const int half = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t* ql = blk.ql + 64 * half;
    const uint8_t* qh = blk.qh + 32 * half;
    const int low = (k & 1) ? ql[l + 32] : ql[l];
    return ((k < 2 ? low & 0x0F : low >> 4) | (((qh[l] >> (2 * k)) & 3) << 4));
}

int q8Quant(const BlockQ8_0& b, int j) { return b.qs[j]; }
int q4Quant(const BlockQ4_0& b, int j) { return j < 16 ? b.qs[j] & 0x0F : b.qs[j - 16] >> 4; }
int q5Quant(const BlockQ5_0& b, int j)
{
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    return (j < 16 ? b.qs[j] & 0x0F : b.qs[j - 16] >> 4) | int(((qh >> j) & 1) << 4);
}

// Block b's share of a Q8_0/Q4_0/Q5_0 dot: value = (quant - Offset) * d.
template <typename Block, int (*Quant)(const Block&, int), int Offset>
float legacyBlockQ8(const Block& blk, const QuantizedInput& x, size_t b)
{
    int32_t s = 0;
    for (int j = 0; j < 32; ++j)
        s += Quant(blk, j) * x.q[b * 32 + size_t(j)];
    const float dw = f16ToF32(blk.d);
    return dw * x.d[b] * float(s) - float(Offset) * dw * x.dsum[b];
}

template <typename Block, int (*Quant)(const Block&, int), int Offset>
float dotQ8Legacy(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    const Block* blocks = blocksOf<Block>(row);
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; ++b)
        sum += legacyBlockQ8<Block, Quant, Offset>(blocks[b], x, b);
    return sum;
}
} // namespace

float dotQ8Q8_0Scalar(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8Legacy<BlockQ8_0, q8Quant, 0>(row, x, n);
}
float dotQ8Q4_0Scalar(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8Legacy<BlockQ4_0, q4Quant, 8>(row, x, n);
}
float dotQ8Q5_0Scalar(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8Legacy<BlockQ5_0, q5Quant, 16>(row, x, n);
}

namespace {
template <typename Block, bool FiveBit> float dotQ8KScalar(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    const Block* blocks = blocksOf<Block>(row);
    float sum = 0.0f;
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const Block& blk = blocks[b];
        const float d = f16ToF32(blk.d), dmin = f16ToF32(blk.dmin);
        const uint8_t* qh = nullptr;
        if constexpr (FiveBit)
            qh = blk.qh;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            scaleMinK4(j, blk.scales, sc, m);
            const size_t xb = b * 8 + size_t(j);
            int32_t s = 0;
            for (int l = 0; l < 32; ++l)
                s += kQuantK(blk.qs, qh, j, l) * x.q[xb * 32 + size_t(l)];
            sum += d * float(sc) * x.d[xb] * float(s) - dmin * float(m) * x.dsum[xb];
        }
    }
    return sum;
}
} // namespace

float dotQ8Q4_KScalar(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8KScalar<BlockQ4_K, false>(row, x, n);
}
float dotQ8Q5_KScalar(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8KScalar<BlockQ5_K, true>(row, x, n);
}

float dotQ8Q6_KScalar(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    const BlockQ6_K* blocks = blocksOf<BlockQ6_K>(row);
    float sum = 0.0f;
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ6_K& blk = blocks[b];
        const float d = f16ToF32(blk.d);
        for (int g = 0; g < 16; ++g) { // 16-value groups, each with its own int8 scale
            int32_t s = 0;
            for (int e = 16 * g; e < 16 * g + 16; ++e)
                s += q6Value(blk, e) * x.q[b * kQK_K + size_t(e)];
            const float scale = d * float(blk.scales[g]) * x.d[b * 8 + size_t(g / 2)];
            sum += scale * float(s - 32 * x.qsum16[b * 16 + size_t(g)]);
        }
    }
    return sum;
}

#if ENGINE_QUANT_AVX512
namespace {
// 16 int32 sums of four u8*s8 products each (lanes 4i..4i+3 of u and s go to lane i).
inline __m512i dotU8S8(__m512i u, __m512i s)
{
#if defined(__AVX512VNNI__)
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s);
#else
    // maddubs cannot saturate here: u <= 128 and |s| <= 127 give pairs of at most 32512.
    return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
#endif
}
inline __m512i loadInput64(const QuantizedInput& x, size_t offset)
{
    return _mm512_loadu_si512(reinterpret_cast<const void*>(x.q.data() + offset));
}
// Lanes 0..7 scaled by a, 8..15 by b.
inline __m512 twoScales(float a, float b) { return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1); }
// The f16 scales of four consecutive legacy blocks (each `stride` bytes) as floats.
template <typename Block> inline __m128 fourScales(const Block* blocks)
{
    return _mm_cvtph_ps(
        _mm_setr_epi16(short(blocks[0].d), short(blocks[1].d), short(blocks[2].d), short(blocks[3].d), 0, 0, 0, 0));
}
// Spreads four per-block scales (in the low 128 bits) over the lanes of two products of two blocks each.
inline __m512 spreadScales(__m128 s4, int pair)
{
    const __m512i first = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i second = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    return _mm512_permutexvar_ps(pair ? second : first, _mm512_castps128_ps512(s4));
}
inline float hsum128(__m128 v)
{
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}
// The two 32-element halves of a 512-bit vector of nibbles from 16-byte groups: elements 0..15 are the
// low nibbles and 16..31 the high nibbles of each block's 16 bytes (Q4_0/Q5_0 order).
inline __m512i legacyNibbles(__m128i b0, __m128i b1)
{
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i raw = _mm256_set_m128i(b1, b0);
    const __m256i lo = _mm256_and_si256(raw, low4);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
    const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); // b0 lo, b1 lo, b0 hi, b1 hi
    return _mm512_shuffle_i64x2(u, u, _MM_SHUFFLE(3, 1, 2, 0)); // b0 lo, b0 hi, b1 lo, b1 hi
}
// A Q8_0/Q4_0/Q5_0 row against x: one 512-bit int32 product per two blocks, four blocks per step with
// their scales and offsets in vector registers; the last one to three blocks by the scalar reference.
// quants(b) gives blocks b and b+1 as 64 bytes in element order: unsigned, or (Signed) signed; a block's
// value is (quant - Offset) * d, the offset coming off through x's block sums.
template <typename Block, int (*Quant)(const Block&, int), int Offset, bool Signed, typename Quants>
float dotQ8LegacySimd(const uint8_t* row, const QuantizedInput& x, size_t n, Quants quants)
{
    const Block* blocks = blocksOf<Block>(row);
    const size_t nb = n / 32;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m128 offsets = _mm_setzero_ps(); // sum over blocks of d_w * d_x * sum(q_x)
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        __m512i dp[2];
        for (int pair = 0; pair < 2; ++pair) {
            const __m512i w = quants(blocks, b + 2 * size_t(pair));
            const __m512i xs = loadInput64(x, (b + 2 * size_t(pair)) * 32);
            if constexpr (Signed) // |w| times x with w's sign moved onto x
                dp[pair] = dotU8S8(
                    _mm512_abs_epi8(w), _mm512_mask_sub_epi8(xs, _mm512_movepi8_mask(w), _mm512_setzero_si512(), xs));
            else
                dp[pair] = dotU8S8(w, xs);
        }
        const __m128 dw = fourScales(blocks + b);
        const __m128 s4 = _mm_mul_ps(dw, _mm_loadu_ps(x.d.data() + b));
        if constexpr (Offset != 0)
            offsets = _mm_fmadd_ps(dw, _mm_loadu_ps(x.dsum.data() + b), offsets);
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp[0]), spreadScales(s4, 0), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp[1]), spreadScales(s4, 1), acc1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - float(Offset) * hsum128(offsets);
    for (; b < nb; ++b)
        sum += legacyBlockQ8<Block, Quant, Offset>(blocks[b], x, b);
    return sum;
}
} // namespace

float dotQ8Q8_0(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8LegacySimd<BlockQ8_0, q8Quant, 0, true>(row, x, n, [](const BlockQ8_0* blocks, size_t i) {
        return _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[i].qs))),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[i + 1].qs)), 1);
    });
}

float dotQ8Q4_0(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8LegacySimd<BlockQ4_0, q4Quant, 8, false>(row, x, n, [](const BlockQ4_0* blocks, size_t i) {
        return legacyNibbles(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i].qs)),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i + 1].qs)));
    });
}

float dotQ8Q5_0(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    return dotQ8LegacySimd<BlockQ5_0, q5Quant, 16, false>(row, x, n, [](const BlockQ5_0* blocks, size_t i) {
        const __m512i u = legacyNibbles(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i].qs)),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i + 1].qs)));
        uint32_t h0, h1;
        std::memcpy(&h0, blocks[i].qh, 4);
        std::memcpy(&h1, blocks[i + 1].qh, 4);
        // Bit j of qh is element j's fifth bit, and u holds the elements in order: one mask bit per byte.
        return _mm512_mask_add_epi8(u, __mmask64(uint64_t(h0) | (uint64_t(h1) << 32)), u, _mm512_set1_epi8(16));
    });
}

namespace {
template <typename Block, bool FiveBit> float dotQ8K(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    const Block* blocks = blocksOf<Block>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i sixteen = _mm256_set1_epi8(16);
    // Lanes 0..7 of a product are sub-block 2p, 8..15 sub-block 2p+1.
    __m512i subOfLane[4];
    for (int p = 0; p < 4; ++p)
        subOfLane[p] = _mm512_setr_epi32(2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1,
            2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1);
    __m512 acc = _mm512_setzero_ps();
    __m256 mins = _mm256_setzero_ps(); // per sub-block: dmin * m * d_x * sum(q_x)
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const Block& blk = blocks[b];
        alignas(32) float sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
            uint8_t s6, m6;
            scaleMinK4(j, blk.scales, s6, m6);
            sc[j] = float(s6);
            m[j] = float(m6);
        }
        const __m256 scale8 = _mm256_mul_ps(
            _mm256_mul_ps(_mm256_load_ps(sc), _mm256_set1_ps(f16ToF32(blk.d))), _mm256_loadu_ps(x.d.data() + b * 8));
        mins = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_load_ps(m), _mm256_set1_ps(f16ToF32(blk.dmin))),
            _mm256_loadu_ps(x.dsum.data() + b * 8), mins);
        const __m512 scale = _mm512_castps256_ps512(scale8);
        __m256i qh = _mm256_setzero_si256();
        if constexpr (FiveBit)
            qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh));
        for (int p = 0; p < 4; ++p) { // sub-blocks 2p and 2p+1: 64 elements, one 512-bit product
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p));
            __m256i lo = _mm256_and_si256(raw, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
            if constexpr (FiveBit) {
                lo = _mm256_mask_add_epi8(
                    lo, _mm256_test_epi8_mask(qh, _mm256_set1_epi8(char(1 << (2 * p)))), lo, sixteen);
                hi = _mm256_mask_add_epi8(
                    hi, _mm256_test_epi8_mask(qh, _mm256_set1_epi8(char(2 << (2 * p)))), hi, sixteen);
            }
            const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            const __m512i dp = dotU8S8(u, loadInput64(x, (b * 8 + size_t(2 * p)) * 32));
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_permutexvar_ps(subOfLane[p], scale), acc);
        }
    }
    const __m128 m4 = _mm_add_ps(_mm256_castps256_ps128(mins), _mm256_extractf128_ps(mins, 1));
    return _mm512_reduce_add_ps(acc) - hsum128(m4);
}
} // namespace

float dotQ8Q4_K(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8K<BlockQ4_K, false>(row, x, n); }
float dotQ8Q5_K(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8K<BlockQ5_K, true>(row, x, n); }

float dotQ8Q6_K(const uint8_t* row, const QuantizedInput& x, size_t n)
{
    const BlockQ6_K* blocks = blocksOf<BlockQ6_K>(row);
    // Element pairs of x's block scales: group (16 elements) G uses x block G / 2.
    const __m512i blockOfGroup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    // Lane i of a 64-element product holds elements 4i..4i+3, in group first + i / 4.
    __m512i groupOfLane[4];
    for (int q = 0; q < 4; ++q)
        groupOfLane[q] = _mm512_add_epi32(
            _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), _mm512_set1_epi32(4 * q));
    const __m256i bias = _mm256_set1_epi8(32); // unpackQ6Half gives q - 32; back to 0..63
    __m512 acc = _mm512_setzero_ps();
    __m512 offsets = _mm512_setzero_ps(); // per group: scale * sum(q_x), the "- 32" of every value
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ6_K& blk = blocks[b];
        // The 16 group scales d * sc[G] * d_x(G), all at once.
        const __m512 sc
            = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales))));
        const __m512 dx
            = _mm512_permutexvar_ps(blockOfGroup, _mm512_castps256_ps512(_mm256_loadu_ps(x.d.data() + b * 8)));
        const __m512 scale = _mm512_mul_ps(_mm512_mul_ps(sc, _mm512_set1_ps(f16ToF32(blk.d))), dx);
        offsets = _mm512_fmadd_ps(scale,
            _mm512_cvtepi32_ps(_mm512_loadu_si512(reinterpret_cast<const void*>(x.qsum16.data() + b * 16))), offsets);
        for (int half = 0; half < 2; ++half) {
            __m256i q[4];
            unpackQ6Half(blk, half, q);
            for (int k = 0; k < 4; k += 2) { // quarters k and k+1: 64 elements, groups 8 half + 2k ..+3
                const __m512i u = _mm512_inserti64x4(
                    _mm512_castsi256_si512(_mm256_add_epi8(q[k], bias)), _mm256_add_epi8(q[k + 1], bias), 1);
                const __m512i dp = dotU8S8(u, loadInput64(x, b * kQK_K + size_t(128 * half + 32 * k)));
                acc = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(dp), _mm512_permutexvar_ps(groupOfLane[2 * half + k / 2], scale), acc);
            }
        }
    }
    return _mm512_reduce_add_ps(acc) - 32.0f * _mm512_reduce_add_ps(offsets);
}
#else
float dotQ8Q8_0(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8Q8_0Scalar(row, x, n); }
float dotQ8Q4_0(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8Q4_0Scalar(row, x, n); }
float dotQ8Q5_0(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8Q5_0Scalar(row, x, n); }
float dotQ8Q4_K(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8Q4_KScalar(row, x, n); }
float dotQ8Q5_K(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8Q5_KScalar(row, x, n); }
float dotQ8Q6_K(const uint8_t* row, const QuantizedInput& x, size_t n) { return dotQ8Q6_KScalar(row, x, n); }
#endif

} // namespace engine
