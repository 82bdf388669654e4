// The float matrix products of prefill and attention, compiled once per ISA level (see isakernels.h): by Eigen, and
// prefill's product with a block of weight rows (matmulWeights) by a kernel of our own on AVX-512.
#include "engine/kernels/isakernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

// Eigen picks its packet width from the compiler's target macros, and its templates would otherwise have the
// same names in every level's copy: each level gets Eigen in a namespace of its own.
#define PLAYGROUND_ISA_CAT2(a, b) a##b
#define PLAYGROUND_ISA_CAT(a, b) PLAYGROUND_ISA_CAT2(a, b)
#define Eigen PLAYGROUND_ISA_CAT(Eigen_, PLAYGROUND_ISA_NS)
#include <Eigen/Core>

namespace engine::PLAYGROUND_ISA_NS {

namespace {
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;

void matmulTransposedEigen(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
    int64_t n, int64_t k, float alpha)
{
    const ConstMap A(a, m, k, Eigen::OuterStride<>(lda));
    const ConstMap B(b, n, k, Eigen::OuterStride<>(ldb));
    MutMap C(c, m, n, Eigen::OuterStride<>(ldc));
    if (alpha == 1.0f)
        C.noalias() = A * B.transpose();
    else
        C.noalias() = (A * B.transpose()) * alpha;
}

void matmulEigen(
    const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k)
{
    const ConstMap A(a, m, k, Eigen::OuterStride<>(lda));
    const ConstMap B(b, k, n, Eigen::OuterStride<>(ldb));
    MutMap C(c, m, n, Eigen::OuterStride<>(ldc));
    C.noalias() = A * B;
}

// Per-thread room (packed panels, attention's scores), grown as needed. Not a std::vector: a standard template
// instantiated in this level's copy could be linked into the others (see smaller() below).
class Scratch {
public:
    Scratch() = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() { delete[] m_data; }
    float* get(int64_t n)
    {
        if (n > m_size) {
            delete[] m_data;
            m_data = new float[size_t(n)];
            m_size = n;
        }
        return m_data;
    }

private:
    float* m_data = nullptr;
    int64_t m_size = 0;
};
thread_local Scratch t_scores;
} // namespace

#if defined(__AVX512F__)
namespace {
// One SIMD register of floats: a panel of kLanes weight rows side by side.
struct Simd {
    using V = __m512;
    static constexpr int kLanes = 16;
    // The register tile: kPanels panels × kTokens tokens of accumulators (24 of the 32 zmm), per k kPanels loads
    // and kTokens broadcasts for kPanels·kTokens FMAs. Measured here: 4×6 beat 2×12 and 1×24.
    static constexpr int kPanels = 4, kTokens = 6;
    static V zero() { return _mm512_setzero_ps(); }
    static V load(const float* p) { return _mm512_loadu_ps(p); }
    static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static __mmask16 mask(int n) { return __mmask16((1u << n) - 1u); }
    static void storeY(float* p, V v, int n)
    {
        if (n == kLanes)
            _mm512_storeu_ps(p, v);
        else
            _mm512_mask_storeu_ps(p, mask(n), v);
    }
    static V gather(const float* base, __m512i idx) { return _mm512_i32gather_ps(idx, base, 4); }
    static __m512i rowOffsets(int64_t ld)
    {
        return _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(int(ld)));
    }
};
constexpr int kLanes = Simd::kLanes;
static_assert(kLanes == kWeightPanelRows, "packWeightPanels' panels are the tiles' panels");
// Not std::min: a standard template instantiated in two levels' copies could be linked to the wider one's code.
constexpr int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }
// A 16 × 16 block of floats transposed in registers: r[i] holds row i on entry and column i on return. Pairs of rows
// are interleaved (unpack), then pairs of pairs (shuffle), then 128-bit lanes across four and eight rows.
inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; ++i) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

