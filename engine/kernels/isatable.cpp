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

#if PLAYGROUND_ISA_HAS_VNNI
constexpr Int8GemmKernels kInt8Gemm { gemmQ8_0Q8, gemmQ4_0Q8, gemmQ5_0Q8, gemmQ4_KQ8, gemmQ5_KQ8, gemmQ6_KQ8 };
#else
constexpr Int8GemmKernels kInt8Gemm {}; // none: int8GemmVectorised() is false, prefill keeps the float path
#endif
constexpr Int8GemmKernels kInt8GemmScalar { gemmQ8_0Q8Scalar, gemmQ4_0Q8Scalar, gemmQ5_0Q8Scalar, gemmQ4_KQ8Scalar,
    gemmQ5_KQ8Scalar, gemmQ6_KQ8Scalar };

constexpr CpuKernels kTable {
    .isa = level(),
    .f32 = { dotF32, dequantF32 },
    .f16 = { dotF16, dequantF16 },
    .bf16 = { dotBF16, dequantBF16 },
    .q8_0 = { dotQ8_0, dequantizeRowQ8_0, dotQ8_0Q8 },
    .q4_0 = { dotQ4_0, dequantizeRowQ4_0, dotQ4_0Q8 },
    .q5_0 = { dotQ5_0, dequantizeRowQ5_0, dotQ5_0Q8 },
    .q4_K = { dotQ4_K, dequantizeRowQ4_K, dotQ4_KQ8 },
    .q5_K = { dotQ5_K, dequantizeRowQ5_K, dotQ5_KQ8 },
    .q6_K = { dotQ6_K, dequantizeRowQ6_K, dotQ6_KQ8 },
    .quantizeActivation = quantizeActivation,
    .softmax = softmax,
    .expNonPositive = expNonPositiveForTest,
    .matmulTransposed = matmulTransposed,
    .matmul = matmul,
    .int8Gemm = kInt8Gemm,
    .int8GemmScalar = kInt8GemmScalar,
};
} // namespace

const CpuKernels& kernelTable() { return kTable; }

} // namespace engine::PLAYGROUND_ISA_NS
