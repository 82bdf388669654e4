#include "engine/measure/machine.h"

#include "engine/kernels/cpudispatch.h"
#include "engine/measure/statistics.h"
#include "engine/parallel/scheduler.h"

#include <algorithm>
#include <barrier>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#include <immintrin.h>

namespace engine {

nlohmann::json machineDescription()
{
    nlohmann::json m;
    std::ifstream cpu("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpu, line))
        if (line.rfind("model name", 0) == 0) {
            m["cpu"] = line.substr(line.find(':') + 2);
            break;
        }
    m["logical_cores"] = Scheduler::hardwareThreads();
    // The kernels' SIMD level in use (PLAYGROUND_ISA can lower it) and the best this CPU runs.
    m["isa"] = cpuIsaName(activeCpuIsa());
    m["isa_best"] = cpuIsaName(bestCpuIsa());
    // Whether decode's dots prefetch their rows in software (off on AMD; PLAYGROUND_DECODE_PREFETCH overrides).
    m["decode_prefetch"] = decodePrefetchActive();
    std::ifstream mem("/proc/meminfo");
    std::string key, unit;
    uint64_t value = 0;
    while (mem >> key >> value >> unit)
        if (key == "MemTotal:") {
            m["memory_gib"] = double(value) / (1024.0 * 1024.0);
            break;
        }
    return m;
}

CpuTimes parseCpuTimes(const std::string& procStat, const std::string& selfStat)
{
    CpuTimes t;
    // proc(5): the first line "cpu  user nice system idle iowait irq softirq steal guest guest_nice" sums every
    // CPU; guest time is already inside user, so it is not added again.
    std::istringstream stat(procStat);
    std::string line;
    bool haveMachine = false;
    while (std::getline(stat, line)) {
        if (line.rfind("cpu", 0) != 0)
            continue;
        std::istringstream fields(line);
        std::string name;
        fields >> name;
        if (name == "cpu") {
            uint64_t v[8] = {};
            int n = 0;
            while (n < 8 && fields >> v[n])
                ++n;
            if (n < 4)
                return {};
            const uint64_t idle = v[3] + v[4];
            t.machineBusy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
            t.machineTotal = t.machineBusy + idle;
            haveMachine = true;
        } else if (name.size() > 3 && std::isdigit(static_cast<unsigned char>(name[3]))) {
            ++t.cpus;
        }
    }
    // proc(5): /proc/self/stat fields 14 and 15 are utime and stime; field 2 (the command) is in parentheses and
    // may hold spaces, so count from the last ')'.
    const size_t close = selfStat.rfind(')');
    if (!haveMachine || close == std::string::npos || t.cpus < 1)
        return {};
    std::istringstream self(selfStat.substr(close + 1));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int index = 3; index <= 15 && self >> field; ++index) {
        if (index == 14)
            utime = std::strtoull(field.c_str(), nullptr, 10);
        else if (index == 15) {
            stime = std::strtoull(field.c_str(), nullptr, 10);
            t.process = utime + stime;
            t.valid = true;
        }
    }
    return t.valid ? t : CpuTimes {};
}

CpuTimes readCpuTimes()
{
    auto slurp = [](const char* path) {
        std::ifstream in(path);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    };
    return parseCpuTimes(slurp("/proc/stat"), slurp("/proc/self/stat"));
}

BackgroundLoad backgroundLoadBetween(const CpuTimes& before, const CpuTimes& after)
{
    BackgroundLoad load;
    if (!before.valid || !after.valid || after.machineTotal <= before.machineTotal
        || after.machineBusy < before.machineBusy || after.process < before.process)
        return load;
    const double total = double(after.machineTotal - before.machineTotal);
    const double busy = double(after.machineBusy - before.machineBusy);
    const double mine = double(after.process - before.process);
    load.measured = true;
    load.cpus = after.cpus;
    // Per-process and per-CPU ticks are sampled separately, so "mine" can exceed "busy" by a tick or two.
    load.otherShare = std::clamp((busy - mine) / total, 0.0, 1.0);
    load.otherCores = load.otherShare * after.cpus;
    const long ticksPerSecond = sysconf(_SC_CLK_TCK);
    load.seconds = ticksPerSecond > 0 ? total / after.cpus / double(ticksPerSecond) : 0.0;
    return load;
}

nlohmann::json toJson(const BackgroundLoad& load)
{
    if (!load.measured)
        return { { "measured", false } };
    return {
        { "measured", true },
        { "other_cores", load.otherCores },
        { "other_share", load.otherShare },
        { "cpus", load.cpus },
        { "seconds", load.seconds },
        { "significant", load.significant() },
        { "significant_from_cores", BackgroundLoad::kSignificantCores },
    };
}

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Sums a range with eight independent vector accumulators so loads, not adds, are the limit; the vector width
// is the kernels' (kernels/cpudispatch.h), chosen at run time.
__attribute__((target("avx512f"))) float readRangeAvx512(const float* p, size_t n)
{
    size_t i = 0;
    __m512 a[8];
    for (auto& v : a)
        v = _mm512_setzero_ps();
    for (; i + 128 <= n; i += 128)
        for (int k = 0; k < 8; ++k)
            a[k] = _mm512_add_ps(a[k], _mm512_load_ps(p + i + 16 * k));
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])),
        _mm512_add_ps(_mm512_add_ps(a[4], a[5]), _mm512_add_ps(a[6], a[7])));
    float sum = _mm512_reduce_add_ps(s);
    for (; i < n; ++i)
        sum += p[i];
    return sum;
}