// Rows [0, rows) of w into panels of kLanes rows, column-major within a panel (for each k the panel's kLanes
// weights side by side: one aligned load); the last panel padded with zeros. Full panels by 16 × 16 transposes in
// registers, 16 columns at a time (standalone, 64 rows × 768 columns: 8.1 µs against 19-20 µs by one gather per
// column — gathers are slow on this host — and the product of such a block with 128 tokens takes about 100 µs).
void packPanels(const float* w, int64_t ldw, int64_t rows, int64_t k, float* out)
{
    const auto idx = Simd::rowOffsets(ldw);
    for (int64_t p = 0; p < rows; p += kLanes) {
        float* o = out + p * k;
        const float* wp = w + p * ldw;
        const int64_t n = smaller(kLanes, rows - p);
        if (n == kLanes) {
            int64_t j = 0;
            for (; j + kLanes <= k; j += kLanes) {
                __m512 r[kLanes];
                for (int i = 0; i < kLanes; ++i)
                    r[i] = _mm512_loadu_ps(wp + i * ldw + j);
                transpose16(r);
                for (int c = 0; c < kLanes; ++c)
                    *reinterpret_cast<Simd::V*>(o + (j + c) * kLanes) = r[c];
            }
            for (; j < k; ++j)
                *reinterpret_cast<Simd::V*>(o + j * kLanes) = Simd::gather(wp + j, idx);
        } else {
            for (int64_t j = 0; j < k; ++j)
                for (int64_t i = 0; i < kLanes; ++i)
                    o[j * kLanes + i] = i < n ? wp[i * ldw + j] : 0.0f;
        }
    }
}

// y[t][0 .. P·kLanes) (the last panel only its lastRows) = x[t] · the panels' columns, for NT tokens, in one pass
// over all k columns. Each output is one FMA chain in column order from zero, whatever the tile: so the result never
// depends on how rows and tokens are grouped. One pass, not slices of columns with the partial sums stored and
// reloaded between them: the tile's weight loads then stream from L2 while the token rows stay in L1. Measured here
// (standalone, one process alternating both, thread CPU time, 8 shapes × 2 cores): whole rows beat 128-column slices
// in every pair, by 5-26% (e.g. T 216, k 2048, 768 rows: 81.6 → 102.6 GFLOP/s; k 768, 2048 rows: 130 → 160).
// Where a tile's weights are: panel p's kLanes values for column j at base + p·panelStride + j·kStride. Packed panels
// (packPanels): panelStride k·kLanes, kStride kLanes. A row-major k × rows matrix used as it is: panelStride kLanes,
// kStride its leading dimension.
struct Panels {
    const float* base;
    int64_t panelStride, kStride;
    Panels group(int64_t firstRow) const { return { base + firstRow / kLanes * panelStride, panelStride, kStride }; }
};

// Scaled: each output is stored as (its chain) · alpha, one rounding more, as a product scaled afterwards would be.
template <int P, int NT, bool Scaled = false>
void tile(
    const Panels& w, int64_t k, const float* x, int64_t ldx, float* y, int64_t ldy, int lastRows, float alpha = 1.0f)
{
    Simd::V acc[P][NT];
    for (int p = 0; p < P; ++p)
        for (int t = 0; t < NT; ++t)
            acc[p][t] = Simd::zero();
    for (int64_t j = 0; j < k; ++j) {
        Simd::V wv[P];
        for (int p = 0; p < P; ++p)
            wv[p] = Simd::load(w.base + p * w.panelStride + j * w.kStride);
        for (int t = 0; t < NT; ++t) {
            const Simd::V xb = Simd::broadcast(x + t * ldx + j);
            for (int p = 0; p < P; ++p)
                acc[p][t] = Simd::fma(wv[p], xb, acc[p][t]);
        }
    }
    if constexpr (Scaled) {
        const Simd::V a = _mm512_set1_ps(alpha);
        for (int p = 0; p < P; ++p)
            for (int t = 0; t < NT; ++t)
                acc[p][t] = _mm512_mul_ps(acc[p][t], a);
    }
    for (int p = 0; p < P; ++p)
        for (int t = 0; t < NT; ++t)
            Simd::storeY(y + t * ldy + p * kLanes, acc[p][t], p == P - 1 ? lastRows : kLanes);
}

template <int P, bool Scaled = false>
void tokens(const Panels& w, int64_t k, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t T, int lastRows,
    float alpha = 1.0f)
{
    int64_t t = 0;
    for (; t + Simd::kTokens <= T; t += Simd::kTokens)
        tile<P, Simd::kTokens, Scaled>(w, k, x + t * ldx, ldx, y + t * ldy, ldy, lastRows, alpha);
    // The remaining tokens (fewer than kTokens) in one narrower tile: each weight load still serves all of them.
    static_assert(Simd::kTokens == 6);
    const float* xt = x + t * ldx;
    float* yt = y + t * ldy;
    switch (T - t) {
    case 5:
        tile<P, 5, Scaled>(w, k, xt, ldx, yt, ldy, lastRows, alpha);
        break;
    case 4:
        tile<P, 4, Scaled>(w, k, xt, ldx, yt, ldy, lastRows, alpha);
        break;
    case 3:
        tile<P, 3, Scaled>(w, k, xt, ldx, yt, ldy, lastRows, alpha);
        break;
    case 2:
        tile<P, 2, Scaled>(w, k, xt, ldx, yt, ldy, lastRows, alpha);
        break;
    case 1:
        tile<P, 1, Scaled>(w, k, xt, ldx, yt, ldy, lastRows, alpha);
        break;
    default:
        break;
    }
}

