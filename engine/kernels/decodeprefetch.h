// Internal to kernels/: the software prefetch of decode's row dots (typekernels.cpp: ahead; activationq8.cpp:
// aheadTwice).
#pragma once

#if !defined(PLAYGROUND_ISA_NS)
#error "decodeprefetch.h is for the per-ISA kernel sources (PLAYGROUND_ISA_NS undefined)"
#endif

#include "engine/kernels/cpudispatch.h"

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

// One cache line's prefetch into L1 (prefetcht0) or L2 (prefetcht2), as inline assembly: GCC 12 drops
// __builtin_prefetch from a block under a run-time condition (the whole `if` disappears, flag load and all), and the
// prefetches here are conditional (gDecodePrefetch). Prefetch instructions never fault, whatever the address.
inline void lineToL1(const char* a) { asm volatile("prefetcht0 %0" : : "m"(*a)); }
inline void lineToL2(const char* a) { asm volatile("prefetcht2 %0" : : "m"(*a)); }

// Prefetches (when gDecodePrefetch is set, or Always) every cache line of [p, p + Bytes) kDistanceBytes ahead: one line
// per 64 bytes, and the span's last byte, so an unaligned span's lines are all asked for (a span of 72 bytes can touch
// three lines).
template <size_t Bytes, bool Always = false> inline void ahead(const void* p)
{
    if (Always || engine::detail::gDecodePrefetch) { // off on AMD (cpudispatch.h: decodePrefetchActive)
        const char* a = static_cast<const char*>(p) + kDistanceBytes;
        for (size_t k = 0; k < Bytes; k += 64)
            lineToL1(a + k);
        if constexpr (Bytes % 64 != 0)
            lineToL1(a + Bytes - 1);
    }
}

// The integer dots of the block-quantised types (activationq8.cpp) ask for their lines twice: as ahead() does, and once
// more kFarBytes ahead into L2 (prefetcht2), one request per whole 64 bytes of the span (a span of 72 bytes asks for
// one line: its neighbours' requests and ahead() cover the rest). The far requests keep more lines on their way from
// memory than the L1 fill buffers that ahead()'s requests hold allow. Measured on the Intel VM, one thread, one
// process, sweeps of all of a type's matrices with the previous kernels and these alternating, each next to a plain
// vector read of the same bytes (docs/benchmarks.md), medians of kernel / read: from memory, 1B Q4_0's Q4_0 rows
// 0.89 -> 1.01, 1B Q8_0's Q8_0 rows 0.93 -> 1.14, the 110M Q4_K_M file's Q4_K and Q6_K rows (12 copies, 486 and 370 MB)
// 0.97 -> 1.07 and 0.98 -> 1.10; from L3 (the 110M files' rows alone, where the dots are bound by their vector ports)
// within 2% either way. Tried as well: prefetcht0 alone once per line at 2, 4 or 8 KiB (no better than ahead()),
// prefetcht1/t2 alone (Q8_0 0.97-1.01, Q4_0 0.87-0.88: its loads then wait on L2), prefetchnta (0.63-0.66), both hints
// at 1/8, 2/8, 2/16, 4/8 and 4/16 KiB (within noise of this for Q8_0 and Q4_0), and both hints exactly once per line
// through a cursor over the row (as fast from memory, 2-10% slower from L2 and L3: the loop's branch mispredicts).
constexpr size_t kFarBytes = 12288;
// Unlike ahead(), on whatever the CPU: on the AMD VM the integer dots measured within the noise either way (whole
// decode, alternating: 1B Q8_0 -5% to +15%, 1B Q4_0 -12% to +9%, 110M Q4_K_M at 2 threads -7% without), where the
// float dots gained 30-45% without.
template <size_t Bytes> inline void aheadTwice(const void* p)
{
    ahead<Bytes, true>(p);
    const char* a = static_cast<const char*>(p) + kFarBytes;
    for (size_t k = 0; k < (Bytes < 64 ? 1 : Bytes / 64); ++k)
        lineToL2(a + 64 * k);
}

} // namespace engine::PLAYGROUND_ISA_NS::decodeprefetch
