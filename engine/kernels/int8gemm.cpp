// One ISA level's copy of prefill's integer matrix kernels (int8gemm.h; the public functions and the shape checks
// are in int8gemmdispatch.cpp). Nothing of the standard library is instantiated here (isakernels.h): scratch
// comes from the caller, and the scalar kernel accumulates in y.
#include "engine/kernels/isakernels.h"

#include "engine/kernels/blockformats.h"
#include "engine/kernels/blockunpack.h"
#include "engine/kernels/int8gemmpanel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if PLAYGROUND_ISA_HAS_INT8GEMM
#include <immintrin.h>
#endif

namespace engine::PLAYGROUND_ISA_NS {

namespace {

// One trait per format: how a block's 32-element sub-block s turns into 32 unsigned quants u (value =
// (u - Offset) * scale, or scale * u - min), and its scale(s) and min. Groups: scale groups per
// sub-block (Q6_K scales every 16 elements).
struct Q8_0 {
    using Block = BlockQ8_0;
    static constexpr int kElems = 32, kSubs = 1, kGroups = 1, kOffset = 128;
    static constexpr bool kHasMin = false;
    static constexpr int kMaxQuant = 128; // |q|, in the AVX2 kernel's signed panel (see kSignedQ8Panel)
    // q + 128: vpdpbusd multiplies unsigned by signed bytes; the 128 comes off through x's sums.
    static void unpack(const Block& b, int, uint8_t* u)
    {
        for (int j = 0; j < 32; ++j)
            u[j] = uint8_t(b.qs[j] + 128);
    }
    static void scales(const Block& b, int, float* sc, float*) { sc[0] = f16ToF32(b.d); }
};

struct Q4_0 {
    using Block = BlockQ4_0;
    static constexpr int kElems = 32, kSubs = 1, kGroups = 1, kOffset = 8;
    static constexpr bool kHasMin = false;
    static constexpr int kMaxQuant = 15;
    static void unpack(const Block& b, int, uint8_t* u)
    {
        for (int j = 0; j < 16; ++j) {
            u[j] = b.qs[j] & 0x0F;
            u[j + 16] = b.qs[j] >> 4;
        }
    }
    static void scales(const Block& b, int, float* sc, float*) { sc[0] = f16ToF32(b.d); }
};

struct Q5_0 {
    using Block = BlockQ5_0;
    static constexpr int kElems = 32, kSubs = 1, kGroups = 1, kOffset = 16;
    static constexpr bool kHasMin = false;
    static constexpr int kMaxQuant = 31;
    static void unpack(const Block& b, int, uint8_t* u)
    {
        uint32_t qh;
        std::memcpy(&qh, b.qh, 4);
        for (int j = 0; j < 32; ++j)
            u[j] = uint8_t((j < 16 ? b.qs[j] & 0x0F : b.qs[j - 16] >> 4) | (((qh >> j) & 1) << 4));
    }
    static void scales(const Block& b, int, float* sc, float*) { sc[0] = f16ToF32(b.d); }
};

template <typename B, bool FiveBit> struct QK {
    using Block = B;
    static constexpr int kElems = kQK_K, kSubs = 8, kGroups = 1, kOffset = 0;
    static constexpr bool kHasMin = true;
    static constexpr int kMaxQuant = FiveBit ? 31 : 15;
    static void unpack(const Block& b, int j, uint8_t* u)
    {
        for (int l = 0; l < 32; ++l) {
            const uint8_t byte = b.qs[32 * (j / 2) + l];
            int q = (j & 1) ? byte >> 4 : byte & 0x0F;
            if constexpr (FiveBit)
                q |= ((b.qh[l] >> j) & 1) << 4;
            u[l] = uint8_t(q);
        }
    }
    static void scales(const Block& b, int j, float* sc, float* mn)
    {
        uint8_t s6, m6;
        scaleMinK4(j, b.scales, s6, m6);
        sc[0] = f16ToF32(b.d) * float(s6);
        *mn = f16ToF32(b.dmin) * float(m6);
    }
};
using Q4_K = QK<BlockQ4_K, false>;
using Q5_K = QK<BlockQ5_K, true>;

struct Q6_K {
    using Block = BlockQ6_K;
    static constexpr int kElems = kQK_K, kSubs = 8, kGroups = 2, kOffset = 32;
    static constexpr bool kHasMin = false;
    static constexpr int kMaxQuant = 63;
    // Sub-block j is quarter j % 4 of half j / 4 (see dequantizeRowQ6_K); u = q, 0..63.
    static void unpack(const Block& b, int j, uint8_t* u)
    {
        const int half = j / 4, k = j % 4;
        const uint8_t* ql = b.ql + 64 * half + 32 * (k & 1);
        const uint8_t* qh = b.qh + 32 * half;
        for (int l = 0; l < 32; ++l)
            u[l] = uint8_t((k < 2 ? ql[l] & 0x0F : ql[l] >> 4) | (((qh[l] >> (2 * k)) & 3) << 4));
    }
    static void scales(const Block& b, int j, float* sc, float*)
    {
        const float d = f16ToF32(b.d);
        sc[0] = d * float(b.scales[2 * j]);
        sc[1] = d * float(b.scales[2 * j + 1]);
    }
};

// -Offset * (sum of x's quants in scale group g of sub-block s of activation row t): the integer
// correction that turns sum(u * q_x) into sum((u - Offset) * q_x).
template <typename F> int32_t offsetCorrection(const ActivationQ8& x, size_t n, int t, size_t s, int g)
{
    const int32_t* q16 = x.qsum16.data() + size_t(t) * (n / 16) + 2 * s;
    const int32_t sum = F::kGroups == 1 ? q16[0] + q16[1] : q16[g];
    return -F::kOffset * sum;
}

template <typename F>
void gemmScalar(
    const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x, int T, float* y, int64_t ldy)
{
    const size_t nsub = n / 32;
    constexpr int L = 32 / F::kGroups;
    for (int64_t r = 0; r < rows; ++r) {
        const auto* blocks = blocksOf<typename F::Block>(w + size_t(r) * rowBytes);
        // Row r's outputs are its accumulators, one per activation row, ldy apart.
        float* acc = y + size_t(r);
        const size_t step = size_t(ldy);
        for (int t = 0; t < T; ++t)
            acc[size_t(t) * step] = 0.0f;
        for (size_t s = 0; s < nsub; ++s) {
            uint8_t u[32];
            float sc[F::kGroups];
            float mn = 0.0f;
            const auto& blk = blocks[s / F::kSubs];
            F::unpack(blk, int(s % F::kSubs), u);
            F::scales(blk, int(s % F::kSubs), sc, &mn);
            for (int t = 0; t < T; ++t) {
                const int8_t* xq = x.q.data() + size_t(t) * n + 32 * s;
                const float xs = x.d[size_t(t) * nsub + s];
                for (int g = 0; g < F::kGroups; ++g) {
                    int32_t sum = F::kOffset ? offsetCorrection<F>(x, n, t, s, g) : 0;
                    for (int l = g * L; l < g * L + L; ++l)
                        sum += int32_t(u[l]) * xq[l];
                    acc[size_t(t) * step] = std::fma(float(sum), sc[g] * xs, acc[size_t(t) * step]);
                }
                if constexpr (F::kHasMin)
                    acc[size_t(t) * step] = std::fma(-mn, x.dsum[size_t(t) * nsub + s], acc[size_t(t) * step]);
            }
        }
    }
}

#if PLAYGROUND_ISA_HAS_INT8GEMM
// Vectorised: 16 weight rows are one panel, each sub-block stored as 8 vectors of 16 rows x 4
// consecutive quants, so one vpdpbusd with 4 quants of an activation row broadcast adds 4 products
// to each of 16 outputs. A panel is unpacked once and then swept by all T activation rows, 8 at a
// time (8 int32 and 8 float accumulators in registers); a scale group's int32 sums are converted and
// scaled once, then start again from the group's offset correction. The avx2 level (no vpdpbusd) sweeps
// the same panel half by half (8 rows, one 256-bit vector per 4 quants) with maddubs + madd, see below.

#if PLAYGROUND_ISA_HAS_VNNI
constexpr bool kSignedQ8Panel = false; // vpdpbusd: Q8_0's q + 128, the 128 off through x's sums
#else
// maddubs adds pairs of u8*s8 products in saturating int16: (q + 128) * q_x pairs would reach 64770, so
// the avx2 panel keeps Q8_0's signed q and multiplies |q| by q_x with q's sign moved onto it (pairs <= 32512).
constexpr bool kSignedQ8Panel = true;
#endif

#if PLAYGROUND_ISA_HAS_VNNI
// out[k] (k < 8) = quants 4k..4k+3 of rows 0..15, from 16 rows of 32 quants: an 8x8 transpose of
// 32-bit words in each 256-bit half (rows r and r + 8 share a register).
inline void transposeStore(const __m256i* r, uint8_t* out)
{
    __m512i z[8], t[8], u[4], v[4];
    for (int i = 0; i < 8; ++i)
        z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(r[i]), r[i + 8], 1);
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm512_unpacklo_epi32(z[2 * i], z[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(z[2 * i], z[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h) { // rows 0-3 (u) and 4-7 (v) of each half
        __m512i* o = h ? v : u;
        const __m512i* s = t + 4 * h;
        o[0] = _mm512_unpacklo_epi64(s[0], s[2]);
        o[1] = _mm512_unpackhi_epi64(s[0], s[2]);
        o[2] = _mm512_unpacklo_epi64(s[1], s[3]);
        o[3] = _mm512_unpackhi_epi64(s[1], s[3]);
    }
    const __m512i low = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i high = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int k = 0; k < 4; ++k) {
        _mm512_storeu_si512(out + 64 * k, _mm512_permutex2var_epi64(u[k], low, v[k]));
        _mm512_storeu_si512(out + 64 * (k + 4), _mm512_permutex2var_epi64(u[k], high, v[k]));
    }
}
#else
// The same layout with 256-bit vectors: out[k] holds quants 4k..4k+3 of rows 0..7 in its first 32 bytes and
// of rows 8..15 in the next 32, each an 8x8 transpose of 32-bit words.
inline void transposeStore(const __m256i* r, uint8_t* out)
{
    for (int h = 0; h < 2; ++h) {
        const __m256i* s = r + 8 * h;
        __m256i t[8], u[8];
        for (int i = 0; i < 4; ++i) {
            t[2 * i] = _mm256_unpacklo_epi32(s[2 * i], s[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_epi32(s[2 * i], s[2 * i + 1]);
        }
        for (int q = 0; q < 2; ++q) { // rows 0-3 (q = 0) and 4-7: words 0..3 of each 128-bit lane
            const __m256i* a = t + 4 * q;
            u[4 * q] = _mm256_unpacklo_epi64(a[0], a[2]);
            u[4 * q + 1] = _mm256_unpackhi_epi64(a[0], a[2]);
            u[4 * q + 2] = _mm256_unpacklo_epi64(a[1], a[3]);
            u[4 * q + 3] = _mm256_unpackhi_epi64(a[1], a[3]);
        }
        for (int k = 0; k < 4; ++k) {
            _mm256_storeu_si256(
                reinterpret_cast<__m256i*>(out + 64 * k + 32 * h), _mm256_permute2x128_si256(u[k], u[k + 4], 0x20));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 64 * (k + 4) + 32 * h),
                _mm256_permute2x128_si256(u[k], u[k + 4], 0x31));
        }
    }
}
#endif

// The 32 unsigned quants of sub-block j as the traits' unpack gives them (Q8_0's signed q where kSignedQ8Panel).
inline __m256i unpackVec(const BlockQ8_0& b, int)
{
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    return kSignedQ8Panel ? q : _mm256_xor_si256(q, _mm256_set1_epi8(char(0x80)));
}
inline __m256i nibbles16(const uint8_t* qs)
{
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i low4 = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), low4), _mm_and_si128(raw, low4));
}
inline __m256i unpackVec(const BlockQ4_0& b, int) { return nibbles16(b.qs); }
inline __m256i unpackVec(const BlockQ5_0& b, int)
{
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    // 0xFF in byte j where bit j of qh is set: every bit but bit j % 8 set in byte j, then compared with all ones
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(int(qh)),
        _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i set
        = _mm256_cmpeq_epi8(_mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)), _mm256_set1_epi64x(-1));
    return _mm256_or_si256(nibbles16(b.qs), _mm256_and_si256(set, _mm256_set1_epi8(16)));
}
template <typename Block> inline __m256i kNibbles(const Block& b, int j)
{
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * (j / 2)));
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    return (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4) : _mm256_and_si256(raw, low4);
}
inline __m256i unpackVec(const BlockQ4_K& b, int j) { return kNibbles(b, j); }
inline __m256i unpackVec(const BlockQ5_K& b, int j)
{
    const __m256i u = kNibbles(b, j);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh));
    // bit j of each qh byte to bit 4 (16-bit shifts; the mask cuts what crossed a byte)
    const __m256i fifth = _mm256_and_si256(
        _mm256_sll_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), _mm_cvtsi32_si128(4)), _mm256_set1_epi8(16));
    return _mm256_or_si256(u, fifth);
}
inline __m256i unpackVec(const BlockQ6_K& b, int j)
{
    const int half = j / 4, k = j % 4;
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * half + 32 * (k & 1)));
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * half));
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i nib = k < 2 ? _mm256_and_si256(low, low4) : _mm256_and_si256(_mm256_srli_epi16(low, 4), low4);
    // bits 2k, 2k+1 of each qh byte to bits 4, 5 (16-bit shifts; the mask cuts what crossed a byte)
    const __m256i hi = _mm256_and_si256(
        _mm256_sll_epi16(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * k)), _mm_cvtsi32_si128(4)), _mm256_set1_epi8(0x30));
    return _mm256_or_si256(nib, hi);
}