// y (T × rows) = x (T × k) · the weights w describes, in groups of kPanels panels.
void runTiles(const Panels& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t T, int64_t rows, int64_t k)
{
    constexpr int64_t kGroup = int64_t(Simd::kPanels) * kLanes;
    for (int64_t r = 0; r < rows; r += kGroup) {
        const int64_t n = smaller(kGroup, rows - r);
        const int panelCount = int((n + kLanes - 1) / kLanes);
        const int lastRows = int(n - int64_t(panelCount - 1) * kLanes);
        const Panels g = w.group(r);
        float* yr = y + r;
        switch (panelCount) {
        case 4:
            tokens<4>(g, k, x, ldx, yr, ldy, T, lastRows);
            break;
        case 3:
            tokens<3>(g, k, x, ldx, yr, ldy, T, lastRows);
            break;
        case 2:
            tokens<2>(g, k, x, ldx, yr, ldy, T, lastRows);
            break;
        default:
            tokens<1>(g, k, x, ldx, yr, ldy, T, lastRows);
            break;
        }
    }
}

void zeroRows(float* y, int64_t ldy, int64_t T, int64_t rows)
{
    for (int64_t t = 0; t < T; ++t)
        for (int64_t r = 0; r < rows; ++r)
            y[t * ldy + r] = 0.0f;
}

thread_local Scratch t_panels;

// Attention's products go through the tiles from this many query tokens on (prefill); fewer (decode) keep Eigen's
// matrix-vector code, which packs nothing.
constexpr int64_t kMinTileTokens = 16;

// ---- attention at avx512: from kMinTileTokens queries on, for heads of whole panels

// Queries per block (measured here at or ahead of 12, 24, 36 and 96): the block's scores, 48 × keys, stay in L1/L2.
constexpr int kTiledQueryBlock = 48;
// The S·V tile's tokens for a head of P panels. Each token is a row of scores of its own (one pointer each): 12 tokens
// of 2 panels ran out of registers for them and were 3-4% slower than 8 at head dim 32 (kernel alone, 10 rounds);
// at 3 panels 8 and 6 were level, 10 slower; at 4 panels 6 and 4 level.
template <int P> constexpr int valueTokens() { return P <= 3 ? 8 : 6; }
thread_local Scratch t_keyPanels;

// out[i] (n tokens, n < NT) = s[i] · V[0, base + n): the tail of valueRows, in one tile of n tokens.
template <int P, int NT>
void valueTail(int n, const Panels& v, int64_t base, const float* s, int64_t lds, float* o, int64_t ldo)
{
    if constexpr (NT > 1) {
        if (n == NT - 1)
            tile<P, NT - 1>(v, base + n, s, lds, o, ldo, kLanes);
        else
            valueTail<P, NT - 1>(n, v, base, s, lds, o, ldo);
    }
}

// out (m × P·kLanes) = S (m × keys) · V, token i's row summed over keys [0, base + i + 1) only: a tile of tokens
// stops at the keys its last token sees, the rest of its rows being zeros (exact: dropping a term that is a zero
// product leaves an FMA chain's value unchanged), so each output is the chain of the definition.
template <int P>
void valueRows(const Panels& v, int64_t base, const float* s, int64_t lds, float* o, int64_t ldo, int m)
{
    constexpr int NT = valueTokens<P>();
    int t = 0;
    for (; t + NT <= m; t += NT)
        tile<P, NT>(v, base + t + NT, s + t * lds, lds, o + t * ldo, ldo, kLanes);
    if (t < m)
        valueTail<P, NT>(m - t, v, base + t, s + t * lds, lds, o + t * ldo, ldo);
}

