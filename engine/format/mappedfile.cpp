#include "engine/format/mappedfile.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <utility>

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

// Closes the descriptor on every path out of the constructor unless released.
struct FdGuard {
    int fd;
    ~FdGuard()
    {
        if (fd >= 0)
            ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

// The SIGBUS guard (see mappedfile.h). Slots are claimed and freed with atomics, so the handler reads them without
// a lock; a mapping beyond the last slot is simply not guarded.
struct GuardSlot {
    std::atomic<uintptr_t> begin { 0 }; // 0: free
    std::atomic<uintptr_t> end { 0 };
    std::atomic<bool> damaged { false };
};
constexpr int kGuardSlots = 64;
GuardSlot g_slots[kGuardSlots];
std::atomic<bool> g_claimed[kGuardSlots];
struct sigaction g_previous { };
uintptr_t g_pageSize = 4096;
std::atomic<bool> g_guardActive { false };

int64_t mtimeNs(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec; }

void onSigbus(int sig, siginfo_t* info, void* context)
{
    const uintptr_t at = reinterpret_cast<uintptr_t>(info->si_addr);
    for (GuardSlot& slot : g_slots) {
        const uintptr_t begin = slot.begin.load(std::memory_order_acquire);
        const uintptr_t end = slot.end.load(std::memory_order_acquire);
        if (begin == 0 || at < begin || at >= end)
            continue;
        // The file ends before this page now, so every later page of the mapping is past its end too.
        const uintptr_t page = at & ~(g_pageSize - 1);
        void* p = ::mmap(
            reinterpret_cast<void*>(page), end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != MAP_FAILED) {
            slot.damaged.store(true, std::memory_order_release);
            return; // the read runs again and sees zeros
        }
        break;
    }
    // Not a guarded mapping: what would have happened without us.
    if (g_previous.sa_flags & SA_SIGINFO) {
        if (g_previous.sa_sigaction)
            g_previous.sa_sigaction(sig, info, context);
        return;
    }
    if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
        g_previous.sa_handler(sig);
        return;
    }
    ::signal(SIGBUS, SIG_DFL); // the access faults again and the default action ends the process
}

void installGuard()
{
    static std::once_flag once;
    std::call_once(once, [] {
        g_pageSize = uintptr_t(::sysconf(_SC_PAGESIZE));
        struct sigaction sa { };
        sa.sa_sigaction = onSigbus;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (::sigaction(SIGBUS, &sa, &g_previous) != 0)
            return;
        struct sigaction now { };
        ::sigaction(SIGBUS, nullptr, &now);
        g_guardActive = (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == onSigbus;
    });
}

int claimGuardSlot(const uint8_t* data, size_t size)
{
    installGuard();
    if (!g_guardActive)
        return -1;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
    const uintptr_t end = (begin + size + g_pageSize - 1) & ~(g_pageSize - 1);
    for (int i = 0; i < kGuardSlots; ++i) {
        bool expected = false;
        if (!g_claimed[i].compare_exchange_strong(expected, true))
            continue;
        g_slots[i].damaged.store(false);
        g_slots[i].end.store(end, std::memory_order_release);
        g_slots[i].begin.store(begin, std::memory_order_release);
        return i;
    }
    return -1;
}

void releaseGuardSlot(int i)
{
    if (i < 0)
        return;
    g_slots[i].begin.store(0, std::memory_order_release);
    g_slots[i].end.store(0, std::memory_order_release);
    g_claimed[i].store(false);
}
} // namespace

bool mappingGuardActive()
{
    installGuard();
    return g_guardActive;
}

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

    // Not populated here: a model is checked against the memory available first, and `inspect` reads only the
    // header. populate() maps every page once that is decided.
    void* p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, guard.fd, 0);
    if (p == MAP_FAILED)
        throwSystemError(path, "cannot map", errno);
    m_data = static_cast<const uint8_t*>(p);
    m_size = size_t(st.st_size);
    m_mtimeNs = mtimeNs(st);
    m_fd = guard.release();
    m_guardSlot = claimGuardSlot(m_data, m_size);
}

MappedFile::~MappedFile()
{
    releaseGuardSlot(m_guardSlot);
    if (m_data)
        ::munmap(const_cast<uint8_t*>(m_data), m_size);
    if (m_fd >= 0)
        ::close(m_fd);
}

void MappedFile::populate() const
{
    if (!m_data)
        return;
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
    // As MAP_POPULATE would have at mmap: otherwise the first forward pass of a fresh process takes a page fault per
    // 4 KiB of weights, which shows up as a slower first token. Before Linux 5.14, read-ahead is only requested.
    if (::madvise(const_cast<uint8_t*>(m_data), m_size, MADV_POPULATE_READ) != 0)
        ::madvise(const_cast<uint8_t*>(m_data), m_size, MADV_WILLNEED);
}

bool MappedFile::copyIntoAnonymousMemory()
{
    if (!m_data || m_anonymous)
        return m_anonymous;
    constexpr size_t kHuge = size_t(2) << 20;
    const size_t length = (m_size + g_pageSize - 1) & ~(g_pageSize - 1);
    // Over-allocated by 2 MiB so the copy can start on a 2 MiB boundary: mremap moves whole huge pages only
    // between addresses aligned alike (the kernel aligns a large file's mapping to 2 MiB).
    void* raw = ::mmap(nullptr, length + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return false;
    const uintptr_t rawBegin = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t begin = (rawBegin + kHuge - 1) & ~uintptr_t(kHuge - 1);
    if (begin > rawBegin)
        ::munmap(raw, begin - rawBegin);
    if (begin + length < rawBegin + length + kHuge)
        ::munmap(reinterpret_cast<void*>(begin + length), rawBegin + length + kHuge - (begin + length));
    void* copy = reinterpret_cast<void*>(begin);
    ::madvise(copy, length, MADV_HUGEPAGE);
    std::memcpy(copy, m_data, m_size); // guarded: a shrunk file reads as zeros and marks the mapping damaged
    ::mprotect(copy, length, PROT_READ); // read-only as the mapping was: a stray write still faults
    void* moved = ::mremap(copy, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, const_cast<uint8_t*>(m_data));
    if (moved == MAP_FAILED) {
        // mremap may have unmapped the destination before failing: map the file there again, as it was.
        ::munmap(copy, length);
        void* again = ::mmap(const_cast<uint8_t*>(m_data), length, PROT_READ, MAP_PRIVATE | MAP_FIXED, m_fd, 0);
        if (again == MAP_FAILED)
            throwSystemError(m_path, "cannot map again after a failed copy", errno);
        return false;
    }
    m_anonymous = true;
    return true;
}

bool MappedFile::changedSinceMapped() const
{
    if (m_guardSlot >= 0 && g_slots[m_guardSlot].damaged.load(std::memory_order_acquire))
        return true;
    if (m_rewritten.load(std::memory_order_relaxed))
        return true;
    if (m_fd < 0)
        return false;
    // A rewrite in place cannot crash anything (the size is the same), so asking the kernel at most every 10 ms is
    // enough; an fstat costs about 0.7 µs, a decode step of a tiny model a few tens.
    const int64_t now
        = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
              .count();
    int64_t last = m_lastStatNs.load(std::memory_order_relaxed);
    if (now - last < 10'000'000 || !m_lastStatNs.compare_exchange_strong(last, now, std::memory_order_relaxed))
        return false;
    struct stat st { };
    if (::fstat(m_fd, &st) != 0)
        return false;
    if (uint64_t(st.st_size) == m_size && mtimeNs(st) == m_mtimeNs)
        return false;
    m_rewritten.store(true, std::memory_order_relaxed);
    return true;
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
