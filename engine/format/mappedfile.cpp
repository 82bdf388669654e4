#include "engine/format/mappedfile.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace engine {

namespace {
[[noreturn]] void throwSystemError(const std::string& path, const char* what, int err)
{
    throw std::runtime_error(path + ": " + what + ": " + std::strerror(err));
}

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct FdGuard {
    int fd;
    ~FdGuard()
    {
        if (fd >= 0)
            ::close(fd);
    }
};
} // namespace

MappedFile::MappedFile(const std::string& path)
    : m_path(path)
{
    FdGuard guard { ::open(path.c_str(), O_RDONLY | O_CLOEXEC) };
    if (guard.fd < 0)
        throwSystemError(path, "cannot open", errno);

    struct stat st { };
    if (::fstat(guard.fd, &st) != 0)
        throwSystemError(path, "cannot stat", errno);
    if (!S_ISREG(st.st_mode))
        throw std::runtime_error(path + ": not a regular file");
    if (st.st_size == 0)
        return; // mmap of length 0 fails with EINVAL; an empty file is an empty span

    // MAP_POPULATE maps every page now (reading the file if it is not cached): otherwise the first
    // forward pass of a fresh process takes a page fault per 4 KiB of weights, which shows up as a
    // slower first token.
    void* p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, guard.fd, 0);
    if (p == MAP_FAILED)
        throwSystemError(path, "cannot map", errno);
    m_data = static_cast<const uint8_t*>(p);
    m_size = size_t(st.st_size);
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(const_cast<uint8_t*>(m_data), m_size);
}

bool adviseHugePages(const void* data, size_t bytes)
{
    constexpr uintptr_t kHuge = uintptr_t(2) << 20;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
    if (end <= begin)
        return false;
    void* p = reinterpret_cast<void*>(begin);
    madvise(p, end - begin, MADV_HUGEPAGE);
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
    return madvise(p, end - begin, MADV_COLLAPSE) == 0;
}

} // namespace engine