// Every query of every head runs the same arithmetic as attentionByProducts at this level: each score one FMA chain
// over the head's dimensions from zero, times scale; the level's softmax over the keys the query sees; each output
// one FMA chain over those keys in order. What changes is the work around it: the keys are packed into panels once
// per call (not once per block of queries), the scale is applied in the tile before its store, a block's scores are
// tiled only for the queries that see some key of the group, and S·V tiles are wider (valueTokens) and stop at the
// keys their last query sees.
void attentionTiled(const float* q, int64_t ldq, const float* k, const float* v, float* out, int64_t ldo, int heads,
    int T, int pos0, int hd, float scale)
{
    const int64_t len = int64_t(pos0) + T;
    float* keyPanels = t_keyPanels.get((len + kLanes - 1) / kLanes * kLanes * hd + kLanes);
    keyPanels = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(keyPanels) + 63) & ~uintptr_t(63));
    packPanels(k, hd, len, hd, keyPanels);
    const Panels keys { keyPanels, int64_t(hd) * kLanes, kLanes };
    float* scores = t_scores.get(int64_t(kTiledQueryBlock) * len);
    constexpr int64_t kGroup = int64_t(Simd::kPanels) * kLanes;
    for (int h = 0; h < heads; ++h) {
        const float* qh = q + int64_t(h) * hd;
        float* oh = out + int64_t(h) * hd;
        for (int t0 = 0; t0 < T; t0 += kTiledQueryBlock) {
            const int t1 = int(smaller(T, t0 + kTiledQueryBlock));
            const int64_t nk = int64_t(pos0) + t1; // the block's last query sees keys [0, nk)
            // scores (rows t0 .. t1, leading dimension nk) = Q·Kᵀ·scale; group r's keys are seen by the queries from
            // pos0 + t >= r on, and a tile of them needs the group's panels up to the keys its last query sees (the
            // diagonal in steps of 16 keys, not 64).
            for (int64_t r = 0; r < nk; r += kGroup) {
                const int first = int(r - pos0 > t0 ? r - pos0 : t0);
                const Panels g = keys.group(r);
                for (int ta = first; ta < t1; ta += Simd::kTokens) {
                    const int tb = int(smaller(t1, ta + Simd::kTokens));
                    const int64_t need = smaller(kGroup, int64_t(pos0) + tb - r);
                    const int panelCount = int((need + kLanes - 1) / kLanes);
                    const int lastRows = int(need - int64_t(panelCount - 1) * kLanes);
                    const float* x = qh + int64_t(ta) * ldq;
                    float* y = scores + int64_t(ta - t0) * nk + r;
                    switch (panelCount) {
                    case 4:
                        tokens<4, true>(g, hd, x, ldq, y, nk, tb - ta, lastRows, scale);
                        break;
                    case 3:
                        tokens<3, true>(g, hd, x, ldq, y, nk, tb - ta, lastRows, scale);
                        break;
                    case 2:
                        tokens<2, true>(g, hd, x, ldq, y, nk, tb - ta, lastRows, scale);
                        break;
                    default:
                        tokens<1, true>(g, hd, x, ldq, y, nk, tb - ta, lastRows, scale);
                        break;
                    }
                }
            }
            softmaxRows(scores, nk, t1 - t0, int64_t(pos0) + t0 + 1, nk);
            // out (rows t0 .. t1) = S · V, by groups of up to kPanels panels of the head's dimensions.
            for (int c = 0; c < hd; c += int(kGroup)) {
                const Panels g { v + c, kLanes, hd };
                float* o = oh + int64_t(t0) * ldo + c;
                const int64_t base = int64_t(pos0) + t0;
                const int m = t1 - t0;
                switch (smaller(kGroup, hd - c) / kLanes) {
                case 4:
                    valueRows<4>(g, base, scores, nk, o, ldo, m);
                    break;
                case 3:
                    valueRows<3>(g, base, scores, nk, o, ldo, m);
                    break;
                case 2:
                    valueRows<2>(g, base, scores, nk, o, ldo, m);
                    break;
                default:
                    valueRows<1>(g, base, scores, nk, o, ldo, m);
                    break;
                }
            }
        }
    }
}
} // namespace

void packWeightPanels(const float* w, int64_t ldw, int64_t rows, int64_t k, float* out)
{
    if (rows > 0 && k > 0)
        packPanels(w, ldw, rows, k, out);
}

void matmulWeightPanels(
    const float* x, int64_t ldx, const float* panels, float* y, int64_t ldy, int64_t T, int64_t rows, int64_t k)
{
    if (rows <= 0 || T <= 0)
        return;
    if (k <= 0)
        return zeroRows(y, ldy, T, rows);
    runTiles({ panels, k * kLanes, kLanes }, x, ldx, y, ldy, T, rows, k);
}

void matmulWeights(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy, int64_t T,
    int64_t rows, int64_t k, float* workspace)
{
    if (rows <= 0 || T <= 0)
        return;
    // Aligned to the vector: matmulWeightsWorkspaceFloats leaves room.
    float* panels = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(workspace) + 63) & ~uintptr_t(63));
    packWeightPanels(w, ldw, rows, k, panels);
    matmulWeightPanels(x, ldx, panels, y, ldy, T, rows, k);
}

