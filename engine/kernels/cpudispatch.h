// Run-time choice of the kernels' instruction set: one binary, the widest SIMD path this CPU runs.
#pragma once

// The kernel sources (the list given to playground_isa_sources in engine/CMakeLists.txt) are compiled
// once per ISA level, each copy with its own -march and inside its own namespace engine::isa_<level>
// (the macro PLAYGROUND_ISA_NS), so the copies never share a symbol. Each copy exports one table of
// function pointers (CpuKernels); cpuKernels() picks the table once, from cpuid, and every caller
// (typeKernels, the matmuls, softmax) goes through it. The rest of the program is built for the
// baseline x86-64 and never executes an instruction the CPU lacks.
//
// The amx level is the avx512 level's table with prefill's integer matrix kernels done by AMX-INT8 tiles
// (amxgemm.cpp, the only source built for it); it counts as running only where Linux grants this process the tile
// state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once, by the baseline program), else the avx512 level runs.
//
// The amx level runs only when asked for (PLAYGROUND_ISA=amx): measured here it was 0.93-1.2x the VNNI kernels at
// 64-256 tokens (docs/benchmarks.md), not enough to make it the default.
//
// PLAYGROUND_ISA=scalar|avx2|avx512|amx in the environment asks for a level (tests run the kernel
// tests once per level this way); a level above what the CPU runs is capped to the best it does.

#include "engine/kernels/activationq8.h"
#include "engine/kernels/typekernels.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace engine {

// Lowest first. Avx2: x86-64-v3 (AVX2, FMA, F16C, BMI2). Avx512: x86-64-v4 (AVX-512 F/BW/DQ/VL/CD) plus
// AVX-512 VNNI (Cascade Lake, Ice Lake, Zen 4 and later). Amx: Avx512 plus AMX-TILE and AMX-INT8 (Sapphire Rapids
// and later) with the kernel's permission.
enum class CpuIsa { Scalar = 0, Avx2 = 1, Avx512 = 2, Amx = 3 };
constexpr int kCpuIsaCount = 4;
// The highest level chosen without PLAYGROUND_ISA.
constexpr CpuIsa kDefaultCpuIsaCeiling = CpuIsa::Avx512;

const char* cpuIsaName(CpuIsa isa); // "scalar", "avx2", "avx512", "amx"
std::optional<CpuIsa> parseCpuIsa(const std::string& name);

// Per 32 columns a panel of 16 rows' 512 quants, 32 scales and 16 mins, and 2 offset corrections per activation row.
constexpr size_t int8GemmWorkspaceBytes(size_t n, int T)
{
    return n / 32 * (512 + 48 * sizeof(float) + 2 * sizeof(int32_t) * size_t(T));
}

// matmulWeights' workspace: the rows padded to 16, packed, and room to align them to 64 bytes.
constexpr size_t matmulWeightsWorkspaceFloats(int64_t rows, int64_t k)
{
    return size_t((rows + 15) / 16 * 16) * size_t(k) + 16;
}

// The kernels of one ISA level. Row dots, dequantisation and prefill's integer matrix kernels per tensor type as
// TypeKernels (a level without vectorised integer matrix kernels leaves their int8Gemm null); the rest as
// plain functions of pointers, so nothing of the standard library is instantiated inside a level's copy.
struct CpuKernels {
    CpuIsa isa = CpuIsa::Scalar;
    TypeKernels f32, f16, bf16, q8_0, q4_0, q5_0, q4_K, q5_K, q6_K;
    // ActivationQ8::quantize's arithmetic: n values (a multiple of 32) into q, and per block of 32 d, dsum,
    // and per 16 values qsum16.
    void (*quantizeActivation)(const float* x, size_t n, int8_t* q, float* d, float* dsum, int32_t* qsum16);
    void (*rmsNorm)(float* out, const float* x, const float* weight, size_t n, float eps);
    void (*softmax)(float* x, size_t n);
    void (*expNonPositive)(const float* x, float* out, size_t n);
    // Row-major matrices with leading dimensions (elements between row starts):
    // c (m × n) = alpha · a (m × k) · bᵀ, b stored (n × k): the prefill matmul and attention's scores.
    void (*matmulTransposed)(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
        int64_t n, int64_t k, float alpha);
    // c (m × n) = a (m × k) · b (k × n): attention's weighted sum of values.
    void (*matmul)(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
        int64_t n, int64_t k);
    // y (T × rows) = x (T × k) · wᵀ, w stored (rows × k): prefill's product with a block of float weight rows. Every
    // output is one FMA chain in column order from zero on the avx512 level (Eigen below it), so it depends
    // only on its own row and token, never on the block's size or the token count. workspace: at least
    // matmulWeightsWorkspaceFloats(rows, k) floats, for the packed rows.
    void (*matmulWeights)(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy, int64_t T,
        int64_t rows, int64_t k, float* workspace);
    // Causal attention of `heads` query heads that share one key/value head, for T queries at positions pos0 ..
    // pos0 + T - 1: out_h[t] = softmax(scale · q_h[t] · K[0, pos0 + t]ᵀ) · V[0, pos0 + t]. Query head h's rows start
    // at q + h·hd (leading dimension ldq), its outputs at out + h·hd (ldo); K and V are (pos0 + T) × hd, rows back to
    // back. At avx512 from 16 queries on, for heads of whole 16-float panels, by register tiles with the keys packed
    // once per call: each score one FMA chain over the head's dimensions times scale, each output one FMA chain over
    // the keys its query sees, so a query's result depends neither on T nor on how heads are grouped. Otherwise per
    // block of queries by matmulTransposed, softmax and matmul (Eigen's blocking follows the shape).
    void (*attention)(const float* q, int64_t ldq, const float* k, const float* v, float* out, int64_t ldo, int heads,
        int T, int pos0, int hd, float scale);
    // out[i] = silu(g[i]) · u[i], the feed-forward's gate: vectorised (exp by polynomial) on avx512, silu() below.
    void (*siluMul)(const float* g, const float* u, float* out, size_t n);
    // matmulWeights in two steps, for weights packed once and multiplied many times (Model keeps small models' F32
    // matrices packed): packWeightPanels writes w's rows (rows × k, leading dimension ldw) in matmulWeights' panel
    // order to out, weightPanelFloats(rows, k) floats aligned to 64 bytes; row r's panel starts at out + r·k for r a
    // multiple of kWeightPanelRows, so the panels of rows [r, r + n) are a matrix of their own. matmulWeightPanels
    // multiplies such panels exactly as matmulWeights multiplies the rows (same bits). Null on the levels that
    // multiply with Eigen and pack nothing.
    void (*packWeightPanels)(const float* w, int64_t ldw, int64_t rows, int64_t k, float* out) = nullptr;
    void (*matmulWeightPanels)(
        const float* x, int64_t ldx, const float* panels, float* y, int64_t ldy, int64_t T, int64_t rows, int64_t k)
        = nullptr;
};

