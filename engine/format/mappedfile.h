// A read-only memory mapping of a whole file, released on destruction (RAII over mmap/munmap).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace engine {

// Asks the kernel to back [data, data+bytes) with 2 MiB pages (the whole-page part of it), now if it
// can (MADV_COLLAPSE, Linux 6.1+) and from then on otherwise. Streaming hundreds of MiB of weights
// per token over 4 KiB pages costs TLB misses and stops the hardware prefetcher at every page
// boundary. Returns true if the collapse succeeded; failure is harmless (the memory stays usable).
bool adviseHugePages(const void* data, size_t bytes);

class MappedFile {
public:
    // Throws std::runtime_error naming the path if the file cannot be opened or mapped.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const uint8_t> bytes() const { return { m_data, m_size }; }
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
    const uint8_t* m_data = nullptr;
    size_t m_size = 0;
};

} // namespace engine
