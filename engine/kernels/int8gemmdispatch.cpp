// The public integer matrix kernels (int8gemm.h): shapes checked here, in the baseline program, then the active
// ISA level's kernel (cpudispatch.h) with this thread's scratch.
#include "engine/kernels/int8gemm.h"

#include "engine/kernels/cpudispatch.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace engine {

namespace {

// The active level's entry for `type` (cpudispatch.h), which must have integer matrix kernels.
const TypeKernels& kernelsOf(GgmlType type)
{
    const TypeKernels* k = typeKernelsOf(cpuKernels(), type);
    if (!k || !k->int8GemmScalar)
        throw std::invalid_argument(std::string("no integer matrix kernel for tensor type ") + ggmlTypeName(type));
    return *k;
}

void run(Int8GemmKernel kernel, GgmlType type, const uint8_t* w, size_t rowBytes, int64_t rows, size_t n,
    const ActivationQ8& x, int T, float* y, int64_t ldy)
{
    if (n % ggmlBlockSize(type) != 0 || x.n != size_t(T) * n)
        throw std::invalid_argument("int8 gemm: " + std::to_string(n) + " columns and " + std::to_string(x.n)
            + " quantised activations do not fit " + std::to_string(T) + " rows of whole blocks");
    thread_local std::vector<uint8_t> workspace; // grows to the largest op this thread has run
    const size_t bytes = int8GemmWorkspaceBytes(n, T);
    if (workspace.size() < bytes)
        workspace.resize(bytes);
    kernel(w, rowBytes, rows, n, x, T, y, ldy, workspace.data());
}

} // namespace

// The active level's vectorised kernel, or its scalar one where it has none.
void int8Gemm(GgmlType type, const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x, int T,
    float* y, int64_t ldy)
{
    const TypeKernels& k = kernelsOf(type);
    run(k.int8Gemm ? k.int8Gemm : k.int8GemmScalar, type, w, rowBytes, rows, n, x, T, y, ldy);
}

bool hasInt8Gemm(GgmlType type)
{
    const TypeKernels* k = typeKernelsOf(cpuKernels(), type);
    return k && k->int8GemmScalar;
}

void int8GemmScalar(GgmlType type, const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x,
    int T, float* y, int64_t ldy)
{
    run(kernelsOf(type).int8GemmScalar, type, w, rowBytes, rows, n, x, T, y, ldy);
}

bool int8GemmVectorised() { return cpuKernels().q8_0.int8Gemm != nullptr; }

} // namespace engine