// The rows of one panel of packWeightPanels, and the floats it writes for a rows × k matrix (rows padded to panels).
constexpr int64_t kWeightPanelRows = 16;
constexpr size_t weightPanelFloats(int64_t rows, int64_t k)
{
    return size_t((rows + kWeightPanelRows - 1) / kWeightPanelRows * kWeightPanelRows) * size_t(k);
}

// The entry of `type` in `kernels`, or null for a type without kernels: the one switch over tensor types.
const TypeKernels* typeKernelsOf(const CpuKernels& kernels, GgmlType type);

// An on/off switch from the environment, the one reading of PLAYGROUND_DECODE_PREFETCH and PLAYGROUND_Q4_GROUPS:
// `value` "1" is on, "0" off, empty (or unset) nullopt (the caller's default); anything else throws
// std::invalid_argument naming `name` (pure; tested). envSwitch reads `name` from the environment.
std::optional<bool> parseSwitch(const char* name, const std::string& value);
std::optional<bool> envSwitch(const char* name);

// Whether decode's float row dots (F32, F16, BF16) ask for their rows ahead of reading them (software prefetch,
// decodeprefetch.h; the integer dots always do). On the Intel Xeon VM the prefetch made the F32 dot read at 1.14x a
// plain vector read of the same bytes; on the AMD EPYC (Zen 4) VM it held it at 0.82 of that read, which it matches
// without (one thread, every matrix of 110M F32: 26.2 against 29.5-32.1 GB/s): the AMD cores' own prefetchers keep
// up, and the extra requests cost load slots. Whole decode there (bench, two rounds alternating with the previous
// build): 110M F32 one thread 40.1-41.5 -> 62.7-64.6 tok/s, 15M F32 265-267 -> 400-447. So on for Intel and other
// vendors, off for AMD. PLAYGROUND_DECODE_PREFETCH=1|0 in the environment overrides. Prefetches never change a result.
enum class CpuVendor { Intel, Amd, Other };
CpuVendor cpuVendor(); // from cpuid leaf 0
// What PLAYGROUND_DECODE_PREFETCH=`requested` gives on a CPU of `vendor` (pure; tested): "1" on, "0" off, empty the
// vendor's default; throws std::invalid_argument otherwise.
bool chooseDecodePrefetch(const std::string& requested, CpuVendor vendor);
// This process's choice, decided once (a bad PLAYGROUND_DECODE_PREFETCH throws here).
bool decodePrefetchActive();
namespace detail {
// decodePrefetchActive() as a plain flag the kernels test in their loops (a load and a branch that always goes the
// same way), set before main by cpudispatch.cpp; false when the environment variable is malformed (cpuKernels() then
// throws decodePrefetchActive()'s error, as it does for a bad PLAYGROUND_ISA, before any kernel runs).
extern bool gDecodePrefetch;
} // namespace detail

// The level this process uses: the best the CPU runs up to avx512, or what PLAYGROUND_ISA asks for; decided once.
CpuIsa activeCpuIsa();
// The best level both this build and this CPU support (cpuid), ignoring PLAYGROUND_ISA.
CpuIsa bestCpuIsa();
// The table of the active level.
const CpuKernels& cpuKernels();
// The table of `isa`, or null when this CPU cannot run it (for tests comparing levels in one process).
const CpuKernels* cpuKernelsFor(CpuIsa isa);

// What PLAYGROUND_ISA=`requested` gives on a CPU whose best level is `best` (pure; tested): the request,
// capped at `best`; `best` capped at kDefaultCpuIsaCeiling for an empty request; throws std::invalid_argument naming
// the levels otherwise.
CpuIsa chooseCpuIsa(const std::string& requested, CpuIsa best);

} // namespace engine
