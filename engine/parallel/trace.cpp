#include "engine/parallel/trace.h"

#include "engine/parallel/racecheck.h"

#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>

#include <sys/mman.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace engine {

namespace {

#if defined(__x86_64__)
// A steady_clock reading and a counter reading taken at (nearly) the same moment: the counter is read between
// two clock readings, and the pair is retaken while those are more than 2 µs apart (at most 100 tries; then
// the narrowest pair seen). The clock reading returned is the midpoint of the bracket.
std::pair<std::chrono::steady_clock::time_point, uint64_t> tscPair()
{
    using Clock = std::chrono::steady_clock;
    std::pair<Clock::time_point, uint64_t> best;
    Clock::duration bestWidth = Clock::duration::max();
    for (int i = 0; i < 100; ++i) {
        const auto a = Clock::now();
        const uint64_t c = __builtin_ia32_rdtsc();
        const auto b = Clock::now();
        if (b - a < bestWidth) {
            bestWidth = b - a;
            best = { a + (b - a) / 2, c };
        }
        if (bestWidth < std::chrono::microseconds(2))
            break;
    }
    return best;
}
#endif

// ns per time-stamp-counter tick, or 0 if the counter is not usable as a clock (no invariant TSC).
double tscNsPerTick()
{
#if defined(__x86_64__)
    static const double rate = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        if (!__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) || !(edx & (1u << 8)))
            return 0.0; // the counter may stop or change speed: not a clock
        using Clock = std::chrono::steady_clock;
        // Each end is a counter reading bracketed by two clock readings; a bracket wider than a few µs
        // means the thread was preempted between them (common on a busy machine) and is taken again.
        const auto [t0, c0] = tscPair();
        Clock::time_point t1;
        do // 20 ms: the rate is then good to a few parts per million
            t1 = Clock::now();
        while (t1 - t0 < std::chrono::milliseconds(20));
        const auto [t1b, c1] = tscPair();
        const double ns = double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1b - t0).count());
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
        const auto [now, counter] = tscPair();
        const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(now - origin).count();
        m_tscOrigin = counter - uint64_t(double(since) / m_nsPerTick);
    }
#endif
}

namespace {
// Chunks outlive recorders, up to 64 MiB: a run after the first finds its buffers faulted in.
std::mutex g_poolMutex;
std::vector<void*> g_pool;
constexpr size_t kPoolChunks = 32;
} // namespace

