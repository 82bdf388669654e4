// Per-worker trace of every executed chunk of parallel work, recorded without locks on the hot path.
#pragma once

#include <oneapi/tbb/task_scheduler_observer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

namespace engine {

// What a parallel region computes; carried to the trace (and used to key affinity partitioners).
enum class Op : uint8_t {
    AttnQ,
    AttnK,
    AttnV,
    AttnOut,
    Attention,
    FfnGate,
    FfnUp,
    FfnDown,
    FfnGateUp, // gate and up fused in one region
    Logits,
    RmsNorm,
    Rope,
    Embed,
    Sampling,
    Tokenize,
    Other,
    Serial, // a serial section of the calling thread that no op of its own names (none left in the model's step)
    WorkerJoin, // markers from the arena observer (begin == end)
    WorkerLeave,
    // A whole parallel region, from before the fork to after the join, recorded by the thread that
    // started it (its layer, sequence, position and tokens are the region's first part's; first = 0,
    // last = the region's block count). Not work: the chunks inside it are. The run analysis measures
    // fork/join overhead with it.
    Region,
    // Appended after Region: sessions store ops by number, and the ones above keep theirs.
    Quantize, // a matmul input quantised to 8-bit blocks (ActivationQ8) for the integer kernels
    Residual, // the residual add x += sub-layer output
    Count_,
};
const char* opName(Op op);

struct RegionInfo {
    Op op = Op::Other;
    int layer = -1; // -1: not inside a layer
    int sequence = 0; // which prompt
    int position = 0; // first token position this region works on
    int tokens = 1; // tokens processed together (prefill chunk size)
    uint32_t unitsPerBlock = 1; // rows (or heads) per block, to record row ranges
    uint32_t units = 0; // total rows (or heads); 0 = same as blocks
};

// One executed chunk (or serial section, or worker join/leave mark).
struct TraceEvent {
    int64_t beginNs = 0; // steady clock, ns since the run started
    int64_t endNs = 0;
    uint32_t first = 0; // first unit (row / head / token) of the chunk
    uint32_t last = 0; // one past the last unit
    int32_t position = 0; // token position the region worked on (first token of a prefill chunk)
    int16_t worker = 0; // arena slot (tbb::this_task_arena::current_thread_index())
    int16_t layer = -1; // -1 outside layers
    int16_t sequence = 0; // which prompt
    Op op = Op::Other;
    uint8_t tokens = 1; // tokens processed by the region (>1 in prefill), capped at 255

    int64_t durationNs() const { return endNs - beginNs; }
};

// Events that are not work: worker join/leave instants and region spans. Busy time, lanes and the
// timeline's slices skip them.
inline bool isMarker(Op op) { return op == Op::WorkerJoin || op == Op::WorkerLeave || op == Op::Region; }
inline bool isRegionSpan(Op op) { return op == Op::Region; }

// Collects TraceEvents into one buffer per arena slot. A slot is only ever written by the thread
// that holds it, and events are published with a per-slot release store, so the writer never
// takes a lock and a reader (drain) can run while workers are still writing.
class TraceRecorder {
public:
    // Each slot's first chunk is taken here (for as many slots as the machine has threads, plus the
    // caller's): construct the recorder before the run's clock starts.
    explicit TraceRecorder(int slots);
    ~TraceRecorder();
    TraceRecorder(const TraceRecorder&) = delete;
    TraceRecorder& operator=(const TraceRecorder&) = delete;

    using Clock = std::chrono::steady_clock;
    // Measures the time-stamp counter's rate (20 ms, once per process). start() does it if needed;
    // call it before taking a run's start time so the wait is not counted in the run.
    static void calibrateClock();
    void start(Clock::time_point origin);
    Clock::time_point origin() const { return m_origin; }
    // ns since origin. Reads the CPU's invariant time-stamp counter where there is one (cheaper
    // than steady_clock, which under a hypervisor can cost more than the rest of recording an
    // event), scaled by a rate calibrated against steady_clock once per process.
    int64_t nowNs() const
    {
#if defined(__x86_64__)
        if (m_nsPerTick > 0.0)
            return int64_t(double(int64_t(__builtin_ia32_rdtsc() - m_tscOrigin)) * m_nsPerTick);
#endif
        return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - m_origin).count();
    }