// Panel of up to 16 rows: quants (nsub x 512 bytes), scales (nsub x groups x 16), mins (nsub x 16);
// rows past `count` are zero, so their lanes compute 0 and are never stored.
template <typename F>
void packPanel(const uint8_t* w, size_t rowBytes, int count, size_t nsub, uint8_t* quants, float* sc, float* mn)
{
    for (size_t s = 0; s < nsub; ++s) {
        __m256i r[16];
        for (int i = 0; i < 16; ++i) {
            float scales[F::kGroups] = {};
            float m = 0.0f;
            if (i < count) {
                const auto& blk = blocksOf<typename F::Block>(w + size_t(i) * rowBytes)[s / F::kSubs];
                r[i] = unpackVec(blk, int(s % F::kSubs));
                F::scales(blk, int(s % F::kSubs), scales, &m);
            } else {
                r[i] = _mm256_setzero_si256();
            }
            for (int g = 0; g < F::kGroups; ++g)
                sc[(s * F::kGroups + size_t(g)) * 16 + size_t(i)] = scales[g];
            if constexpr (F::kHasMin)
                mn[s * 16 + size_t(i)] = m;
        }
        transposeStore(r, quants + 512 * s);
    }
}

// The tile's accumulators live in registers only if its short loops are unrolled, which GCC does not do
// by itself at -O2.
#define PLAYGROUND_UNROLL _Pragma("GCC unroll 16")
#define PLAYGROUND_NO_UNROLL _Pragma("GCC unroll 1")

