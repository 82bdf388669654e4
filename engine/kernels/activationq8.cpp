// The activation quantiser and the integer dots, compiled once per ISA level (see isakernels.h).
#include "engine/kernels/isakernels.h"

#include "engine/format/ggmltype.h"
#include "engine/kernels/blockformats.h"
#include "engine/kernels/blockunpack.h"
#include "engine/kernels/decodeprefetch.h"
#include "engine/kernels/q4groups.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace engine::PLAYGROUND_ISA_NS {

void quantizeActivation(const float* x, size_t count, int8_t* q, float* d, float* dsum, int32_t* qsum16)
{
    constexpr size_t kBlock = ActivationQ8::kBlock;
    const size_t nb = count / kBlock;
    size_t b = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__)
    // The same arithmetic as the loop below (cvtps rounds to nearest even, as nearbyint does), 32 at a time.
    for (; b < nb; ++b) {
        const float* xb = x + b * kBlock;
        __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
        v0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v0, v0, _CMP_ORD_Q), v0); // NaN -> 0
        v1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v1, v1, _CMP_ORD_Q), v1);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float scale = amax / 127.0f;
        const __m512 inverse = _mm512_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
        const __m512i lim = _mm512_set1_epi32(127), nlim = _mm512_set1_epi32(-127);
        // An infinite input makes the scale infinite and the inverse 0, and inf * 0 is NaN: 0, as in the loop below
        // (the conversion would give INT_MIN, clamped to -127).
        __m512 p0 = _mm512_mul_ps(v0, inverse), p1 = _mm512_mul_ps(v1, inverse);
        p0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p0, p0, _CMP_ORD_Q), p0);
        p1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p1, p1, _CMP_ORD_Q), p1);
        const __m512i q0 = _mm512_max_epi32(nlim, _mm512_min_epi32(lim, _mm512_cvtps_epi32(p0)));
        const __m512i q1 = _mm512_max_epi32(nlim, _mm512_min_epi32(lim, _mm512_cvtps_epi32(p1)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * kBlock), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * kBlock + 16), _mm512_cvtepi32_epi8(q1));
        const int32_t s0 = _mm512_reduce_add_epi32(q0), s1 = _mm512_reduce_add_epi32(q1);
        d[b] = scale;
        dsum[b] = scale * float(s0 + s1);
        qsum16[2 * b] = s0;
        qsum16[2 * b + 1] = s1;
    }
#elif defined(__AVX2__)
    // The same arithmetic as the loop below, 32 at a time: NaN inputs and NaN products (an infinite input
    // times a zero inverse) become 0, cvtps rounds to nearest even as nearbyint does.
    const __m256 signBit = _mm256_set1_ps(-0.0f);
    const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
    for (; b < nb; ++b) {
        const float* xb = x + b * kBlock;
        __m256 v[4];
        __m256 amax8 = _mm256_setzero_ps();
        for (int i = 0; i < 4; ++i) {
            v[i] = _mm256_loadu_ps(xb + 8 * i);
            v[i] = _mm256_and_ps(v[i], _mm256_cmp_ps(v[i], v[i], _CMP_ORD_Q));
            amax8 = _mm256_max_ps(amax8, _mm256_andnot_ps(signBit, v[i]));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax8), _mm256_extractf128_ps(amax8, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        const float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
        const float scale = amax / 127.0f;
        const __m256 inverse = _mm256_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
        __m256i qi[4];
        for (int i = 0; i < 4; ++i) {
            __m256 r = _mm256_mul_ps(v[i], inverse);
            r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q));
            qi[i] = _mm256_max_epi32(nlim, _mm256_min_epi32(lim, _mm256_cvtps_epi32(r)));
        }
        // Sums of elements 0..15 and 16..31.
        const __m256i h0 = _mm256_add_epi32(qi[0], qi[1]), h1 = _mm256_add_epi32(qi[2], qi[3]);
        __m256i pair = _mm256_hadd_epi32(h0, h1); // h0 0+1, 2+3, h1 0+1, 2+3 | h0 4+5, 6+7, h1 4+5, 6+7
        pair = _mm256_hadd_epi32(pair, pair); // h0 0..3, h1 0..3, (again) | h0 4..7, h1 4..7, (again)
        const __m128i halves = _mm_add_epi32(_mm256_castsi256_si128(pair), _mm256_extracti128_si256(pair, 1));
        const int32_t s0 = _mm_cvtsi128_si32(halves), s1 = _mm_extract_epi32(halves, 1);
        // int32 -> int8 (values within +-127, so the saturating packs are exact), back into element order.
        const __m256i p16a = _mm256_packs_epi32(qi[0], qi[1]), p16b = _mm256_packs_epi32(qi[2], qi[3]);
        const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * kBlock),
            _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        d[b] = scale;
        dsum[b] = scale * float(s0 + s1);
        qsum16[2 * b] = s0;
        qsum16[2 * b + 1] = s1;
    }
