#include "engine/format/memorybudget.h"

#include "engine/format/gguffile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <sys/resource.h>

namespace engine {

namespace {

// The value of `key` (e.g. "MemAvailable:") in a /proc file of "key value kB" lines, in bytes; 0 if absent.
uint64_t procKilobytes(const char* path, const std::string& key)
{
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) != 0)
            continue;
        std::istringstream fields(line.substr(key.size()));
        uint64_t kb = 0;
        fields >> kb;
        return kb * 1024;
    }
    return 0;
}

// A cgroup v2 file holding one number or "max"; 0 for "max", absent or unreadable.
uint64_t cgroupValue(const std::string& path)
{
    std::ifstream in(path);
    std::string word;
    if (!(in >> word) || word == "max")
        return 0;
    try {
        return std::stoull(word);
    } catch (const std::exception&) {
        return 0;
    }
}

// This process's cgroup v2 directory ("0::/user.slice/..." in /proc/self/cgroup), or empty.
std::string cgroupDirectory()
{
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("0::", 0) == 0)
            return "/sys/fs/cgroup" + line.substr(3);
    return {};
}

void take(MemoryBudget& b, uint64_t bytes, const std::string& detail)
{
    if (b.available == 0 || bytes < b.available)
        b.available = bytes;
    b.detail += (b.detail.empty() ? "" : "; ") + detail;
}

} // namespace

std::string formatBytes(uint64_t bytes)
{
    char buf[32];
    if (bytes >= (uint64_t(1) << 30))
        std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(uint64_t(1) << 30));
    else if (bytes >= (uint64_t(1) << 20))
        std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(uint64_t(1) << 20));
    else if (bytes >= 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
    return buf;
}

MemoryBudget MemoryBudget::current()
{
    MemoryBudget b;
    if (const char* forced = std::getenv("PLAYGROUND_MEMORY_AVAILABLE"); forced && *forced) {
        char* end = nullptr;
        const unsigned long long v = std::strtoull(forced, &end, 10);
        if (end && *end == '\0' && v > 0) {
            take(b, v, "PLAYGROUND_MEMORY_AVAILABLE " + formatBytes(v) + " (a test's setting)");
            return b;
        }
    }
    if (const uint64_t avail = procKilobytes("/proc/meminfo", "MemAvailable:"))
        take(b, avail, "MemAvailable " + formatBytes(avail));
    if (const std::string dir = cgroupDirectory(); !dir.empty()) {
        const uint64_t max = cgroupValue(dir + "/memory.max");
        if (max != 0) {
            const uint64_t used = cgroupValue(dir + "/memory.current");
            take(b, max > used ? max - used : 1,
                "cgroup memory.max " + formatBytes(max) + ", " + formatBytes(used) + " in use");
        }
    }
    rlimit as {};
    if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
        const uint64_t used = procKilobytes("/proc/self/status", "VmSize:");
        const uint64_t limit = uint64_t(as.rlim_cur);
        take(b, limit > used ? limit - used : 1,
            "RLIMIT_AS " + formatBytes(limit) + ", " + formatBytes(used) + " of address space in use");
    }
    return b;
}

void requireMemory(const std::string& file, uint64_t needed, const std::string& what, const MemoryBudget& budget)
{
    if (budget.available == 0 || needed <= budget.available)
        return;
    throw ModelFileError(file,
        "too large for the memory available: loading it needs about " + formatBytes(needed) + " (" + what
            + "), but only " + formatBytes(budget.available) + " is available (" + budget.detail + ")");
}

} // namespace engine