#if PLAYGROUND_ISA_HAS_VNNI
// NT activation rows (t0's quants at xq, n apart) times one panel; y at row t0, column of the panel's
// first row.
template <typename F, int NT>
void panelTile(const uint8_t* quants, const float* sc, const float* mn, size_t nsub, const int8_t* xq, size_t n,
    const float* xd, const float* xdsum, const int32_t* corr, float* y, int64_t ldy, __mmask16 mask)
{
    constexpr int G = F::kGroups;
    constexpr int steps = 8 / G; // 4-quant steps per scale group
    __m512 acc[NT];
    PLAYGROUND_UNROLL
    for (int j = 0; j < NT; ++j)
        acc[j] = _mm512_setzero_ps();
    for (size_t s = 0; s < nsub; ++s) {
        PLAYGROUND_UNROLL
        for (int g = 0; g < G; ++g) {
            __m512i sum[NT];
            PLAYGROUND_UNROLL
            for (int j = 0; j < NT; ++j)
                sum[j] = F::kOffset ? _mm512_set1_epi32(corr[size_t(j) * nsub * G + s * G + size_t(g)])
                                    : _mm512_setzero_si512();
            PLAYGROUND_UNROLL
            for (int k = 0; k < steps; ++k) {
                const size_t e = 32 * s + size_t(4 * (g * steps + k));
                const __m512i wv = _mm512_loadu_si512(quants + 16 * e);
                PLAYGROUND_UNROLL
                for (int j = 0; j < NT; ++j) {
                    int32_t four;
                    std::memcpy(&four, xq + size_t(j) * n + e, 4);
                    sum[j] = _mm512_dpbusd_epi32(sum[j], wv, _mm512_set1_epi32(four));
                }
            }
            const __m512 scale = _mm512_loadu_ps(sc + (s * G + size_t(g)) * 16);
            PLAYGROUND_UNROLL
            for (int j = 0; j < NT; ++j)
                acc[j] = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(sum[j]), _mm512_mul_ps(scale, _mm512_set1_ps(xd[size_t(j) * nsub + s])), acc[j]);
        }
        if constexpr (F::kHasMin) {
            const __m512 m = _mm512_loadu_ps(mn + s * 16);
            PLAYGROUND_UNROLL
            for (int j = 0; j < NT; ++j)
                acc[j] = _mm512_fnmadd_ps(m, _mm512_set1_ps(xdsum[size_t(j) * nsub + s]), acc[j]);
        }
    }
    PLAYGROUND_UNROLL
    for (int j = 0; j < NT; ++j)
        _mm512_mask_storeu_ps(y + size_t(j) * size_t(ldy), mask, acc[j]);
}