#endif
    for (; b < nb; ++b) {
        const float* xb = x + b * kBlock;
        float amax = 0.0f;
        for (size_t j = 0; j < kBlock; ++j)
            amax = std::max(amax, std::fabs(xb[j]));
        const float scale = amax / 127.0f;
        const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
        int8_t* qb = q + b * kBlock;
        int32_t sums[2] = { 0, 0 };
        for (size_t j = 0; j < kBlock; ++j) {
            // |x * inverse| <= 127 up to rounding; the clamp keeps it inside int8, and NaN becomes 0
            // rather than an undefined conversion.
            const float r = std::nearbyint(xb[j] * inverse);
            const float v = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r == r ? r : 0.0f;
            qb[j] = int8_t(v);
            sums[j / 16] += qb[j];
        }
        d[b] = scale;
        dsum[b] = scale * float(sums[0] + sums[1]);
        qsum16[2 * b] = sums[0];
        qsum16[2 * b + 1] = sums[1];
    }
}

// ---------------------------------------------------------------------------------------------
// Dots against an 8-bit quantised input (ActivationQ8, blocks of 32). Inside a block the products
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
int q5Quant(const BlockQ5_0& b, int j)
{
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    return (j < 16 ? b.qs[j] & 0x0F : b.qs[j - 16] >> 4) | int(((qh >> j) & 1) << 4);
}

// Block b's share of a Q8_0/Q4_0/Q5_0 dot: value = (quant - Offset) * d.
template <typename Block, int (*Quant)(const Block&, int), int Offset>
float legacyBlockQ8(const Block& blk, const ActivationQ8& x, size_t b)
{
    int32_t s = 0;
    for (int j = 0; j < 32; ++j)
        s += Quant(blk, j) * x.q[b * 32 + size_t(j)];
    const float dw = f16ToF32(blk.d);
    return dw * x.d[b] * float(s) - float(Offset) * dw * x.dsum[b];
}

template <typename Block, int (*Quant)(const Block&, int), int Offset>
float dotLegacyQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    const Block* blocks = blocksOf<Block>(row);
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; ++b)
        sum += legacyBlockQ8<Block, Quant, Offset>(blocks[b], x, b);
    return sum;
}
} // namespace

float dotQ8_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8<BlockQ8_0, q8Quant, 0>(row, x, n);
}
float dotQ4_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8<BlockQ4_0, q4Quant, 8>(row, x, n);
}
float dotQ5_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8<BlockQ5_0, q5Quant, 16>(row, x, n);
}

namespace {
template <typename Block, bool FiveBit> float dotKQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
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

float dotQ4_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotKQ8Scalar<BlockQ4_K, false>(row, x, n);
}
float dotQ5_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotKQ8Scalar<BlockQ5_K, true>(row, x, n);
}

