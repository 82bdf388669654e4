// One ISA level's kernel table (see isakernels.h); the same text for every level, the functions are the level's.
#include "engine/kernels/isakernels.h"

namespace engine::PLAYGROUND_ISA_NS {

namespace {
constexpr CpuIsa level()
{
#if defined(__AVX512F__)
    return CpuIsa::Avx512;
#elif defined(__AVX2__)
    return CpuIsa::Avx2;
#else
    return CpuIsa::Scalar;
#endif
}

// A type's vectorised integer matrix kernel, where this level has one (AVX2 and up); null otherwise, so
// int8GemmVectorised() is false and prefill keeps the float path.
#if PLAYGROUND_ISA_HAS_INT8GEMM
#define PLAYGROUND_VECTORISED(kernel) kernel
#else
#define PLAYGROUND_VECTORISED(kernel) nullptr
#endif
// The packed-weight entries, where matmulWeights packs panels (AVX-512); null on the Eigen levels.
#if defined(__AVX512F__)
#define PLAYGROUND_PANELS(kernel) kernel
#else
#define PLAYGROUND_PANELS(kernel) nullptr
#endif
// Decode's dot over Q4_0 rows repacked in groups (q4groups.h), where this level has one (AVX-512); null below, where
// models keep the stored layout.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define PLAYGROUND_Q4_GROUPS(kernel) kernel
#else
#define PLAYGROUND_Q4_GROUPS(kernel) nullptr
#endif

constexpr CpuKernels kTable {
    .isa = level(),
    .f32 = { dotF32, dequantF32 },
    .f16 = { dotF16, dequantF16 },
    .bf16 = { dotBF16, dequantBF16 },
    .q8_0 = { dotQ8_0, dequantizeRowQ8_0, dotQ8_0Q8, PLAYGROUND_VECTORISED(gemmQ8_0Q8), gemmQ8_0Q8Scalar },
    .q4_0 = { dotQ4_0, dequantizeRowQ4_0, dotQ4_0Q8, PLAYGROUND_VECTORISED(gemmQ4_0Q8), gemmQ4_0Q8Scalar,
        PLAYGROUND_Q4_GROUPS(dotQ4_0GroupsQ8) },
    .q5_0 = { dotQ5_0, dequantizeRowQ5_0, dotQ5_0Q8, PLAYGROUND_VECTORISED(gemmQ5_0Q8), gemmQ5_0Q8Scalar },
    .q4_K = { dotQ4_K, dequantizeRowQ4_K, dotQ4_KQ8, PLAYGROUND_VECTORISED(gemmQ4_KQ8), gemmQ4_KQ8Scalar },
    .q5_K = { dotQ5_K, dequantizeRowQ5_K, dotQ5_KQ8, PLAYGROUND_VECTORISED(gemmQ5_KQ8), gemmQ5_KQ8Scalar },
    .q6_K = { dotQ6_K, dequantizeRowQ6_K, dotQ6_KQ8, PLAYGROUND_VECTORISED(gemmQ6_KQ8), gemmQ6_KQ8Scalar },
    .quantizeActivation = quantizeActivation,
    .rmsNorm = rmsNorm,
    .softmax = softmax,
    .expNonPositive = expNonPositiveForTest,
    .matmulTransposed = matmulTransposed,
    .matmul = matmul,
    .matmulWeights = matmulWeights,
    .attention = attention,
    .siluMul = siluMul,
    .packWeightPanels = PLAYGROUND_PANELS(packWeightPanels),
    .matmulWeightPanels = PLAYGROUND_PANELS(matmulWeightPanels),
};
} // namespace

const CpuKernels& kernelTable() { return kTable; }

} // namespace engine::PLAYGROUND_ISA_NS
