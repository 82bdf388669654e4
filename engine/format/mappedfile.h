// A read-only memory mapping of a whole file, released on destruction (RAII over mmap/munmap), guarded against the
// file shrinking underneath it (see MappedFile).
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

namespace engine {

// Asks the kernel to back [data, data+bytes) with 2 MiB pages (the whole-page part of it), now if it
// can (MADV_COLLAPSE, Linux 6.1+) and from then on otherwise. Streaming hundreds of MiB of weights
// per token over 4 KiB pages costs TLB misses and stops the hardware prefetcher at every page
// boundary. Returns true if the collapse succeeded; failure is harmless (the memory stays usable).
bool adviseHugePages(const void* data, size_t bytes);

// True if the process-wide SIGBUS handler that guards mappings is in place (it is installed with the first
// MappedFile; a sanitizer runtime that refuses user handlers leaves it out). Tests skip what needs it otherwise.
bool mappingGuardActive();

// A file another program truncates while it is mapped would make the next read of a page past its new end raise
// SIGBUS and end the process. Every MappedFile registers its range with one process-wide SIGBUS handler instead:
// a fault inside a registered range is answered by mapping anonymous zero pages over the rest of that range
// (mmap MAP_FIXED, a plain system call) and marking the mapping damaged, and the faulting read resumes and sees
// zeros. Whoever computes with the bytes asks changedSinceMapped() when a result is ready (the forward pass does
// after every step) and refuses the result. Faults elsewhere go to the handler that was there before.
class MappedFile {
public:
    // Throws std::runtime_error naming the path if the file cannot be opened or mapped.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const uint8_t> bytes() const { return { m_data, m_size }; }
    const std::string& path() const { return m_path; }

    // Reads every page in now (MADV_POPULATE_READ), so the first use does not fault page by page.
    void populate() const;

    // Replaces the mapping, at the same addresses, by a private copy of the bytes in anonymous memory (2 MiB pages
    // where the kernel grants them), so every pointer into bytes() stays valid. Weights streamed once per token
    // read markedly faster from freshly allocated anonymous memory than from the page cache's pages (measured in
    // docs/benchmarks.md; the page size alone does not explain it). Costs a second copy of the file while the page
    // cache keeps its own (reclaimable) one. From then on the bytes no longer follow the file: a truncation cannot
    // fault any more, and changedSinceMapped() still reports a rewrite or a shrink (asked with fstat), so results
    // are refused exactly as for a mapping. Returns false, leaving the mapping as it was, if the memory cannot be
    // had (throws std::runtime_error naming the path if the file then cannot be mapped back). Reads that fall past
    // a shrunk end while copying see zeros and mark the mapping damaged, as any read.
    bool copyIntoAnonymousMemory();
    bool inAnonymousMemory() const { return m_anonymous; }

    // True once a read fell past the file's new end (answered with zeros), or the file's size or modification
    // time differs from when it was mapped (it was rewritten in place; asked with an fstat at most every 10 ms, so
    // a call costs an atomic load and a clock read). A file replaced by a rename is not a change: the mapping keeps
    // the old one.
    bool changedSinceMapped() const;

private:
    std::string m_path;
    const uint8_t* m_data = nullptr;
    size_t m_size = 0;
    int m_fd = -1; // kept open so changedSinceMapped() asks about the very file mapped, not whatever has its name now
    int64_t m_mtimeNs = 0;
    mutable std::atomic<int64_t> m_lastStatNs { 0 }; // steady clock, when changedSinceMapped last asked fstat
    mutable std::atomic<bool> m_rewritten { false }; // what fstat once found stays found
    int m_guardSlot = -1; // the SIGBUS guard's slot, or -1 when unguarded
    bool m_anonymous = false; // copyIntoAnonymousMemory() replaced the file's pages
};

} // namespace engine