float dotQ6_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
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
inline __m512i loadInput64(const ActivationQ8& x, size_t offset)
{
    return _mm512_loadu_si512(reinterpret_cast<const void*>(x.q.data() + offset));
}
// The f16 scales of four consecutive legacy blocks as floats: packed into one 64-bit word with scalar operations
// and moved over once (inserting them word by word took three shuffles on the port the dot products need; picking
// them out of two 64-byte loads of the blocks with one word permute was slower still).
template <typename Block> inline __m128 fourScales(const Block* blocks)
{
    const uint64_t packed = uint64_t(blocks[0].d) | (uint64_t(blocks[1].d) << 16) | (uint64_t(blocks[2].d) << 32)
        | (uint64_t(blocks[3].d) << 48);
    return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(packed)));
}
// Spreads four per-block scales (in the low 128 bits) over the lanes of two products of two blocks each.
inline __m512 spreadScales(__m128 s4, int pair)
{
    const __m512i first = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i second = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    return _mm512_permutexvar_ps(pair ? second : first, _mm512_castps128_ps512(s4));
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
// Sums the 64 int32 lanes of four 512-bit products into 16: lane 4c + k of the result is the sum of the four lanes
// of chunk c (lanes 4c..4c+3) of dp[k]. Two saturating packs to int16 and pairwise madds; exact while every lane
// of dp and every sum of two neighbouring lanes stays within int16 (the callers' bounds), so the float side
// converts and scales one vector instead of four.
inline __m512i sumFourProducts(const __m512i dp[4])
{
    const __m512i ones = _mm512_set1_epi16(1);
    // packs(a, b) puts chunk c of a, then chunk c of b, in chunk c; the madd adds neighbouring pairs.
    const __m512i p01 = _mm512_madd_epi16(_mm512_packs_epi32(dp[0], dp[1]), ones);
    const __m512i p23 = _mm512_madd_epi16(_mm512_packs_epi32(dp[2], dp[3]), ones);
    return _mm512_madd_epi16(_mm512_packs_epi32(p01, p23), ones);
}
// A Q8_0/Q4_0/Q5_0 row against x: one 512-bit int32 product per two blocks, four blocks per step with
// their scales and offsets in vector registers; the last one to three blocks by the scalar reference.
// quants(b) gives blocks b and b+1 as 64 bytes in element order: unsigned, or (Signed) signed; a block's
// value is (quant - Offset) * d, the offset coming off through x's block sums. (Eight blocks per step with their
// four products summed in integers, as the K-quants do, was 6-9% slower for Q4_0: its per-block f16 scales, not
// the float work, are the cost here.)
template <typename Block, int (*Quant)(const Block&, int), int Offset, bool Signed, typename Quants>
float dotLegacyQ8Simd(const uint8_t* row, const ActivationQ8& x, size_t n, Quants quants)
{
    const Block* blocks = blocksOf<Block>(row);
    const size_t nb = n / 32;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m128 offsets = _mm_setzero_ps(); // sum over blocks of d_w * d_x * sum(q_x)
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        decodeprefetch::aheadTwice<4 * sizeof(Block)>(blocks + b);
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
    // One horizontal sum per row: rows of 768 have only 24 blocks, so these reductions are a noticeable share.
    __m512 all = _mm512_add_ps(acc0, acc1);
    if constexpr (Offset != 0)
        all = _mm512_fnmadd_ps(_mm512_set1_ps(float(Offset)), _mm512_zextps128_ps512(offsets), all);
    float sum = _mm512_reduce_add_ps(all);
    for (; b < nb; ++b)
        sum += legacyBlockQ8<Block, Quant, Offset>(blocks[b], x, b);
    return sum;
}
} // namespace

float dotQ8_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8Simd<BlockQ8_0, q8Quant, 0, true>(row, x, n, [](const BlockQ8_0* blocks, size_t i) {
        return _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[i].qs))),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[i + 1].qs)), 1);
    });
}

// Decode of 4-bit rows is bound by the vector ports on one core (512-bit work goes to two ports only), so the
// unpacking spends as few vector instructions as it can: a block's 16 bytes are broadcast into two 128-bit lanes and
// the upper copy shifted right by 4 with one variable word shift (the bits shifted in from the neighbouring byte
// are masked off), so one AND leaves elements 0..15 and 16..31 in x's order, without lane shuffles.
float dotQ4_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    constexpr long long kBy4 = 0x0004000400040004LL;
    const __m512i shifts = _mm512_set_epi64(kBy4, kBy4, 0, 0, kBy4, kBy4, 0, 0);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    return dotLegacyQ8Simd<BlockQ4_0, q4Quant, 8, false>(row, x, n, [&](const BlockQ4_0* blocks, size_t i) {
        const __m256i q0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i].qs)));
        const __m256i q1
            = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i + 1].qs)));
        return _mm512_and_si512(_mm512_srlv_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), shifts), low4);
    });
}

