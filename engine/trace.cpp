#include "trace.h"

#include <oneapi/tbb/task_arena.h>

#include <algorithm>

namespace engine {

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