void matmulTransposed(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
    int64_t n, int64_t k, float alpha)
{
    if (m < kMinTileTokens || n <= 0 || k <= 0)
        return matmulTransposedEigen(a, lda, b, ldb, c, ldc, m, n, k, alpha);
    matmulWeights(a, lda, b, ldb, c, ldc, m, n, k, t_panels.get(int64_t(matmulWeightsWorkspaceFloats(n, k))));
    if (alpha != 1.0f)
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j)
                c[i * ldc + j] *= alpha;
}

void matmul(
    const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k)
{
    // b's rows are already panels side by side: no packing. Whole panels only (head sizes are multiples of 16).
    if (m < kMinTileTokens || n % kLanes != 0 || n <= 0 || k <= 0)
        return matmulEigen(a, lda, b, ldb, c, ldc, m, n, k);
    runTiles({ b, kLanes, ldb }, a, lda, c, ldc, m, n, k);
}
#else
// The scalar and avx2 levels keep Eigen: a 256-bit version of the kernel above (2×6 and 3×4 tiles of 8-row panels)
// ran at 0.65-0.75× Eigen's prefill here.
void matmulWeights(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy, int64_t T,
    int64_t rows, int64_t k, float*)
{
    matmulTransposedEigen(x, ldx, w, ldw, y, ldy, T, rows, k, 1.0f);
}

void matmulTransposed(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
    int64_t n, int64_t k, float alpha)
{
    matmulTransposedEigen(a, lda, b, ldb, c, ldc, m, n, k, alpha);
}

void matmul(
    const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k)
{
    matmulEigen(a, lda, b, ldb, c, ldc, m, n, k);
}
#endif

namespace {
// attentionByProducts' queries in blocks of this many: a block's queries see keys 0 .. pos0 + its last query only, so
// the keys after it are neither scored nor summed (a prompt from position 0 does about two thirds of the full T × len
// work). A short last block joins the one before, so at avx512 every block of a prompt of 16 queries or more takes
// the tiles as the whole would.
constexpr int kAttentionQueryBlock = 48;
constexpr int kMinBlockQueries = 16;

// Causal attention by the level's products: per block of queries scores = Q·Kᵀ·scale (matmulTransposed), the
// softmax of each row over the keys its query sees, zeros after them, out = S·V (matmul). Same bits as one product
// over all queries and keys: every score is one FMA chain over the head's dimensions whatever the grouping, and S·V's
// sum over keys only drops terms that were exact zeros.
void attentionByProducts(const float* q, int64_t ldq, const float* k, const float* v, float* out, int64_t ldo,
    int heads, int T, int pos0, int hd, float scale)
{
    for (int h = 0; h < heads; ++h) {
        const float* qh = q + int64_t(h) * hd;
        float* oh = out + int64_t(h) * hd;
        for (int t0 = 0; t0 < T;) {
            int t1 = t0 + kAttentionQueryBlock < T ? t0 + kAttentionQueryBlock : T;
            if (T - t1 < kMinBlockQueries)
                t1 = T;
            const int m = t1 - t0;
            const int64_t keys = int64_t(pos0) + t1; // the block's last query sees positions 0 .. pos0 + t1 - 1
            float* scores = t_scores.get(int64_t(m) * keys);
            matmulTransposed(qh + int64_t(t0) * ldq, ldq, k, hd, scores, keys, m, keys, hd, scale);
            for (int t = t0; t < t1; ++t) {
                const int64_t valid = int64_t(pos0) + t + 1; // the query at pos0 + t sees positions 0 .. pos0 + t
                float* row = scores + int64_t(t - t0) * keys;
                softmax(row, size_t(valid));
                for (int64_t j = valid; j < keys; ++j)
                    row[j] = 0.0f;
            }
            matmul(scores, keys, v, hd, oh + int64_t(t0) * ldo, ldo, m, hd, keys);
            t0 = t1;
        }
    }
}
} // namespace

void attention(const float* q, int64_t ldq, const float* k, const float* v, float* out, int64_t ldo, int heads, int T,
    int pos0, int hd, float scale)
{
    if (heads <= 0 || T <= 0)
        return;
#if defined(__AVX512F__)
    if (T >= kMinTileTokens && hd % kLanes == 0)
        return attentionTiled(q, ldq, k, v, out, ldo, heads, T, pos0, hd, scale);
#endif
    attentionByProducts(q, ldq, k, v, out, ldo, heads, T, pos0, hd, scale);
}

} // namespace engine::PLAYGROUND_ISA_NS