// A Q4_0 row in decode's groups (q4groups.h) against x: per group one 64-byte load, the low nibbles against x's first
// 64 values and the high ones against its last 64 in x's own order, the two products' four-lane chunks summed
// pairwise in integers (packs and madd: a lane is four products of at most 15 * 127, two of them 15240, within
// int16), so lane 4c + k holds half of block (c < 2 ? 0 : 1) + (k < 2 ? 0 : 2)'s sum; one convert, one scale spread,
// one fma per four blocks.
float dotQ4_0GroupsQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    const __m512i low4 = _mm512_set1_epi8(0x0F), ones = _mm512_set1_epi16(1);
    const __m512i blockOfLane = _mm512_setr_epi32(0, 0, 2, 2, 0, 0, 2, 2, 1, 1, 3, 3, 1, 1, 3, 3);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m128 offsets = _mm_setzero_ps(); // sum over blocks of d_w * d_x * sum(q_x)
    const size_t groups = n / kQ4GroupValues;
    for (size_t g = 0; g < groups; ++g) {
        const uint8_t* p = row + g * kQ4GroupBytes;
        decodeprefetch::aheadTwice<kQ4GroupBytes>(p);
        const __m512i v = _mm512_loadu_si512(p + 8);
        const __m512i lo = _mm512_and_si512(v, low4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        const __m512i d0 = dotU8S8(lo, loadInput64(x, g * kQ4GroupValues));
        const __m512i d1 = dotU8S8(hi, loadInput64(x, g * kQ4GroupValues + 64));
        const __m512i sums = _mm512_madd_epi16(_mm512_packs_epi32(d0, d1), ones);
        const __m128 dw = _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
        const __m128 s4 = _mm_mul_ps(dw, _mm_loadu_ps(x.d.data() + 4 * g));
        offsets = _mm_fmadd_ps(dw, _mm_loadu_ps(x.dsum.data() + 4 * g), offsets);
        const __m512 scaled = _mm512_permutexvar_ps(blockOfLane, _mm512_castps128_ps512(s4));
        if (g & 1) // two accumulators: the fma chains of neighbouring groups overlap
            acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), scaled, acc1);
        else
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), scaled, acc0);
    }
    const __m512 all
        = _mm512_fnmadd_ps(_mm512_set1_ps(8.0f), _mm512_zextps128_ps512(offsets), _mm512_add_ps(acc0, acc1));
    return _mm512_reduce_add_ps(all);
}