__attribute__((target("avx2"))) float readRangeAvx2(const float* p, size_t n)
{
    size_t i = 0;
    __m256 a[8];
    for (auto& v : a)
        v = _mm256_setzero_ps();
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 8; ++k)
            a[k] = _mm256_add_ps(a[k], _mm256_load_ps(p + i + 8 * k));
    alignas(32) float tmp[8];
    __m256 s = a[0];
    for (int k = 1; k < 8; ++k)
        s = _mm256_add_ps(s, a[k]);
    _mm256_store_ps(tmp, s);
    float sum = 0;
    for (float t : tmp)
        sum += t;
    for (; i < n; ++i)
        sum += p[i];
    return sum;
}

float readRangeSse(const float* p, size_t n)
{
    size_t i = 0;
    __m128 a[8];
    for (auto& v : a)
        v = _mm_setzero_ps();
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 8; ++k)
            a[k] = _mm_add_ps(a[k], _mm_load_ps(p + i + 4 * k));
    alignas(16) float tmp[4];
    __m128 s = a[0];
    for (int k = 1; k < 8; ++k)
        s = _mm_add_ps(s, a[k]);
    _mm_store_ps(tmp, s);
    float sum = tmp[0] + tmp[1] + tmp[2] + tmp[3];
    for (; i < n; ++i)
        sum += p[i];
    return sum;
}

float readRange(const float* p, size_t n)
{
    switch (activeCpuIsa()) {
    case CpuIsa::Amx: // the avx512 level plus tiles for prefill's integer kernels
    case CpuIsa::Avx512:
        return readRangeAvx512(p, n);
    case CpuIsa::Avx2:
        return readRangeAvx2(p, n);
    case CpuIsa::Scalar:
        break;
    }
    return readRangeSse(p, n);
}

struct AlignedBuffer {
    void* data = nullptr;
    size_t size = 0;
    bool huge = false;
    explicit AlignedBuffer(size_t bytes)
        : size(bytes)
    {
        data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (data == MAP_FAILED)
            throw std::runtime_error("bandwidth probe: cannot allocate " + std::to_string(bytes >> 20) + " MiB");
        huge = madvise(data, bytes, MADV_HUGEPAGE) == 0;
    }
    ~AlignedBuffer() { munmap(data, size); }
};
} // namespace

namespace {
// The part of `span` that thread k of `parts` reads: whole 64-byte lines (the probe's aligned loads), the span split
// into `parts` runs of whole groups of 128 floats, the last part taking the rest.
std::pair<const float*, size_t> partOf(const ReadSpan& span, size_t k, size_t parts)
{
    const uintptr_t b = (reinterpret_cast<uintptr_t>(span.data) + 63) & ~uintptr_t(63);
    const uintptr_t e = (reinterpret_cast<uintptr_t>(span.data) + span.bytes) & ~uintptr_t(63);
    const size_t n = e > b ? (e - b) / sizeof(float) : 0;
    const size_t per = (n / parts) & ~size_t(127);
    const size_t first = k * per, last = k + 1 == parts ? n : (k + 1) * per;
    return { reinterpret_cast<const float*>(b) + first, last - first };
}
} // namespace