    // Hot path: append an event to `worker`'s slot, written in place by fill(TraceEvent&) (no copy
    // through the stack). A slot outside [0, slots) is refused and counted (dropped()): writing it into
    // another slot would give that slot a second writer, which the lock-free design rules out.
    // The slot keeps a cursor into its current chunk, so an event costs a compare, the fill and two
    // stores; the chunk arithmetic runs once per kChunkEvents (nextEvent).
    template <typename Fill> void recordWith(int worker, Fill&& fill)
    {
        if (worker < 0 || worker >= int(m_slots.size())) [[unlikely]] {
            m_refused.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        Slot& slot = *m_slots[size_t(worker)];
        TraceEvent* at = slot.next;
        if (at == slot.end) [[unlikely]] {
            at = nextEvent(slot);
            if (!at) {
                slot.dropped.store(slot.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
                return;
            }
        }
        TraceEvent* e = new (at) TraceEvent;
        fill(*e);
        e->worker = int16_t(worker); // readers only ever see slots that exist
        slot.next = at + 1;
        // Only this thread writes `published`: a plain load, and a release store (a plain store on x86).
        slot.published.store(slot.published.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    void record(const TraceEvent& event)
    {
        recordWith(event.worker, [&](TraceEvent& e) { e = event; });
    }

    // Events published since the previous drain, in slot order (each slot's in time order).
    // Safe to call while other threads record; call from one thread only.
    std::vector<TraceEvent> drain();
    // Every event recorded so far (does not affect drain()).
    std::vector<TraceEvent> all() const;
    uint64_t count() const;
    // Events not recorded: a slot's buffers full (or out of memory), or a slot outside [0, slots).
    // Busy and idle figures of a trace with drops are incomplete; runs report the count (RunMetrics).
    uint64_t dropped() const;
    int slots() const { return int(m_slots.size()); }

private:
    // Events go into 2 MiB chunks whose pages are faulted in before they are handed out, and
    // chunks are kept in a process-wide pool after a recorder is gone: a fresh 4 KiB page fills up
    // every 100 events, and faulting pages in on the hot path was most of the tracing cost
    // (docs/benchmarks.md has the figures).
    static constexpr size_t kChunkBytes = size_t(2) << 20;
    static constexpr size_t kChunkEvents = kChunkBytes / sizeof(TraceEvent);
    static constexpr size_t kMaxChunks = 320; // 16.7M events per slot; later events are dropped and counted
    // Raw storage: events are constructed in place as they are recorded.
    struct Chunk {
        alignas(TraceEvent) unsigned char bytes[kChunkEvents * sizeof(TraceEvent)];
        TraceEvent* events() { return std::launder(reinterpret_cast<TraceEvent*>(bytes)); }
        const TraceEvent* events() const { return std::launder(reinterpret_cast<const TraceEvent*>(bytes)); }
    };
    static_assert(std::is_trivially_copyable_v<TraceEvent> && std::is_trivially_destructible_v<TraceEvent>);
    static Chunk* acquireChunk(); // from the pool, or mapped and faulted in; null if out of memory
    static void releaseChunk(Chunk* chunk);
    struct Slot;
    static bool addChunk(Slot& slot, size_t chunk); // once per kChunkEvents: takes the pool's lock
    static TraceEvent* nextEvent(Slot& slot); // where event `published` goes (null: dropped); moves the cursor
    static void copyEvents(const Slot& slot, uint64_t from, uint64_t to, std::vector<TraceEvent>& out);
    // The writer's fields share the first cache line, the reader's `drained` has its own: a drain never writes
    // a line the writer is using. Slots are separate allocations, so two slots never share a line either.
    struct alignas(64) Slot {
        TraceEvent* next = nullptr; // where the next event goes; == end: take the next chunk first
        TraceEvent* end = nullptr;
        std::atomic<uint64_t> published { 0 };
        std::atomic<uint64_t> dropped { 0 }; // written by the slot's thread only; read by dropped()
        alignas(64) uint64_t drained = 0;
        std::array<Chunk*, kMaxChunks> chunks {};
    };
    std::vector<std::unique_ptr<Slot>> m_slots;
    std::atomic<uint64_t> m_refused { 0 };
    Clock::time_point m_origin = Clock::now();
    uint64_t m_tscOrigin = 0;
    double m_nsPerTick = 0.0; // 0: use steady_clock
};

// Records workers joining and leaving the arena (TBB's task_scheduler_observer) into a recorder.
class ArenaObserver : public tbb::task_scheduler_observer {
public:
    ArenaObserver(tbb::task_arena& arena, TraceRecorder& recorder);
    ~ArenaObserver() override;
    void on_scheduler_entry(bool isWorker) override;
    void on_scheduler_exit(bool isWorker) override;

private:
    TraceRecorder& m_recorder;
};

} // namespace engine
