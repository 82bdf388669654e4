// Internal to kernels/: what one ISA level's copy of the kernel sources defines, in its own namespace.
#pragma once

// Included only by the sources compiled per ISA level (playground_isa_sources in engine/CMakeLists.txt), which
// define PLAYGROUND_ISA_NS (isa_scalar, isa_avx2, isa_avx512; isa_amx for amxgemm.cpp alone). Everything such a
// source defines lives in engine::PLAYGROUND_ISA_NS (or an unnamed namespace), so the copies never share a symbol and
// the linker cannot hand one level's code to another; cpudispatch.cpp reaches a level only through kernelTable(). These
// declarations come first, so that inside the level an unqualified call finds the level's own function, not the
// dispatching one of the same name in engine:: (which would go through the table again).

#if !defined(PLAYGROUND_ISA_NS)
#error "isakernels.h is for the per-ISA kernel sources (PLAYGROUND_ISA_NS undefined)"
#endif

// Whether this level has the AVX-512 VNNI integer matrix kernels (int8gemm.cpp; the avx512 level's flags).
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define PLAYGROUND_ISA_HAS_VNNI 1
#else
#define PLAYGROUND_ISA_HAS_VNNI 0
#endif
// Whether this level has vectorised integer matrix kernels at all: VNNI's, or (the avx2 level) maddubs + madd.
#if defined(__AVX2__)
#define PLAYGROUND_ISA_HAS_INT8GEMM 1
#else
#define PLAYGROUND_ISA_HAS_INT8GEMM 0
#endif

#include "engine/kernels/activationq8.h"
#include "engine/kernels/cpudispatch.h"

#include <cstddef>
#include <cstdint>

namespace engine::PLAYGROUND_ISA_NS {

// isatable.cpp: this level's table.
const CpuKernels& kernelTable();

// typekernels.cpp
float dotF32(const uint8_t* row, const float* x, size_t n);
void dequantF32(const uint8_t* row, float* out, size_t n);
float dotF16(const uint8_t* row, const float* x, size_t n);
void dequantF16(const uint8_t* row, float* out, size_t n);
float dotBF16(const uint8_t* row, const float* x, size_t n);
void dequantBF16(const uint8_t* row, float* out, size_t n);
void rmsNorm(float* out, const float* x, const float* weight, size_t n, float eps);
void softmax(float* x, size_t n);
#if defined(__AVX512F__)
// softmax of rows rows (leading dimension ld), row i over its first n0 + i values (n0 >= 1) and zeros after them up to
// width: each row the same bits as softmax(row, n0 + i). For attention's tiles.
void softmaxRows(float* x, int64_t ld, int rows, int64_t n0, int64_t width);
#endif
void siluMul(const float* g, const float* u, float* out, size_t n);
void expNonPositiveForTest(const float* x, float* out, size_t n);

// blockformats.cpp
void dequantizeRowQ8_0(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ4_0(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ5_0(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ4_K(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ5_K(const uint8_t* row, float* out, size_t n);
void dequantizeRowQ6_K(const uint8_t* row, float* out, size_t n);
float dotQ8_0(const uint8_t* row, const float* x, size_t n);
float dotQ4_0(const uint8_t* row, const float* x, size_t n);
float dotQ5_0(const uint8_t* row, const float* x, size_t n);
float dotQ4_K(const uint8_t* row, const float* x, size_t n);
float dotQ5_K(const uint8_t* row, const float* x, size_t n);
float dotQ6_K(const uint8_t* row, const float* x, size_t n);

// activationq8.cpp
void quantizeActivation(const float* x, size_t n, int8_t* q, float* d, float* dsum, int32_t* qsum16);
float dotQ8_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n);
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
float dotQ4_0GroupsQ8(const uint8_t* row, const ActivationQ8& x, size_t n); // q4groups.h
#endif
float dotQ5_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ6_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ8_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ6_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);

// gemm.cpp (Eigen, with this level's packets)
void matmulTransposed(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
    int64_t n, int64_t k, float alpha);
void matmul(
    const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k);
void matmulWeights(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy, int64_t T,
    int64_t rows, int64_t k, float* workspace);
void attention(const float* q, int64_t ldq, const float* k, const float* v, float* out, int64_t ldo, int heads, int T,
    int pos0, int hd, float scale);
#if defined(__AVX512F__) // the levels whose matmulWeights packs panels
void packWeightPanels(const float* w, int64_t ldw, int64_t rows, int64_t k, float* out);
void matmulWeightPanels(
    const float* x, int64_t ldx, const float* panels, float* y, int64_t ldy, int64_t T, int64_t rows, int64_t k);
#endif

// int8gemm.cpp: prefill's integer matrix kernels (Int8GemmKernel); the vectorised ones only where
// PLAYGROUND_ISA_HAS_INT8GEMM.
#define PLAYGROUND_INT8GEMM(name)                                                                                      \
    void name(const uint8_t* w, size_t rowBytes, int64_t rows, size_t n, const ActivationQ8& x, int T, float* y,       \
        int64_t ldy, void* workspace)
#if PLAYGROUND_ISA_HAS_INT8GEMM
PLAYGROUND_INT8GEMM(gemmQ8_0Q8);
PLAYGROUND_INT8GEMM(gemmQ4_0Q8);
PLAYGROUND_INT8GEMM(gemmQ5_0Q8);
PLAYGROUND_INT8GEMM(gemmQ4_KQ8);
PLAYGROUND_INT8GEMM(gemmQ5_KQ8);
PLAYGROUND_INT8GEMM(gemmQ6_KQ8);
#endif
PLAYGROUND_INT8GEMM(gemmQ8_0Q8Scalar);
PLAYGROUND_INT8GEMM(gemmQ4_0Q8Scalar);
PLAYGROUND_INT8GEMM(gemmQ5_0Q8Scalar);
PLAYGROUND_INT8GEMM(gemmQ4_KQ8Scalar);
PLAYGROUND_INT8GEMM(gemmQ5_KQ8Scalar);
PLAYGROUND_INT8GEMM(gemmQ6_KQ8Scalar);

} // namespace engine::PLAYGROUND_ISA_NS