float dotQ5_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8Simd<BlockQ5_0, q5Quant, 16, false>(row, x, n, [](const BlockQ5_0* blocks, size_t i) {
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
// Q4_K/Q5_K: a super-block's four 512-bit products (pair p: sub-blocks 2p in lanes 0..7, 2p+1 in 8..15) are
// summed in integers (sumFourProducts) into one vector whose lane 4c + k holds sub-block 2k + c / 2, converted
// and scaled once. Its bound: a product lane is four u8 * s8 products, at most 4 * 31 * 127 = 15748 (5-bit
// quants; 7620 for 4-bit) and two of them 31496 < 32767, so the packs never saturate. On this level's CPUs
// the float work per pair (convert, spread the scales, a dependent fma) cost more than the two-port integer
// work it now shares with the products.
template <typename Block, bool FiveBit> float dotKQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    const Block* blocks = blocksOf<Block>(row);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i sixteen = _mm512_set1_epi8(16);
    const __m512i upperBy4 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    // Lane 4c + k of the summed products: chunk c of pair k, so sub-block 2k + c / 2.
    const __m512i subOfLane = _mm512_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6, 1, 3, 5, 7, 1, 3, 5, 7);
    const __m128i lowShift = _mm_setr_epi32(0, 0, 0, 4);
    const __m128i lowMask = _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f);
    const __m128i highMask = _mm_setr_epi32(0, 0x30303030, 0, 0x30303030);
    const __m256i dThenDmin = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, //
        2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    __m512 acc = _mm512_setzero_ps();
    __m512 mins = _mm512_setzero_ps(); // lanes 8..15, per sub-block: dmin * m * d_x * sum(q_x)
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const Block& blk = blocks[b];
        decodeprefetch::aheadTwice<sizeof(blk)>(&blk);
        // The eight 6-bit scales and mins (scaleMinK4) with ggml's 32-bit word operations, done in the four lanes
        // of one vector (words W0..W2 of the scales; the scalar version and its move over cost a fifth of the
        // kernel's time): bytes 0..7 of `sm` are the scales, 8..15 the mins. Lanes: W0 & 0x3f, (W2 & 0x0f) |
        // (W0 >> 6 & 3) << 4, W1 & 0x3f, (W2 >> 4 & 0x0f) | (W1 >> 6 & 3) << 4, per byte.
        const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales)); // and 4 bytes after them
        const __m128i lowBits = _mm_and_si128(
            _mm_srlv_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0)), lowShift), lowMask); // W0, W2, W1, W2 >> 4
        const __m128i sm = _mm_ternarylogic_epi32( // A | (B & C)
            lowBits, _mm_srli_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0)), 2), highMask, 0xF8);
        // Lanes 0..7: d * sc * d_x per sub-block; 8..15: dmin * m * d_x * sum(q_x). d and dmin are adjacent f16s:
        // broadcast, then spread to eight words each by one in-lane byte shuffle.
        const __m512 dd = _mm512_cvtph_ps(_mm256_shuffle_epi8(
            _mm256_broadcastd_epi32(_mm_loadu_si32(reinterpret_cast<const void*>(&blk.d))), dThenDmin));
        const __m512 xs = _mm512_insertf32x8(
            _mm512_castps256_ps512(_mm256_loadu_ps(x.d.data() + b * 8)), _mm256_loadu_ps(x.dsum.data() + b * 8), 1);
        const __m512 factors = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(sm)), dd), xs);
        mins = _mm512_add_ps(mins, factors);
        __m512i qh = _mm512_setzero_si512();
        if constexpr (FiveBit)
            qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh)));
        __m512i dp[4];
        for (int p = 0; p < 4; ++p) { // sub-blocks 2p and 2p+1: 64 elements, one 512-bit product
            // the 32 bytes in both halves, the upper half shifted by 4: low nibbles, then high ones
            const __m512i raw
                = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p)));
            __m512i u = _mm512_and_si512(_mm512_srlv_epi16(raw, upperBy4), low4);
            if constexpr (FiveBit) { // bit j of qh[l] is element l's fifth bit in sub-block j
                const __m512i bit
                    = _mm512_inserti64x4(_mm512_set1_epi8(char(1 << (2 * p))), _mm256_set1_epi8(char(2 << (2 * p))), 1);
                u = _mm512_mask_add_epi8(u, _mm512_test_epi8_mask(qh, bit), u, sixteen);
            }
            dp[p] = dotU8S8(u, loadInput64(x, (b * 8 + size_t(2 * p)) * 32));
        }
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumFourProducts(dp)), _mm512_permutexvar_ps(subOfLane, factors), acc);
    }
    return _mm512_reduce_add_ps(_mm512_mask_sub_ps(acc, 0xFF00, acc, mins));
}
} // namespace

float dotQ4_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n) { return dotKQ8<BlockQ4_K, false>(row, x, n); }
float dotQ5_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n) { return dotKQ8<BlockQ5_K, true>(row, x, n); }

