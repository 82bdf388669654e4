// The amx level (cpudispatch.h): the avx512 level's table with prefill's integer matrix kernels (int8gemm.h) done
// by AMX-INT8 tiles instead of vpdpbusd. Built once, with -march=x86-64-v4 -mavx512vnni -mamx-tile -mamx-int8, inside
// engine::isa_amx (playground_isa_sources ... LEVELS amx in engine/CMakeLists.txt).
//
// The weights are the VNNI kernel's panels (int8gemmpanel.h: 16 rows, per 32-element sub-block 8 rows of 16 weight
// rows x 4 unsigned quants), which is the layout of an AMX B tile as it stands; the activations are the A tile as
// they lie in ActivationQ8 (up to 16 tokens x 32 signed quants, n bytes apart). One tdpbsud (signed A, unsigned B)
// per 32-element sub-block gives the exact int32 sums of up to 16 tokens x 16 rows; they
// are stored and then scaled into float accumulators with the same operations, in the same order, as the VNNI and
// scalar kernels (int8gemm.h), so every output is bit for bit theirs. Each sub-block has its own scales, so the
// sums cannot stay in the tile across sub-blocks: the scaling in AVX-512 is the kernel's other half, and storing a
// whole tile per sub-block bounds the gain. Q8_0, Q4_0, Q5_0, Q4_K and Q5_K from 64 tokens; shorter inputs and Q6_K
// go to the VNNI kernel (kMinTokens and kernelTable below say why).
#include "engine/kernels/isakernels.h"

#include "engine/kernels/int8gemmpanel.h"

#include <immintrin.h>

// GCC's macros, then clang's.
#if !(defined(__AMX_TILE__) || defined(__AMXTILE__)) || !(defined(__AMX_INT8__) || defined(__AMXINT8__))               \
    || !PLAYGROUND_ISA_HAS_VNNI
#error "amxgemm.cpp needs -mamx-tile -mamx-int8 on top of the avx512 level's flags"
#endif

namespace engine::isa_avx512 {
const CpuKernels& kernelTable();
}