TraceRecorder::Chunk* TraceRecorder::acquireChunk()
{
    {
        std::lock_guard lock(g_poolMutex);
        if (!g_pool.empty()) {
            void* p = g_pool.back();
            g_pool.pop_back();
            return static_cast<Chunk*>(p);
        }
    }
    // MAP_POPULATE faults every page in one call, cheaper than touching them one by one. No
    // MADV_HUGEPAGE: compacting memory for a huge page can stall for milliseconds.
    void* p = mmap(nullptr, sizeof(Chunk), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<Chunk*>(p);
}

void TraceRecorder::releaseChunk(Chunk* chunk)
{
    if (!chunk)
        return;
    {
        std::lock_guard lock(g_poolMutex);
        if (g_pool.size() < kPoolChunks) {
            g_pool.push_back(chunk);
            return;
        }
    }
    munmap(chunk, sizeof(Chunk));
}

TraceRecorder::TraceRecorder(int slots)
{
    const int n = std::max(1, slots);
    const int prefault = int(std::max(1u, std::thread::hardware_concurrency())) + 1;
    m_slots.reserve(size_t(n));
    for (int i = 0; i < n; ++i) {
        m_slots.push_back(std::make_unique<Slot>());
        if (i < prefault) // oversubscribed slots beyond the cores get theirs when first used
            m_slots.back()->chunks[0] = acquireChunk();
    }
}

uint64_t TraceRecorder::dropped() const
{
    uint64_t n = m_refused.load(std::memory_order_relaxed);
    for (const auto& slot : m_slots)
        n += slot->dropped.load(std::memory_order_relaxed);
    return n;
}

TraceRecorder::~TraceRecorder()
{
    for (auto& slot : m_slots)
        for (Chunk* c : slot->chunks)
            releaseChunk(c);
}

bool TraceRecorder::addChunk(Slot& slot, size_t chunk)
{
    slot.chunks[chunk] = acquireChunk(); // owned by the slot, released in the destructor; never moves
    return slot.chunks[chunk] != nullptr;
}

TraceEvent* TraceRecorder::nextEvent(Slot& slot)
{
    const uint64_t n = slot.published.load(std::memory_order_relaxed);
    const size_t chunk = size_t(n / kChunkEvents);
    if (chunk >= kMaxChunks || (!slot.chunks[chunk] && !addChunk(slot, chunk)))
        return nullptr; // the cursor stays at the end: every later event comes here and is dropped too
    TraceEvent* events = slot.chunks[chunk]->events();
    slot.next = events + (n - chunk * kChunkEvents);
    slot.end = events + kChunkEvents;
    return slot.next;
}

// Appends events [from, to) of a slot to out, a chunk's run at a time.
void TraceRecorder::copyEvents(const Slot& slot, uint64_t from, uint64_t to, std::vector<TraceEvent>& out)
{
    while (from < to) {
        const size_t chunk = size_t(from / kChunkEvents);
        const size_t offset = size_t(from - chunk * kChunkEvents);
        const size_t n = size_t(std::min<uint64_t>(to - from, kChunkEvents - offset));
        const TraceEvent* events = slot.chunks[chunk]->events() + offset;
        out.insert(out.end(), events, events + n);
        from += n;
    }
}

std::vector<TraceEvent> TraceRecorder::drain()
{
    // Sized once and copied in runs: growing the vector event by event reallocates, and every
    // reallocation touches fresh pages.
    std::vector<uint64_t> published(m_slots.size());
    size_t total = 0;
    for (size_t i = 0; i < m_slots.size(); ++i) {
        published[i] = m_slots[i]->published.load(std::memory_order_acquire);
        total += size_t(published[i] - m_slots[i]->drained);
    }
    std::vector<TraceEvent> out;
    out.reserve(total);
    for (size_t i = 0; i < m_slots.size(); ++i) {
        Slot& slot = *m_slots[i];
        copyEvents(slot, slot.drained, published[i], out);
        slot.drained = published[i];
    }
    return out;
}

std::vector<TraceEvent> TraceRecorder::all() const
{
    std::vector<uint64_t> published(m_slots.size());
    size_t total = 0;
    for (size_t i = 0; i < m_slots.size(); ++i)
        total += size_t(published[i] = m_slots[i]->published.load(std::memory_order_acquire));
    std::vector<TraceEvent> out;
    out.reserve(total);
    for (size_t i = 0; i < m_slots.size(); ++i)
        copyEvents(*m_slots[i], 0, published[i], out);
    return out;
}

uint64_t TraceRecorder::count() const
{
    uint64_t n = 0;
    for (const auto& slot : m_slots)
        n += slot->published.load(std::memory_order_acquire);
    return n;
}

// TBB hands the observer to its workers, and waits for their callbacks before observe(false) returns, out of
// ThreadSanitizer's sight (racecheck.h): the callbacks acquire what the constructor released, and the destructor
// what they released. Two tokens, so callbacks on different workers stay unordered with each other.
namespace {
const void* joinToken(const ArenaObserver* observer) { return reinterpret_cast<const char*>(observer) + 1; }
}

ArenaObserver::ArenaObserver(tbb::task_arena& arena, TraceRecorder& recorder)
    : tbb::task_scheduler_observer(arena)
    , m_recorder(recorder)
{
    racecheck::release(this);
    observe(true);
}

ArenaObserver::~ArenaObserver()
{
    observe(false);
    racecheck::acquire(joinToken(this));
}

// Only workers are marked: the calling thread enters and leaves the arena at every region, which
// would bury the interesting joins and leaves under two marks per region.
void ArenaObserver::on_scheduler_entry(bool isWorker)
{
    if (!isWorker)
        return;
    racecheck::acquire(this);
    TraceEvent e;
    e.beginNs = e.endNs = m_recorder.nowNs();
    e.worker = int16_t(tbb::this_task_arena::current_thread_index());
    e.op = Op::WorkerJoin;
    m_recorder.record(e);
    racecheck::release(joinToken(this));
}

void ArenaObserver::on_scheduler_exit(bool isWorker)
{
    if (!isWorker)
        return;
    racecheck::acquire(this);
    TraceEvent e;
    e.beginNs = e.endNs = m_recorder.nowNs();
    e.worker = int16_t(tbb::this_task_arena::current_thread_index());
    e.op = Op::WorkerLeave;
    m_recorder.record(e);
    racecheck::release(joinToken(this));
}

} // namespace engine
