// How much memory this process may still use, from every limit Linux puts on it, and the refusal of a model that
// needs more: checked before a model file is mapped or a synthetic model is built, so a user gets the numbers
// instead of a swap storm or the OOM killer.
#pragma once

#include <cstdint>
#include <string>

namespace engine {

// The smallest of: MemAvailable (/proc/meminfo), the cgroup's memory.max minus memory.current (cgroup v2, when
// set), and RLIMIT_AS minus the address space already in use (when set). `detail` names each source with its
// figure, as a refusal quotes it.
struct MemoryBudget {
    uint64_t available = 0; // bytes; 0 when no source could be read (then nothing is refused)
    std::string detail; // e.g. "MemAvailable 3.1 GiB; cgroup memory.max 4.0 GiB, 1.2 GiB in use"

    // Reads the sources now. The environment variable PLAYGROUND_MEMORY_AVAILABLE (bytes), meant for tests only,
    // replaces them all, so a test can show a refusal without a file larger than the machine's memory.
    static MemoryBudget current();
};

// "1.5 GiB", "12.0 MiB", "512 bytes": sizes as refusals print them.
std::string formatBytes(uint64_t bytes);

// Throws ModelFileError naming `file` if `needed` bytes (described by `what`, e.g. "the file's 2.0 GiB mapped
// plus a 256.0 MiB KV cache") exceed the budget; does nothing when the budget is unknown.
void requireMemory(const std::string& file, uint64_t needed, const std::string& what, const MemoryBudget& budget);

} // namespace engine