namespace engine::PLAYGROUND_ISA_NS {

namespace {

// The 64-byte operand of ldtilecfg (palette 1: 8 tiles of up to 16 rows x 64 bytes).
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t startRow = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

// One tdpbsud per 32-element sub-block s. Tiles: C (int32 sums, tokens x 16 rows) 0-3, four sub-blocks in flight;
// A (activations, tokens x 32 bytes) 4 and 5; B (weights, 8 x 64 bytes) 6 and 7.
TileConfig tileConfig(int tokens)
{
    TileConfig c;
    for (int i = 0; i < 4; ++i) {
        c.rows[i] = uint8_t(tokens);
        c.colsb[i] = 64;
    }
    for (int i = 4; i < 6; ++i) {
        c.rows[i] = uint8_t(tokens);
        c.colsb[i] = 32;
    }
    for (int i = 6; i < 8; ++i) {
        c.rows[i] = 8;
        c.colsb[i] = 64;
    }
    return c;
}

// Tile C = sub-block s: the tokens' quants at xq + 32 s (n apart) times the panel's at quants + 512 s.
#define PLAYGROUND_TILE_SUB(C, A, B, s)                                                                                \
    do {                                                                                                               \
        _tile_zero(C);                                                                                                 \
        _tile_loadd(A, xq + 32 * (s), n);                                                                              \
        _tile_loadd(B, quants + 512 * (s), 64);                                                                        \
        _tile_dpbsud(C, A, B);                                                                                         \
    } while (0)

#define PLAYGROUND_UNROLL _Pragma("GCC unroll 16")

// Sub-block s's int32 sums c (tokens x 16 rows) into the accumulators: as int8gemm.cpp's panelTile, operation for
// operation.
template <bool HasMin, bool HasOffset, bool Tail>
inline void scaleSub(__m512* acc, const int32_t (*c)[16], size_t s, const float* sc, const float* mn, size_t nsub,
    const float* xd, const float* xdsum, const int32_t* corr, int tokens)
{
    const __m512 scale = _mm512_loadu_ps(sc + s * 16);
    PLAYGROUND_UNROLL
    for (int j = 0; j < 16; ++j) {
        if (Tail && j >= tokens)
            break;
        __m512i sum = _mm512_load_si512(c[j]);
        if constexpr (HasOffset)
            sum = _mm512_add_epi32(sum, _mm512_set1_epi32(corr[size_t(j) * nsub + s]));
        acc[j] = _mm512_fmadd_ps(
            _mm512_cvtepi32_ps(sum), _mm512_mul_ps(scale, _mm512_set1_ps(xd[size_t(j) * nsub + s])), acc[j]);
    }
    if constexpr (HasMin) {
        const __m512 m = _mm512_loadu_ps(mn + s * 16);
        PLAYGROUND_UNROLL
        for (int j = 0; j < 16; ++j) {
            if (Tail && j >= tokens)
                break;
            acc[j] = _mm512_fnmadd_ps(m, _mm512_set1_ps(xdsum[size_t(j) * nsub + s]), acc[j]);
        }
    }
}

// Up to 16 tokens (all 16 unless Tail) times one panel: the tile configuration for `tokens` is loaded. xq, xd, xdsum,
// corr at the first token; y at its row and the panel's first column.
template <bool HasMin, bool HasOffset, bool Tail>
void panelTile(const uint8_t* quants, const float* sc, const float* mn, size_t nsub, const int8_t* xq, size_t n,
    const float* xd, const float* xdsum, const int32_t* corr, int tokens, float* y, int64_t ldy, __mmask16 mask)
{
    alignas(64) int32_t c[2][4][16][16]; // two batches' sums: one being scaled while the next is computed
    __m512 acc[16];
    PLAYGROUND_UNROLL
    for (int j = 0; j < 16; ++j)
        acc[j] = _mm512_setzero_ps();
    // Batches of four sub-blocks: the next batch's products are issued before this batch's stored sums are scaled, so
    // the tile unit multiplies while the vector unit scales.
    const size_t batches = nsub / 4;
    const auto issue = [&](size_t b) {
        PLAYGROUND_TILE_SUB(0, 4, 6, 4 * b);
        PLAYGROUND_TILE_SUB(1, 5, 7, 4 * b + 1);
        PLAYGROUND_TILE_SUB(2, 4, 6, 4 * b + 2);
        PLAYGROUND_TILE_SUB(3, 5, 7, 4 * b + 3);
    };
    const auto scale = [&](size_t b) {
        PLAYGROUND_UNROLL
        for (int i = 0; i < 4; ++i)
            scaleSub<HasMin, HasOffset, Tail>(
                acc, c[b & 1][i], 4 * b + size_t(i), sc, mn, nsub, xd, xdsum, corr, tokens);
    };
    if (batches > 0)
        issue(0);
    for (size_t b = 0; b < batches; ++b) {
        int32_t(*sums)[16][16] = c[b & 1];
        _tile_stored(0, sums[0], 64);
        _tile_stored(1, sums[1], 64);
        _tile_stored(2, sums[2], 64);
        _tile_stored(3, sums[3], 64);
        if (b + 1 < batches)
            issue(b + 1);
        if (b > 0) // the batch stored one round ago: its stores have long landed when the vector loads read them
            scale(b - 1);
    }
    if (batches > 0)
        scale(batches - 1);
    for (size_t s = 4 * batches; s < nsub; ++s) {
        PLAYGROUND_TILE_SUB(0, 4, 6, s);
        _tile_stored(0, c[0][0], 64);
        scaleSub<HasMin, HasOffset, Tail>(acc, c[0][0], s, sc, mn, nsub, xd, xdsum, corr, tokens);
    }
    PLAYGROUND_UNROLL
    for (int j = 0; j < 16; ++j) {
        if (Tail && j >= tokens)
            break;
        _mm512_mask_storeu_ps(y + size_t(j) * size_t(ldy), mask, acc[j]);
    }
}

template <bool HasMin, bool HasOffset>
void gemmAmx(const Int8GemmPanel& p, const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x,
    int T, float* y, int64_t ldy, void* workspace)
{
    const size_t nsub = n / 32;
    // The caller's scratch (int8GemmWorkspaceBytes), laid out as the VNNI kernel's: panel quants, scales, mins,
    // offset corrections.
    uint8_t* const quants = static_cast<uint8_t*>(workspace);
    float* const sc = reinterpret_cast<float*>(quants + nsub * 512);
    float* const mn = sc + nsub * 32;
    int32_t* const corr = reinterpret_cast<int32_t*>(mn + nsub * 16);
    if constexpr (HasOffset) { // -offset * (sum of x's quants in the scale group), as int8gemm.cpp's offsetCorrection
        for (int t = 0; t < T; ++t)
            for (size_t s = 0; s < nsub; ++s) {
                const int32_t* q16 = x.qsum16.data() + size_t(t) * (n / 16) + 2 * s;
                corr[size_t(t) * nsub + s] = -p.offset * (q16[0] + q16[1]);
            }
    }
    const TileConfig full = tileConfig(16), tail = tileConfig(T % 16);
    int configured = 0; // tokens per tile in the loaded configuration
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const int count = rows - r0 < 16 ? int(rows - r0) : 16;
        p.pack(w + size_t(r0) * rowBytes, rowBytes, count, nsub, quants, sc, mn);
        const __mmask16 mask = __mmask16((1u << count) - 1);
        for (int t0 = 0; t0 < T; t0 += 16) {
            const int tokens = T - t0 < 16 ? T - t0 : 16;
            if (tokens != configured) {
                _tile_loadconfig(tokens == 16 ? &full : &tail);
                configured = tokens;
            }
            const int8_t* xq = x.q.data() + size_t(t0) * n;
            const float* xd = x.d.data() + size_t(t0) * nsub;
            const float* xdsum = x.dsum.data() + size_t(t0) * nsub;
            const int32_t* c = HasOffset ? corr + size_t(t0) * nsub : nullptr;
            float* yt = y + size_t(t0) * size_t(ldy) + size_t(r0);
            if (tokens == 16)
                panelTile<HasMin, HasOffset, false>(quants, sc, mn, nsub, xq, n, xd, xdsum, c, 16, yt, ldy, mask);
            else
                panelTile<HasMin, HasOffset, true>(quants, sc, mn, nsub, xq, n, xd, xdsum, c, tokens, yt, ldy, mask);
        }
    }
    // Back to the initial tile state: the kernel saves and restores 8 KiB less on every context switch.
    _tile_release();
}

// Below this many tokens the VNNI kernel is faster: a tile's fixed costs (a configuration load of ~0.2 us, the
// stores of a whole 16 x 16 tile per sub-block) are paid for fewer tokens, and short prompts mostly run a tail tile.
// Measured on a 2-core Sapphire Rapids VM (docs/benchmarks.md): amx / vnni 0.6-0.9 at 4-33 tokens, 0.9-1.1 at 16.
constexpr int kMinTokens = 64;

// The panel's format constants pick the instantiation; short inputs go to the avx512 level's VNNI kernel.
void gemmAmxOf(const Int8GemmPanel& p, Int8GemmKernel vnni, const uint8_t* w, size_t rowBytes, int64_t rows, size_t n,
    const ActivationQ8& x, int T, float* y, int64_t ldy, void* workspace)
{
    if (T < kMinTokens || p.groups != 1)
        vnni(w, rowBytes, rows, n, x, T, y, ldy, workspace);
    else if (p.hasMin)
        gemmAmx<true, false>(p, w, rowBytes, rows, n, x, T, y, ldy, workspace); // Q4_K, Q5_K
    else
        gemmAmx<false, true>(p, w, rowBytes, rows, n, x, T, y, ldy, workspace); // Q8_0, Q4_0, Q5_0
}

#define PLAYGROUND_AMX_KERNEL(type)                                                                                    \
    PLAYGROUND_INT8GEMM(gemm##type##Amx)                                                                               \
    {                                                                                                                  \
        gemmAmxOf(isa_avx512::int8GemmPanels().type, isa_avx512::kernelTable().type.int8Gemm, w, rowBytes, rows, n, x, \
            T, y, ldy, workspace);                                                                                     \
    }
PLAYGROUND_AMX_KERNEL(q8_0)
PLAYGROUND_AMX_KERNEL(q4_0)
PLAYGROUND_AMX_KERNEL(q5_0)
PLAYGROUND_AMX_KERNEL(q4_K)
PLAYGROUND_AMX_KERNEL(q5_K)

} // namespace

// The avx512 level's kernels but for the integer matrix kernels: cpudispatch.cpp chooses this level only when asked
// for (PLAYGROUND_ISA=amx), where the CPU has AMX-INT8 and Linux has granted this process the tile state.
const CpuKernels& kernelTable()
{
    static const CpuKernels table = [] {
        CpuKernels k = isa_avx512::kernelTable();
        k.isa = CpuIsa::Amx;
        // Q6_K keeps the VNNI kernel: its 16-element scale groups would take two K = 16 tile products and two tile
        // stores per sub-block, and measured 0.72-0.83 of the VNNI kernel's speed.
        k.q8_0.int8Gemm = gemmq8_0Amx;
        k.q4_0.int8Gemm = gemmq4_0Amx;
        k.q5_0.int8Gemm = gemmq5_0Amx;
        k.q4_K.int8Gemm = gemmq4_KAmx;
        k.q5_K.int8Gemm = gemmq5_KAmx;
        return k;
    }();
    return table;
}

} // namespace engine::PLAYGROUND_ISA_NS
