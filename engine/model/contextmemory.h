// The memory of ended contexts (their KV caches and activations) handed to the next context of the same size.
#pragma once

#include <cstddef>
#include <memory>

namespace engine {

// Why: every run makes new contexts (one per prompt), and a KV cache above glibc's largest mmap threshold (32 MiB: the
// 110M shape's keys at a 1024-token context are 38 MiB) is a fresh mapping each time, so each run wrote its positions
// into new pages. On the project's VMs a first write to a page costs about 12 µs (docs/benchmarks.md, session 15): a
// 128-token prefill of the 110M Q8_0 file at two threads took 146-175 ms in a fresh context with 3070 page faults,
// 88-95 ms in one that had run before (the activations, 3 MiB at 128 tokens, were most of the rest: glibc returned them
// too). A released block keeps its committed pages, so the next context of the same size writes into memory it already
// has; what no context has written stays uncommitted, as before. The memory kept is what earlier runs committed, at
// most kContextPoolBytes.
//
// acquireContextBlock(n) returns n floats, unwritten or holding an ended context's values (never read before they are
// written: attention reads only positions already written). Released blocks are kept, most recent first, up to
// kContextPoolBytes in all; a block larger than that, and the oldest ones past it, go back to the system. Thread-safe.
inline constexpr size_t kContextPoolBytes = size_t(512) << 20;

struct ContextBlockRelease {
    size_t elems = 0;
    void operator()(float* block) const noexcept;
};

std::unique_ptr<float[], ContextBlockRelease> acquireContextBlock(size_t elems); // throws std::bad_alloc

// Returns every kept block to the system: for when the contexts to come will be of other sizes (the window loading
// another model), so the memory earlier runs committed is not held until newer blocks push it out. Blocks of
// contexts still running are not kept yet, so they are untouched; they join the pool when their context ends.
void releaseContextPool();

// The bytes of the blocks kept for reuse now.
size_t contextPoolBytes();

} // namespace engine
