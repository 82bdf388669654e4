// The float matrix products of prefill and attention, by Eigen, compiled once per ISA level (see isakernels.h).
#include "engine/kernels/isakernels.h"

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
} // namespace

void matmulTransposed(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
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

void matmul(
    const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k)
{
    const ConstMap A(a, m, k, Eigen::OuterStride<>(lda));
    const ConstMap B(b, k, n, Eigen::OuterStride<>(ldb));
    MutMap C(c, m, n, Eigen::OuterStride<>(ldc));
    C.noalias() = A * B;
}

} // namespace engine::PLAYGROUND_ISA_NS