// Q6_K: a half super-block (128 elements) is unpacked in two 512-bit vectors straight into the 0..63 values dpbusd
// multiplies (the 64 low-nibble bytes in one load, the 32 high-bit bytes broadcast into both halves and shifted
// there), and its two products are summed pairwise in integers before one conversion: a product lane is four
// u8 * s8 products, at most 4 * 63 * 127 = 32004, which the pack to int16 keeps exactly (the madd then sums two
// of them in int32).
float dotQ6_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    const BlockQ6_K* blocks = blocksOf<BlockQ6_K>(row);
    // Element pairs of x's block scales: group (16 elements) G uses x block G / 2.
    const __m512i blockOfGroup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    // Lane 4c + i of half h's summed products holds group 8h + c (i < 2) or 8h + 4 + c (i >= 2).
    const __m512i groupOfLane0 = _mm512_setr_epi32(0, 0, 4, 4, 1, 1, 5, 5, 2, 2, 6, 6, 3, 3, 7, 7);
    const __m512i groupOfLane1 = _mm512_add_epi32(groupOfLane0, _mm512_set1_epi32(8));
    const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    const __m512i ones = _mm512_set1_epi16(1);
    // Quarters 0 and 1 of a half take qh's bits 0-1 and 2-3 to bits 4-5; quarters 2 and 3 its bits 4-5 and 6-7.
    const __m512i highUp = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i highDown = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 offsets = _mm512_setzero_ps(); // per group: scale * sum(q_x), the "- 32" of every value
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ6_K& blk = blocks[b];
        decodeprefetch::aheadTwice<sizeof(blk)>(&blk);
        // The 16 group scales d * sc[G] * d_x(G), all at once.
        const __m512 sc
            = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales))));
        const __m512 dx
            = _mm512_permutexvar_ps(blockOfGroup, _mm512_castps256_ps512(_mm256_loadu_ps(x.d.data() + b * 8)));
        const __m512 scale = _mm512_mul_ps(_mm512_mul_ps(sc, _mm512_set1_ps(f16ToF32(blk.d))), dx);
        offsets = _mm512_fmadd_ps(scale,
            _mm512_cvtepi32_ps(_mm512_loadu_si512(reinterpret_cast<const void*>(x.qsum16.data() + b * 16))), offsets);
        for (int half = 0; half < 2; ++half) {
            const __m512i ql = _mm512_loadu_si512(reinterpret_cast<const void*>(blk.ql + 64 * half));
            const __m512i qh
                = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh + 32 * half)));
            // (low & 0x0F) | (high & 0x30): ternary-logic function 0xF8 is A | (B & C)
            const __m512i u01
                = _mm512_ternarylogic_epi32(_mm512_and_si512(ql, low4), _mm512_sllv_epi16(qh, highUp), bits45, 0xF8);
            const __m512i u23 = _mm512_ternarylogic_epi32(
                _mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), _mm512_srlv_epi16(qh, highDown), bits45, 0xF8);
            const size_t xo = b * kQK_K + size_t(128 * half);
            const __m512i dp01 = dotU8S8(u01, loadInput64(x, xo)), dp23 = dotU8S8(u23, loadInput64(x, xo + 64));
            const __m512 s = _mm512_cvtepi32_ps(_mm512_madd_epi16(_mm512_packs_epi32(dp01, dp23), ones));
            __m512& acc = half ? acc1 : acc0;
            acc = _mm512_fmadd_ps(s, _mm512_permutexvar_ps(half ? groupOfLane1 : groupOfLane0, scale), acc);
        }
    }
    return _mm512_reduce_add_ps(_mm512_fnmadd_ps(_mm512_set1_ps(32.0f), offsets, _mm512_add_ps(acc0, acc1)));
}
#elif defined(__AVX2__)
// The avx2 level (x86-64-v3): 256-bit versions of the dots above, as ggml does them for AVX2. maddubs adds
// pairs of u8*s8 products in int16 with saturation, which never happens here: every unsigned quant is at most
// 128 (Q8_0's |q| after moving its sign onto x, 63 for Q6_K, 31 for the 5-bit and 15 for the 4-bit formats)
// and |q_x| <= 127, so a pair is at most 32512. The int32 sums are the scalar ones exactly; only the float
// sums differ in order (within the rounding the tests allow).
namespace {
// 8 int32 sums of four u8*s8 products each (bytes 4i..4i+3 of u and s go to lane i).
inline __m256i dotU8S8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
inline __m256i loadInput32(const ActivationQ8& x, size_t offset)
{
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.q.data() + offset));
}
inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
// 0xFF in byte j where bit j of `bits` is set, 0 elsewhere.
inline __m256i bytesFromBits(uint32_t bits)
{
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)),
        _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    // every bit but bit j % 8 set in byte j: all ones exactly where bit j was set
    const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    return _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1));
}
// The 32 nibbles of a Q4_0/Q5_0 block in element order: low nibbles of its 16 bytes, then the high ones.
inline __m256i legacyNibbles(const uint8_t* qs)
{
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}