BandwidthResult measureSpansRead(int threads, std::span<const ReadSpan> spans, int passes,
    const std::function<void(size_t part, size_t parts)>& prepare)
{
    BandwidthResult r;
    r.threads = threads;
    for (const ReadSpan& s : spans)
        r.bufferBytes += s.bytes;
    // Plain threads released together by a barrier, not TBB tasks, so that every thread is reading
    // during the whole timed interval.
    const size_t parts = size_t(std::max(1, threads));
    std::vector<double> rates;
    std::vector<float> sums(parts);
    std::barrier start(std::ptrdiff_t(parts + 1));
    std::barrier finish(std::ptrdiff_t(parts + 1));
    const int totalPasses = passes + 1; // the first pass warms the TLB and the threads
    std::vector<std::thread> workers;
    for (size_t k = 0; k < parts; ++k)
        workers.emplace_back([&, k] {
            if (prepare)
                prepare(k, parts);
            for (int pass = 0; pass < totalPasses; ++pass) {
                start.arrive_and_wait();
                for (const ReadSpan& s : spans) {
                    const auto [p, n] = partOf(s, k, parts);
                    sums[k] += readRange(p, n);
                }
                finish.arrive_and_wait();
            }
        });
    volatile float sink = 0.0f;
    for (int pass = 0; pass < totalPasses; ++pass) {
        const auto t0 = Clock::now(); // before the release: a conservative (longer) time
        start.arrive_and_wait();
        finish.arrive_and_wait();
        const double s = secondsSince(t0);
        if (pass > 0)
            rates.push_back(double(r.bufferBytes) / s / 1e9);
    }
    for (auto& w : workers)
        w.join();
    for (float v : sums)
        sink = sink + v;
    r.medianGBps = median(rates);
    r.maxGBps = *std::max_element(rates.begin(), rates.end());
    return r;
}

BandwidthResult measureReadBandwidth(int threads, uint64_t bufferBytes, int passes)
{
    // One buffer for every probe of a process: a second 1 GiB mapping right after freeing the first
    // often gets fewer huge pages, which made later probes read slower than earlier ones.
    static std::unique_ptr<AlignedBuffer> cached;
    if (!cached || cached->size != bufferBytes) {
        cached.reset();
        cached = std::make_unique<AlignedBuffer>(bufferBytes);
    }
    AlignedBuffer& buffer = *cached;
    const ReadSpan span { buffer.data, bufferBytes };
    BandwidthResult r = measureSpansRead(threads, { &span, 1 }, passes, [&](size_t k, size_t parts) {
        // written by the thread that reads it: the first probe places the pages
        const auto [p, n] = partOf(span, k, parts);
        float* data = const_cast<float*>(p);
        const size_t offset = size_t(p - static_cast<const float*>(buffer.data));
        for (size_t i = 0; i < n; ++i)
            data[i] = float((offset + i) & 7);
    });
    r.hugePages = buffer.huge;
    return r;
}

std::vector<BandwidthResult> measureReadBandwidths(
    const std::vector<int>& threads, uint64_t bufferBytes, std::vector<BandwidthResult> measured)
{
    // Most threads first: every probe reads the one buffer, whose pages land where the first probe's
    // threads first touch them, and a buffer first touched by fewer threads than read it reads
    // markedly slower. So the pages are placed by as many threads as will read them.
    std::vector<int> probes = threads;
    std::sort(probes.rbegin(), probes.rend());
    for (int t : probes) {
        const int p = std::min(t, Scheduler::hardwareThreads());
        bool have = false;
        for (const auto& b : measured)
            have = have || b.threads == p;
        if (!have)
            measured.push_back(measureReadBandwidth(p, bufferBytes));
    }
    return measured;
}

} // namespace engine
