// A read-only memory mapping of a whole file, released on destruction (RAII over mmap/munmap).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace engine {

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
