#include "engine/parallel/scheduler.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <sched.h>

namespace engine {

const char* partitionerName(Partitioner p)
{
    switch (p) {
    case Partitioner::Auto:
        return "auto";
    case Partitioner::Simple:
        return "simple";
    case Partitioner::Static:
        return "static";
    case Partitioner::Affinity:
        return "affinity";
    }
    return "?";
}

std::optional<Partitioner> partitionerFromName(const std::string& name)
{
    for (Partitioner p : { Partitioner::Auto, Partitioner::Simple, Partitioner::Static, Partitioner::Affinity })
        if (name == partitionerName(p))
            return p;
    return std::nullopt;
}

const char* opName(Op op)
{
    switch (op) {
    case Op::AttnQ:
        return "attn_q";
    case Op::AttnK:
        return "attn_k";
    case Op::AttnV:
        return "attn_v";
    case Op::AttnOut:
        return "attn_output";
    case Op::Attention:
        return "attention";
    case Op::FfnGate:
        return "ffn_gate";
    case Op::FfnUp:
        return "ffn_up";
    case Op::FfnDown:
        return "ffn_down";
    case Op::FfnGateUp:
        return "ffn_gate_up";
    case Op::Logits:
        return "logits";
    case Op::RmsNorm:
        return "rmsnorm";
    case Op::Rope:
        return "rope";
    case Op::Embed:
        return "embed";
    case Op::Sampling:
        return "sampling";
    case Op::Tokenize:
        return "tokenize";
    case Op::Other:
        return "other";
    case Op::Serial:
        return "serial";
    case Op::WorkerJoin:
        return "worker_join";
    case Op::WorkerLeave:
        return "worker_leave";
    case Op::Region:
        return "region";
    case Op::Quantize:
        return "quantize";
    case Op::Residual:
        return "residual";
    case Op::Count_:
        break;
    }
    return "?";
}

void SchedulerOptions::validate() const
{
    if (threads < 1 || threads > kMaxThreads)
        throw std::invalid_argument(
            "thread count must be between 1 and " + std::to_string(kMaxThreads) + ", got " + std::to_string(threads));
    if (grain < 1 || grain > (size_t(1) << 30))
        throw std::invalid_argument("grain size must be at least 1, got " + std::to_string(grain));
}

int Scheduler::hardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

void allowOversubscription()
{
    // TBB caps its worker pool at (cores - 1) by default, which would silently turn a requested
    // 8-thread arena into 2 threads on a 2-core machine. Oversubscription is something users come here
    // to see, so lift the cap to the largest arena we allow; workers are still created on demand.
    static tbb::global_control limit(tbb::global_control::max_allowed_parallelism, SchedulerOptions::kMaxThreads);
}

namespace {
thread_local bool t_inlineRegions = false;

int currentSlot()
{
    const int slot = tbb::this_task_arena::current_thread_index();
    return slot < 0 ? 0 : slot; // the calling thread outside the arena owns the reserved slot 0
}
} // namespace

// Pins a thread to one CPU while it is in the arena and gives it back its previous CPU set when it
// leaves, so a TBB worker that later serves another arena is not left pinned.
class PinningObserver : public tbb::task_scheduler_observer {
public:
    PinningObserver(tbb::task_arena& arena, std::vector<int> cpus)
        : tbb::task_scheduler_observer(arena)
        , m_cpus(std::move(cpus))
    {
        observe(true);
    }
    ~PinningObserver() override { observe(false); }