template <typename F>
void gemmSimd(const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x, int T, float* y,
    int64_t ldy, void* workspace)
{
    constexpr int G = F::kGroups;
    const size_t nsub = n / 32;
    // The caller's scratch (int8GemmWorkspaceBytes): panel quants, scales, mins, offset corrections.
    uint8_t* const quants = static_cast<uint8_t*>(workspace);
    float* const sc = reinterpret_cast<float*>(quants + nsub * 512);
    float* const mn = sc + nsub * 32;
    int32_t* const corr = reinterpret_cast<int32_t*>(mn + nsub * 16);
    if constexpr (F::kOffset != 0) {
        for (int t = 0; t < T; ++t)
            for (size_t s = 0; s < nsub; ++s)
                for (int g = 0; g < G; ++g)
                    corr[(size_t(t) * nsub + s) * G + size_t(g)] = offsetCorrection<F>(x, n, t, s, g);
    }
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const int count = int(std::min<int64_t>(16, rows - r0));
        packPanel<F>(w + size_t(r0) * rowBytes, rowBytes, count, nsub, quants, sc, mn);
        const __mmask16 mask = __mmask16((1u << count) - 1);
        for (int t0 = 0; t0 < T; t0 += 8) {
            const int8_t* xq = x.q.data() + size_t(t0) * n;
            const float* xd = x.d.data() + size_t(t0) * nsub;
            const float* xdsum = x.dsum.data() + size_t(t0) * nsub;
            const int32_t* c = F::kOffset ? corr + size_t(t0) * nsub * G : nullptr;
            float* yt = y + size_t(t0) * size_t(ldy) + size_t(r0);
            const uint8_t* q = quants;
            switch (std::min(8, T - t0)) {
            case 8:
                panelTile<F, 8>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            case 7:
                panelTile<F, 7>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            case 6:
                panelTile<F, 6>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            case 5:
                panelTile<F, 5>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            case 4:
                panelTile<F, 4>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            case 3:
                panelTile<F, 3>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            case 2:
                panelTile<F, 2>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            default:
                panelTile<F, 1>(q, sc, mn, nsub, xq, n, xd, xdsum, c, yt, ldy, mask);
                break;
            }
        }
    }
}
#else // the avx2 level
// Steps of 4 quants whose maddubs pairs (at most 2 * kMaxQuant * 127 each) add up in int16 without overflow
// before madd widens them to int32: 8 for 4-bit quants, 4 for 5-bit, 2 for Q6_K, 1 for Q8_0's |q| (a power of two
// dividing a scale group's steps).
template <typename F> constexpr int int16Steps()
{
    int c = 1;
    while (c < 8 / F::kGroups && 2 * c * 2 * F::kMaxQuant * 127 <= 32767)
        c *= 2;
    return c;
}
// Q8_0's panel is signed here (kSignedQ8Panel): no offset to take off.
template <typename F> constexpr int panelOffset() { return kSignedQ8Panel && F::kOffset == 128 ? 0 : F::kOffset; }

