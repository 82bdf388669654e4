#include "trace.h"

#include <oneapi/tbb/task_arena.h>

#include <algorithm>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace engine {

namespace {

// ns per time-stamp-counter tick, or 0 if the counter is not usable as a clock (no invariant TSC).
double tscNsPerTick()
{
#if defined(__x86_64__)
    static const double rate = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        if (!__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) || !(edx & (1u << 8)))
            return 0.0; // the counter may stop or change speed: not a clock
        using Clock = std::chrono::steady_clock;
        const auto t0 = Clock::now();
        const uint64_t c0 = __builtin_ia32_rdtsc();
        Clock::time_point t1;
        do // 20 ms: the rate is then good to a few parts per million
            t1 = Clock::now();
        while (t1 - t0 < std::chrono::milliseconds(20));
        const uint64_t c1 = __builtin_ia32_rdtsc();
        const double ns = double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        return c1 > c0 ? ns / double(c1 - c0) : 0.0;
    }();
    return rate;
#else
    return 0.0;
#endif
}

} // namespace

void TraceRecorder::calibrateClock() { tscNsPerTick(); }

void TraceRecorder::start(Clock::time_point origin)
{
    m_origin = origin;
    m_nsPerTick = tscNsPerTick();
#if defined(__x86_64__)
    if (m_nsPerTick > 0.0) {
        const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin).count();
        m_tscOrigin = __builtin_ia32_rdtsc() - uint64_t(double(since) / m_nsPerTick);
    }
#endif
}

TraceRecorder::TraceRecorder(int slots)
{
    m_slots.reserve(size_t(std::max(1, slots)));
    for (int i = 0; i < std::max(1, slots); ++i)
        m_slots.push_back(std::make_unique<Slot>());
}

TraceRecorder::~TraceRecorder()
{
    for (auto& slot : m_slots)
        for (Chunk* c : slot->chunks)
            delete c;
}

void TraceRecorder::record(const TraceEvent& event)
{
    const int index = std::clamp<int>(event.worker, 0, int(m_slots.size()) - 1);
    // Readers only ever see slots that exist.
    TraceEvent stored = event;
    stored.worker = int16_t(index);
    Slot& slot = *m_slots[size_t(index)];
    const uint64_t n = slot.published.load(std::memory_order_relaxed); // only this thread writes it
    const size_t chunk = size_t(n / kChunkEvents);
    if (chunk >= kMaxChunks) {
        ++slot.dropped;
        return;
    }
    if (!slot.chunks[chunk])
        slot.chunks[chunk] = new Chunk; // owned by the slot, freed in the destructor; never moves
    slot.chunks[chunk]->events[n % kChunkEvents] = stored;
    slot.published.store(n + 1, std::memory_order_release);
}

std::vector<TraceEvent> TraceRecorder::drain()
{
    std::vector<TraceEvent> out;
    for (auto& slotPtr : m_slots) {
        Slot& slot = *slotPtr;
        const uint64_t n = slot.published.load(std::memory_order_acquire);
        for (uint64_t i = slot.drained; i < n; ++i)
            out.push_back(slot.chunks[size_t(i / kChunkEvents)]->events[i % kChunkEvents]);
        slot.drained = n;
    }
    return out;
}

std::vector<TraceEvent> TraceRecorder::all() const
{
    std::vector<TraceEvent> out;
    for (const auto& slotPtr : m_slots) {
        const Slot& slot = *slotPtr;
        const uint64_t n = slot.published.load(std::memory_order_acquire);
        for (uint64_t i = 0; i < n; ++i)
            out.push_back(slot.chunks[size_t(i / kChunkEvents)]->events[i % kChunkEvents]);
    }
    return out;
}

uint64_t TraceRecorder::count() const
{
    uint64_t n = 0;
    for (const auto& slot : m_slots)
        n += slot->published.load(std::memory_order_acquire);
    return n;
}

ArenaObserver::ArenaObserver(tbb::task_arena& arena, TraceRecorder& recorder)
    : tbb::task_scheduler_observer(arena)
    , m_recorder(recorder)
{
    observe(true);
}

ArenaObserver::~ArenaObserver() { observe(false); }

// Only workers are marked: the calling thread enters and leaves the arena at every region, which
// would bury the interesting joins and leaves under two marks per region.
void ArenaObserver::on_scheduler_entry(bool isWorker)
{
    if (!isWorker)
        return;
    TraceEvent e;
    e.beginNs = e.endNs = m_recorder.nowNs();
    e.worker = int16_t(tbb::this_task_arena::current_thread_index());
    e.op = Op::WorkerJoin;
    m_recorder.record(e);
}

void ArenaObserver::on_scheduler_exit(bool isWorker)
{
    if (!isWorker)
        return;
    TraceEvent e;
    e.beginNs = e.endNs = m_recorder.nowNs();
    e.worker = int16_t(tbb::this_task_arena::current_thread_index());
    e.op = Op::WorkerLeave;
    m_recorder.record(e);
}

} // namespace engine