    void on_scheduler_entry(bool) override
    {
        const int slot = tbb::this_task_arena::current_thread_index();
        if (m_cpus.empty() || slot < 0)
            return;
        Saved& saved = t_saved;
        if (saved.depth++ > 0)
            return; // already pinned by an outer entry
        saved.valid = sched_getaffinity(0, sizeof(saved.mask), &saved.mask) == 0;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(m_cpus[size_t(slot) % m_cpus.size()], &one); // one CPU per slot: the modulo never wraps
        sched_setaffinity(0, sizeof(one), &one); // best effort: a refusal leaves the thread unpinned
    }
    void on_scheduler_exit(bool) override
    {
        Saved& saved = t_saved;
        if (saved.depth == 0 || --saved.depth > 0)
            return;
        if (saved.valid)
            sched_setaffinity(0, sizeof(saved.mask), &saved.mask);
    }

private:
    struct Saved {
        cpu_set_t mask;
        bool valid = false;
        int depth = 0;
    };
    static thread_local Saved t_saved;
    std::vector<int> m_cpus;
};
thread_local PinningObserver::Saved PinningObserver::t_saved;

std::vector<int> Scheduler::allowedCpus()
{
    std::vector<int> cpus;
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
            if (CPU_ISSET(cpu, &allowed))
                cpus.push_back(cpu);
    return cpus;
}

std::vector<int> Scheduler::pinnedCpus(const SchedulerOptions& options)
{
    if (!options.pinThreads)
        return {};
    std::vector<int> cpus = allowedCpus();
    if (cpus.size() < size_t(options.threads))
        return {};
    cpus.resize(size_t(options.threads));
    return cpus;
}

Scheduler::InlineRegions::InlineRegions()
    : m_previous(t_inlineRegions)
{
    t_inlineRegions = true;
}

Scheduler::InlineRegions::~InlineRegions() { t_inlineRegions = m_previous; }

Scheduler::Scheduler(const SchedulerOptions& options)
    : m_options(options)
    , m_arena((options.validate(), allowOversubscription(), options.threads), /*reserved_for_masters=*/1)
    , m_regionStats(size_t(options.threads) + 1)
{
    if (auto cpus = pinnedCpus(options); !cpus.empty())
        m_pinning = std::make_unique<PinningObserver>(m_arena, std::move(cpus));
}

Scheduler::~Scheduler()
{
    setTraceRecorder(nullptr);
    m_pinning.reset();
}

void Scheduler::setTraceRecorder(TraceRecorder* recorder)
{
    m_observer.reset();
    m_recorder = recorder;
    if (m_recorder)
        m_observer = std::make_unique<ArenaObserver>(m_arena, *m_recorder);
}

Scheduler::RegionStats Scheduler::regionStats() const
{
    RegionStats s;
    for (const auto& slot : m_regionStats) {
        s.regions += slot.regions;
        s.totalNs += slot.totalNs;
    }
    return s;
}

void Scheduler::resetRegionStats()
{
    for (auto& slot : m_regionStats)
        slot = {};
}

void Scheduler::recordSerial(const RegionInfo& region, int64_t beginNs)
{
    RegionInfo serial = region;
    serial.units = 0;
    serial.unitsPerBlock = 0; // a serial section covers no rows: first = last = 0
    recordChunk(serial, currentSlot(), 0, 0, beginNs);
}

int64_t Scheduler::recordChunk(const RegionInfo& region, int slot, size_t b0, size_t b1, int64_t beginNs)
{
    // The one place a TraceEvent is filled in: chunks of parallel regions and serial sections.
    TraceRecorder& recorder = *m_recorder;
    const int64_t endNs = recorder.nowNs();
    recorder.recordWith(slot, [&](TraceEvent& e) {
        e.beginNs = beginNs;
        e.endNs = endNs;
        e.op = region.op;
        e.layer = int16_t(region.layer);
        e.sequence = int16_t(region.sequence);
        e.position = region.position;
        e.tokens = uint8_t(std::min(region.tokens, 255));
        const uint64_t per = region.unitsPerBlock;
        const uint64_t total = region.units ? region.units : UINT32_MAX;
        e.first = uint32_t(std::min<uint64_t>(b0 * per, total));
        e.last = uint32_t(std::min<uint64_t>(b1 * per, total));
    });
    return endNs;
}

tbb::affinity_partitioner& Scheduler::affinityFor(const RegionInfo& region)
{
    std::lock_guard lock(m_affinityMutex); // regions of several sequences may start at once
    auto& slot = m_affinity[{ region.sequence, region.layer, int(region.op) }];
    if (!slot)
        slot = std::make_unique<tbb::affinity_partitioner>();
    return *slot;
}

void Scheduler::parallelFor(const RegionInfo& region, size_t blocks, const std::function<void(size_t, size_t)>& body)
{
    parallelForParts({ &region, 1 }, { &blocks, 1 }, [&](size_t, size_t b0, size_t b1) { body(b0, b1); });
}

void Scheduler::parallelForParts(std::span<const RegionInfo> parts, std::span<const size_t> blocks,
    const std::function<void(size_t, size_t, size_t)>& body)
{
    if (parts.empty() || parts.size() != blocks.size() || parts.size() > kMaxParts)
        throw std::invalid_argument(
            "parallelForParts: 1 to " + std::to_string(kMaxParts) + " parts, one block count each");
    std::array<size_t, kMaxParts + 1> start {}; // part p owns blocks [start[p], start[p + 1]) of the region
    for (size_t p = 0; p < parts.size(); ++p)
        start[p + 1] = start[p] + blocks[p];
    const size_t total = start[parts.size()];
    if (total == 0)
        return;
    TraceRecorder* recorder = m_recorder;
    // Blocks [c0, c1) of the whole region: each part's share run and recorded under its own RegionInfo,
    // with block numbers counted within the part. Back to back on one thread, so one part's end time is
    // the next one's begin.
    // The slot is looked up once per chunk (a call into TBB, about 9 ns here), not once per part.
    auto runChunk = [&](size_t c0, size_t c1) {
        const int slot = recorder ? currentSlot() : 0;
        int64_t t = recorder ? recorder->nowNs() : 0;
        for (size_t p = 0; p < parts.size(); ++p) {
            const size_t s0 = std::max(c0, start[p]), s1 = std::min(c1, start[p + 1]);
            if (s0 >= s1)
                continue;
            body(p, s0 - start[p], s1 - start[p]);
            if (recorder)
                t = recordChunk(parts[p], slot, s0 - start[p], s1 - start[p], t);
        }
    };
    if (t_inlineRegions) {
        runChunk(0, total);
        return;
    }
    const RegionInfo& region = parts[0]; // the region's identity (affinity partitioner)
    const tbb::blocked_range<size_t> range(0, total, m_options.grain);
    auto run = [&](const tbb::blocked_range<size_t>& r) { runChunk(r.begin(), r.end()); };
    m_arena.execute([&] {
        const int slot = currentSlot();
        // Traced, the region's span and its share of regionStats() come from the same two trace clock reads;
        // untraced, from steady_clock (two reads of about 38 ns each in this VM, against 25 for the trace clock).
        const int64_t spanBegin = recorder ? recorder->nowNs() : 0;
        struct Account { // counts the region on the slot that ran it, however the switch exits
            SlotStats& stats;
            TraceRecorder* recorder;
            int64_t beginNs; // trace clock, when traced
            std::chrono::steady_clock::time_point t0; // when not
            int64_t endNs = -1; // trace clock: the span's end once recorded
            ~Account()
            {
                ++stats.regions;
                if (recorder)
                    stats.totalNs += (endNs >= 0 ? endNs : recorder->nowNs()) - beginNs;
                else
                    stats.totalNs
                        += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
                               .count();
            }
        } account { m_regionStats[std::min<size_t>(size_t(slot), m_regionStats.size() - 1)], recorder, spanBegin,
            recorder ? std::chrono::steady_clock::time_point {} : std::chrono::steady_clock::now() };
        switch (m_options.partitioner) {
        case Partitioner::Auto:
            tbb::parallel_for(range, run, tbb::auto_partitioner());
            break;
        case Partitioner::Simple:
            tbb::parallel_for(range, run, tbb::simple_partitioner());
            break;
        case Partitioner::Static:
            tbb::parallel_for(range, run, tbb::static_partitioner());
            break;
        case Partitioner::Affinity:
            tbb::parallel_for(range, run, affinityFor(region));
            break;
        }
        if (recorder) {
            RegionInfo span = region;
            span.op = Op::Region;
            span.unitsPerBlock = 1;
            span.units = 0;
            account.endNs = recordChunk(span, slot, 0, total, spanBegin);
        }
    });
}

} // namespace engine