// NT activation rows (t0's quants at xq, n apart) times one half of a panel (8 rows: quants at byte 32 h of each
// 64-byte vector of 16 rows, scales and mins at 8 h); y at row t0, column of the half's first row. The same
// operations per output as the scalar kernel: exact int32 sums, then the same fmas in the same order.
template <typename F, int NT>
void panelTile(const uint8_t* quants, const float* sc, const float* mn, size_t nsub, const int8_t* xq, size_t n,
    const float* xd, const float* xdsum, const int32_t* corr, float* y, int64_t ldy, int count)
{
    constexpr int G = F::kGroups;
    constexpr int steps = 8 / G; // 4-quant steps per scale group
    constexpr int chain = int16Steps<F>();
    constexpr bool signedQ = kSignedQ8Panel && F::kOffset == 128;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[NT];
    PLAYGROUND_UNROLL
    for (int j = 0; j < NT; ++j)
        acc[j] = _mm256_setzero_ps();
    for (size_t s = 0; s < nsub; ++s) {
        PLAYGROUND_UNROLL
        for (int g = 0; g < G; ++g) {
            __m256i sum[NT];
            PLAYGROUND_UNROLL
            for (int j = 0; j < NT; ++j)
                sum[j] = panelOffset<F>() ? _mm256_set1_epi32(corr[size_t(j) * nsub * G + s * G + size_t(g)])
                                          : _mm256_setzero_si256();
            // Not unrolled: GCC would otherwise start every product of the group at once and spill them.
            PLAYGROUND_NO_UNROLL
            for (int c = 0; c < steps; c += chain) {
                __m256i pairs[NT];
                PLAYGROUND_NO_UNROLL
                for (int k = 0; k < chain; ++k) {
                    const size_t e = 32 * s + size_t(4 * (g * steps + c + k));
                    const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 16 * e));
                    const __m256i uw = signedQ ? _mm256_sign_epi8(wv, wv) : wv;
                    PLAYGROUND_UNROLL
                    for (int j = 0; j < NT; ++j) {
                        int32_t four;
                        std::memcpy(&four, xq + size_t(j) * n + e, 4);
                        __m256i xv = _mm256_set1_epi32(four);
                        if constexpr (signedQ)
                            xv = _mm256_sign_epi8(xv, wv);
                        const __m256i p = _mm256_maddubs_epi16(uw, xv);
                        pairs[j] = k == 0 ? p : _mm256_add_epi16(pairs[j], p);
                    }
                }
                PLAYGROUND_UNROLL
                for (int j = 0; j < NT; ++j)
                    sum[j] = _mm256_add_epi32(sum[j], _mm256_madd_epi16(pairs[j], ones));
            }
            const __m256 scale = _mm256_loadu_ps(sc + (s * G + size_t(g)) * 16);
            PLAYGROUND_UNROLL
            for (int j = 0; j < NT; ++j)
                acc[j] = _mm256_fmadd_ps(
                    _mm256_cvtepi32_ps(sum[j]), _mm256_mul_ps(scale, _mm256_set1_ps(xd[size_t(j) * nsub + s])), acc[j]);
        }
        if constexpr (F::kHasMin) {
            const __m256 m = _mm256_loadu_ps(mn + s * 16);
            PLAYGROUND_UNROLL
            for (int j = 0; j < NT; ++j)
                acc[j] = _mm256_fnmadd_ps(m, _mm256_set1_ps(xdsum[size_t(j) * nsub + s]), acc[j]);
        }
    }
    if (count == 8) {
        PLAYGROUND_UNROLL
        for (int j = 0; j < NT; ++j)
            _mm256_storeu_ps(y + size_t(j) * size_t(ldy), acc[j]);
    } else {
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        PLAYGROUND_UNROLL
        for (int j = 0; j < NT; ++j)
            _mm256_maskstore_ps(y + size_t(j) * size_t(ldy), mask, acc[j]);
    }
}

