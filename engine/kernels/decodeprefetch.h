// Internal to kernels/: the software prefetch of decode's row dots (typekernels.cpp, activationq8.cpp).
#pragma once

#if !defined(PLAYGROUND_ISA_NS)
#error "decodeprefetch.h is for the per-ISA kernel sources (PLAYGROUND_ISA_NS undefined)"
#endif

#include <cstddef>

// In the level's namespace, like everything a level's copy defines (isakernels.h): the copies never share a symbol.
namespace engine::PLAYGROUND_ISA_NS::decodeprefetch {

// How far ahead of the bytes a row dot is reading it asks for the weights. Decode reads every weight once per token,
// row after row, rows stored back to back, so the bytes this far ahead are the ones it reads next (the rest of the
// row, then the following rows of the matrix; past a block or a matrix's end the prefetch is wasted, never wrong: a
// prefetch does not fault). Measured on the Intel VM, one thread, the avx512 Q4_0 dot over rows of 768 columns: it
// computes 15 GB/s from L2, but streamed from 100-400 MiB of rows it read 5.8-7.5 GB/s (the hardware prefetchers
// keep too few lines in flight at its demand rate), and 10-15 GB/s with this; 2, 4, 8 and 16 KiB ahead were close.
constexpr size_t kDistanceBytes = 4096;

// Prefetches every cache line of [p, p + Bytes) kDistanceBytes ahead: one line per 64 bytes, and the span's last
// byte, so an unaligned span's lines are all asked for (a span of 72 bytes can touch three lines).
template <size_t Bytes> inline void ahead(const void* p)
{
    const char* a = static_cast<const char*>(p) + kDistanceBytes;
    for (size_t k = 0; k < Bytes; k += 64)
        __builtin_prefetch(a + k, 0, 3);
    if constexpr (Bytes % 64 != 0)
        __builtin_prefetch(a + Bytes - 1, 0, 3);
}

} // namespace engine::PLAYGROUND_ISA_NS::decodeprefetch