// A Q8_0/Q4_0/Q5_0 row against x: one 256-bit int32 product per block, its float scale d_w * d_x broadcast,
// four blocks per step with their scales and offsets in vector registers; the last one to three blocks by the
// scalar reference. product(blocks, b, x) gives block b's eight int32 partial sums of q * q_x (unsigned q, whose
// Offset comes off through x's block sums, or Q8_0's signed q).
template <typename Block, int (*Quant)(const Block&, int), int Offset, typename Product>
float dotLegacyQ8Avx2(const uint8_t* row, const ActivationQ8& x, size_t n, Product product)
{
    const Block* blocks = blocksOf<Block>(row);
    const size_t nb = n / 32;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m128 offsets = _mm_setzero_ps(); // sum over blocks of d_w * d_x * sum(q_x)
    size_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        decodeprefetch::aheadTwice<4 * sizeof(Block)>(blocks + b);
        const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(
            short(blocks[b].d), short(blocks[b + 1].d), short(blocks[b + 2].d), short(blocks[b + 3].d), 0, 0, 0, 0));
        alignas(16) float s4[4];
        _mm_store_ps(s4, _mm_mul_ps(dw, _mm_loadu_ps(x.d.data() + b)));
        if constexpr (Offset != 0)
            offsets = _mm_fmadd_ps(dw, _mm_loadu_ps(x.dsum.data() + b), offsets);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(product(blocks, b, x)), _mm256_broadcast_ss(s4), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(product(blocks, b + 1, x)), _mm256_broadcast_ss(s4 + 1), acc1);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(product(blocks, b + 2, x)), _mm256_broadcast_ss(s4 + 2), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(product(blocks, b + 3, x)), _mm256_broadcast_ss(s4 + 3), acc1);
    }
    __m128 o = _mm_add_ps(offsets, _mm_movehl_ps(offsets, offsets));
    o = _mm_add_ss(o, _mm_movehdup_ps(o));
    float sum = hsum256(_mm256_add_ps(acc0, acc1)) - float(Offset) * _mm_cvtss_f32(o);
    for (; b < nb; ++b)
        sum += legacyBlockQ8<Block, Quant, Offset>(blocks[b], x, b);
    return sum;
}
} // namespace

float dotQ8_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8Avx2<BlockQ8_0, q8Quant, 0>(
        row, x, n, [](const BlockQ8_0* blocks, size_t b, const ActivationQ8& xq) {
            const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[b].qs));
            // |w| times x with w's sign moved onto x (|-128| is 128 as an unsigned byte)
            return dotU8S8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(loadInput32(xq, b * 32), w));
        });
}

float dotQ4_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8Avx2<BlockQ4_0, q4Quant, 8>(
        row, x, n, [](const BlockQ4_0* blocks, size_t b, const ActivationQ8& xq) {
            return dotU8S8(legacyNibbles(blocks[b].qs), loadInput32(xq, b * 32));
        });
}

float dotQ5_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return dotLegacyQ8Avx2<BlockQ5_0, q5Quant, 16>(
        row, x, n, [](const BlockQ5_0* blocks, size_t b, const ActivationQ8& xq) {
            uint32_t qh;
            std::memcpy(&qh, blocks[b].qh, 4);
            // bit j of qh is element j's fifth bit
            const __m256i u = _mm256_or_si256(
                legacyNibbles(blocks[b].qs), _mm256_and_si256(bytesFromBits(qh), _mm256_set1_epi8(16)));
            return dotU8S8(u, loadInput32(xq, b * 32));
        });
}

namespace {
template <typename Block, bool FiveBit> float dotKQ8Avx2(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    const Block* blocks = blocksOf<Block>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i sixteen = _mm256_set1_epi8(16);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 mins = _mm256_setzero_ps(); // per sub-block: dmin * m * d_x * sum(q_x)
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const Block& blk = blocks[b];
        decodeprefetch::aheadTwice<sizeof(blk)>(&blk);
        alignas(32) float sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
            uint8_t s6, m6;
            scaleMinK4(j, blk.scales, s6, m6);
            sc[j] = float(s6);
            m[j] = float(m6);
        }
        _mm256_store_ps(sc,
            _mm256_mul_ps(_mm256_mul_ps(_mm256_load_ps(sc), _mm256_set1_ps(f16ToF32(blk.d))),
                _mm256_loadu_ps(x.d.data() + b * 8)));
        mins = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_load_ps(m), _mm256_set1_ps(f16ToF32(blk.dmin))),
            _mm256_loadu_ps(x.dsum.data() + b * 8), mins);
        __m256i qh = _mm256_setzero_si256();
        if constexpr (FiveBit)
            qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh));
        for (int p = 0; p < 4; ++p) { // sub-blocks 2p (low nibbles) and 2p+1 (high nibbles) share 32 bytes
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p));
            __m256i lo = _mm256_and_si256(raw, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
            if constexpr (FiveBit) { // bit j of qh[l] is element l's fifth bit in sub-block j: bit 0 to bit 4
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(qh, 4), sixteen));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(qh, 3), sixteen));
                qh = _mm256_srli_epi16(qh, 2);
            }
            const size_t xb = b * 8 + size_t(2 * p);
            acc0 = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(dotU8S8(lo, loadInput32(x, xb * 32))), _mm256_broadcast_ss(sc + 2 * p), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dotU8S8(hi, loadInput32(x, xb * 32 + 32))),
                _mm256_broadcast_ss(sc + 2 * p + 1), acc1);
        }
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) - hsum256(mins);
}
} // namespace