// Activation rows per tile: NT int32 sums, int16 pair sums and float accumulators stay in the 16 registers.
constexpr int kTileRows = 4;

template <typename F>
void gemmSimd(const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x, int T, float* y,
    int64_t ldy, void* workspace)
{
    constexpr int G = F::kGroups;
    const size_t nsub = n / 32;
    // The caller's scratch (int8GemmWorkspaceBytes): panel quants, scales, mins, offset corrections.
    uint8_t* const quants = static_cast<uint8_t*>(workspace);
    float* const sc = reinterpret_cast<float*>(quants + nsub * 512);
    float* const mn = sc + nsub * 32;
    int32_t* const corr = reinterpret_cast<int32_t*>(mn + nsub * 16);
    if constexpr (panelOffset<F>() != 0) {
        for (int t = 0; t < T; ++t)
            for (size_t s = 0; s < nsub; ++s)
                for (int g = 0; g < G; ++g)
                    corr[(size_t(t) * nsub + s) * G + size_t(g)] = offsetCorrection<F>(x, n, t, s, g);
    }
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const int count = int(std::min<int64_t>(16, rows - r0));
        packPanel<F>(w + size_t(r0) * rowBytes, rowBytes, count, nsub, quants, sc, mn);
        for (int h = 0; h < 2 && 8 * h < count; ++h) {
            const int halfCount = std::min(8, count - 8 * h);
            const uint8_t* q = quants + 32 * h;
            const float* hsc = sc + 8 * h;
            const float* hmn = mn + 8 * h;
            for (int t0 = 0; t0 < T; t0 += kTileRows) {
                const int8_t* xq = x.q.data() + size_t(t0) * n;
                const float* xd = x.d.data() + size_t(t0) * nsub;
                const float* xdsum = x.dsum.data() + size_t(t0) * nsub;
                const int32_t* c = panelOffset<F>() ? corr + size_t(t0) * nsub * G : nullptr;
                float* yt = y + size_t(t0) * size_t(ldy) + size_t(r0 + 8 * h);
                switch (std::min(kTileRows, T - t0)) {
                case 4:
                    panelTile<F, 4>(q, hsc, hmn, nsub, xq, n, xd, xdsum, c, yt, ldy, halfCount);
                    break;
                case 3:
                    panelTile<F, 3>(q, hsc, hmn, nsub, xq, n, xd, xdsum, c, yt, ldy, halfCount);
                    break;
                case 2:
                    panelTile<F, 2>(q, hsc, hmn, nsub, xq, n, xd, xdsum, c, yt, ldy, halfCount);
                    break;
                default:
                    panelTile<F, 1>(q, hsc, hmn, nsub, xq, n, xd, xdsum, c, yt, ldy, halfCount);
                    break;
                }
            }
        }
    }
}
#endif // PLAYGROUND_ISA_HAS_VNNI
#endif // PLAYGROUND_ISA_HAS_INT8GEMM

} // namespace

