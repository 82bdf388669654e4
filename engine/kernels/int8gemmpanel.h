// Internal to kernels/: the avx512 level's weight panels of prefill's integer matrix kernels (int8gemm.cpp), which
// the AMX kernels (amxgemm.cpp) multiply with tiles instead of vpdpbusd.
#pragma once

#include <cstddef>
#include <cstdint>

namespace engine {

// One weight type's panel: `pack` unpacks up to 16 rows (count; rows past it are zero) of nsub 32-element
// sub-blocks into quants (nsub x 512 bytes: per sub-block 8 vectors of 16 rows x 4 consecutive unsigned quants, which
// is also the VNNI layout of an AMX B tile), scales (nsub x groups x 16 floats) and mins (nsub x 16 floats). The
// value of a quant u is (u - offset) * scale - min, with one scale per 32 / groups elements (int8gemm.h).
// A plain struct of constants and a pointer: it defines no symbol, so every ISA level may see it.
struct Int8GemmPanel {
    void (*pack)(const uint8_t* w, size_t rowBytes, int count, size_t nsub, uint8_t* quants, float* sc, float* mn);
    int offset;
    int groups;
    bool hasMin;
};
struct Int8GemmPanels {
    Int8GemmPanel q8_0, q4_0, q5_0, q4_K, q5_K, q6_K;
};

namespace isa_avx512 {
// Defined by the avx512 level's int8gemm.cpp (the only one built with VNNI); the AMX level runs only where
// avx512 does.
const Int8GemmPanels& int8GemmPanels();
} // namespace isa_avx512

} // namespace engine