float dotQ4_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n) { return dotKQ8Avx2<BlockQ4_K, false>(row, x, n); }
float dotQ5_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n) { return dotKQ8Avx2<BlockQ5_K, true>(row, x, n); }

float dotQ6_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    const BlockQ6_K* blocks = blocksOf<BlockQ6_K>(row);
    // x's block scale of each of 8 groups (16 elements; group G uses x block G / 2).
    const __m256i blockOfGroup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    // A quarter's product: lanes 0..3 are its first group (2k of the half), 4..7 its second.
    __m256i groupOfLane[4];
    for (int k = 0; k < 4; ++k)
        groupOfLane[k] = _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1);
    const __m256i bias = _mm256_set1_epi8(32); // unpackQ6Half gives q - 32; back to 0..63
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 offsets = _mm256_setzero_ps(); // per group: scale * sum(q_x), the "- 32" of every value
    for (size_t b = 0; b < n / kQK_K; ++b) {
        const BlockQ6_K& blk = blocks[b];
        decodeprefetch::aheadTwice<sizeof(blk)>(&blk);
        const __m256 d = _mm256_set1_ps(f16ToF32(blk.d));
        for (int half = 0; half < 2; ++half) { // groups 8 half .. 8 half + 7, x blocks 4 half .. 4 half + 3
            const __m256 sc = _mm256_cvtepi32_ps(
                _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk.scales + 8 * half))));
            const __m256 dx = _mm256_permutevar8x32_ps(
                _mm256_castps128_ps256(_mm_loadu_ps(x.d.data() + b * 8 + size_t(4 * half))), blockOfGroup);
            const __m256 scale = _mm256_mul_ps(_mm256_mul_ps(sc, d), dx);
            offsets = _mm256_fmadd_ps(scale,
                _mm256_cvtepi32_ps(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qsum16.data() + b * 16 + size_t(8 * half)))),
                offsets);
            __m256i q[4];
            unpackQ6Half(blk, half, q);
            for (int k = 0; k < 4; ++k) {
                const __m256i dp
                    = dotU8S8(_mm256_add_epi8(q[k], bias), loadInput32(x, b * kQK_K + size_t(128 * half + 32 * k)));
                __m256& acc = (k & 1) ? acc1 : acc0;
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dp), _mm256_permutevar8x32_ps(scale, groupOfLane[k]), acc);
            }
        }
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) - 32.0f * hsum256(offsets);
}
#else // qualified: x's type is in engine::, where argument-dependent lookup finds the dispatching references too
float dotQ8_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return PLAYGROUND_ISA_NS::dotQ8_0Q8Scalar(row, x, n);
}
float dotQ4_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return PLAYGROUND_ISA_NS::dotQ4_0Q8Scalar(row, x, n);
}
float dotQ5_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return PLAYGROUND_ISA_NS::dotQ5_0Q8Scalar(row, x, n);
}
float dotQ4_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return PLAYGROUND_ISA_NS::dotQ4_KQ8Scalar(row, x, n);
}
float dotQ5_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return PLAYGROUND_ISA_NS::dotQ5_KQ8Scalar(row, x, n);
}
float dotQ6_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return PLAYGROUND_ISA_NS::dotQ6_KQ8Scalar(row, x, n);
}
#endif

} // namespace engine::PLAYGROUND_ISA_NS