PLAYGROUND_INT8GEMM(gemmQ8_0Q8Scalar)
{
    (void)workspace;
    gemmScalar<Q8_0>(w, rowBytes, rows, n, x, T, y, ldy);
}
PLAYGROUND_INT8GEMM(gemmQ4_0Q8Scalar)
{
    (void)workspace;
    gemmScalar<Q4_0>(w, rowBytes, rows, n, x, T, y, ldy);
}
PLAYGROUND_INT8GEMM(gemmQ5_0Q8Scalar)
{
    (void)workspace;
    gemmScalar<Q5_0>(w, rowBytes, rows, n, x, T, y, ldy);
}
PLAYGROUND_INT8GEMM(gemmQ4_KQ8Scalar)
{
    (void)workspace;
    gemmScalar<Q4_K>(w, rowBytes, rows, n, x, T, y, ldy);
}
PLAYGROUND_INT8GEMM(gemmQ5_KQ8Scalar)
{
    (void)workspace;
    gemmScalar<Q5_K>(w, rowBytes, rows, n, x, T, y, ldy);
}
PLAYGROUND_INT8GEMM(gemmQ6_KQ8Scalar)
{
    (void)workspace;
    gemmScalar<Q6_K>(w, rowBytes, rows, n, x, T, y, ldy);
}

