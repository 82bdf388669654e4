// Internal to kernels/: the software prefetch of decode's row dots (typekernels.cpp: ahead; activationq8.cpp: Stream).
#pragma once

#if !defined(PLAYGROUND_ISA_NS)
#error "decodeprefetch.h is for the per-ISA kernel sources (PLAYGROUND_ISA_NS undefined)"
#endif

#include <cstddef>
#include <cstdint>

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

// The integer dots of the block-quantised types (activationq8.cpp) ask for every cache line of their row twice, once
// each: kNearBytes ahead of what they read into L1 (prefetcht0) and kFarBytes ahead into L2 (prefetcht2), each line
// once. Measured on the Intel VM, one thread, one process, alternating sweeps over the 1B files' matrices against a
// plain vector read of the same bytes (/work/probe/dots-sweep.cpp): with ahead() (one prefetcht0 4 KiB ahead for every
// 64 bytes of a step, plus the step's last byte) Q8_0 read 0.93-0.94 and Q4_0 0.88-0.89 of the plain read; with
// prefetcht0 alone (one per line) at 2, 4 or 8 KiB they were no better, with prefetcht1/t2 alone Q8_0 rose to 0.97-1.01
// but Q4_0 fell to 0.87-0.88 (its loads then wait on L2), prefetchnta fell to 0.63-0.66; both hints, 2 and 8 KiB or
// 4 and 16 KiB, gave Q8_0 1.06-1.08 and Q4_0 0.955-0.96: the far request keeps more lines on their way from memory
// than the L1 fill buffers allow, the near one has them in L1 when the dot's loads come.
constexpr size_t kNearBytes = 2048;
constexpr size_t kFarBytes = 8192;

// One row's (or consecutive rows') reading: upTo(p) asks for the lines up to p + kNearBytes (and p + kFarBytes) not
// asked for yet, p being the end of the bytes the caller is about to read. Past the row's end it asks for the next
// rows', which decode reads next (and past the matrix's end a prefetch is wasted, never wrong: it does not fault).
class Stream {
public:
    explicit Stream(const void* row)
        : m_next((reinterpret_cast<uintptr_t>(row) + kNearBytes) & ~uintptr_t(63))
    {
    }
    void upTo(const void* p)
    {
        const uintptr_t end = reinterpret_cast<uintptr_t>(p) + kNearBytes;
        for (; m_next < end; m_next += 64) {
            __builtin_prefetch(reinterpret_cast<const void*>(m_next), 0, 3);
            __builtin_prefetch(reinterpret_cast<const void*>(m_next + (kFarBytes - kNearBytes)), 0, 1);
        }
    }

private:
    uintptr_t m_next; // the next line to ask for (kNearBytes ahead)
};

} // namespace engine::PLAYGROUND_ISA_NS::decodeprefetch