#if PLAYGROUND_ISA_HAS_INT8GEMM
PLAYGROUND_INT8GEMM(gemmQ8_0Q8) { gemmSimd<Q8_0>(w, rowBytes, rows, n, x, T, y, ldy, workspace); }
PLAYGROUND_INT8GEMM(gemmQ4_0Q8) { gemmSimd<Q4_0>(w, rowBytes, rows, n, x, T, y, ldy, workspace); }
PLAYGROUND_INT8GEMM(gemmQ5_0Q8) { gemmSimd<Q5_0>(w, rowBytes, rows, n, x, T, y, ldy, workspace); }
PLAYGROUND_INT8GEMM(gemmQ4_KQ8) { gemmSimd<Q4_K>(w, rowBytes, rows, n, x, T, y, ldy, workspace); }
PLAYGROUND_INT8GEMM(gemmQ5_KQ8) { gemmSimd<Q5_K>(w, rowBytes, rows, n, x, T, y, ldy, workspace); }
PLAYGROUND_INT8GEMM(gemmQ6_KQ8) { gemmSimd<Q6_K>(w, rowBytes, rows, n, x, T, y, ldy, workspace); }

// The same panels for the AMX kernels (amxgemm.cpp, int8gemmpanel.h).
namespace {
template <typename F> constexpr Int8GemmPanel panelOf() { return { packPanel<F>, F::kOffset, F::kGroups, F::kHasMin }; }
} // namespace
const Int8GemmPanels& int8GemmPanels()
{
    static constexpr Int8GemmPanels panels { panelOf<Q8_0>(), panelOf<Q4_0>(), panelOf<Q5_0>(), panelOf<Q4_K>(),
        panelOf<Q5_K>(), panelOf<Q6_K>() };
    return panels;
}
#endif

} // namespace engine::PLAYGROUND_ISA_NS
