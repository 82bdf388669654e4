// The one place that splits work across threads: a tbb::task_arena of the user's size, partitioners, grain.
#pragma once

#include "engine/parallel/trace.h"

#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace engine {

enum class Partitioner { Auto, Simple, Static, Affinity };

const char* partitionerName(Partitioner p);
std::optional<Partitioner> partitionerFromName(const std::string& name);

struct SchedulerOptions {
    int threads = 1; // 1..kMaxThreads; more than the cores is allowed
    Partitioner partitioner = Partitioner::Auto;
    size_t grain = 1; // minimum blocks per chunk (TBB grain size), >= 1
    // Pin each arena slot's thread to its own core (slot i -> the i-th CPU this process may use) while
    // it is in the arena; ignored when there are more threads than such CPUs (pinning would then
    // decide who shares a core, which is the OS's job). Without it Linux may wake a worker onto the
    // caller's core when the other core is briefly busy (say, with the GUI thread) and leave both
    // there for several milliseconds.
    bool pinThreads = false;
    static constexpr int kMaxThreads = 256;

    void validate() const; // throws std::invalid_argument with a readable message
};

// Lets arenas have more threads than the machine has cores (called by every Scheduler).
void allowOversubscription();

class Scheduler {
public:
    explicit Scheduler(const SchedulerOptions& options);
    ~Scheduler();

    // Records a TraceEvent per executed chunk (and the arena's worker joins/leaves) into
    // `recorder` until set to null. The recorder must outlive its use here.
    void setTraceRecorder(TraceRecorder* recorder);
    TraceRecorder* traceRecorder() const { return m_recorder; }

    // Runs f on the calling thread and records it as one event (serial sections, so that gaps
    // in the timeline are real idleness).
    template <typename F> void serial(const RegionInfo& region, F&& f)
    {
        if (!m_recorder) {
            f();
            return;
        }
        const int64_t begin = m_recorder->nowNs();
        f();
        recordSerial(region, begin);
    }

    // Records a serial section that began at beginNs (trace clock) and ends now.
    void recordSerialSince(const RegionInfo& region, int64_t beginNs)
    {
        if (m_recorder)
            recordSerial(region, beginNs);
    }

    // While an InlineRegions object lives on a thread, parallelFor calls from that thread run
    // all their blocks right there as one chunk: the request-parallel strategy, where each
    // sequence is one task and its matmuls must not fan out again.
    class InlineRegions {
    public:
        InlineRegions();
        ~InlineRegions();
        InlineRegions(const InlineRegions&) = delete;
        InlineRegions& operator=(const InlineRegions&) = delete;

    private:
        bool m_previous;
    };

    struct RegionStats {
        uint64_t regions = 0;
        int64_t totalNs = 0; // wall time inside parallel regions, summed
    };
    RegionStats regionStats() const;
    void resetRegionStats();

    // Runs body(begin, end) over the blocks [0, blocks) inside the arena. How blocks are grouped
    // into chunks and which worker runs them depends on the partitioner; what each block computes
    // must not, which is what keeps results identical for every thread count.
    void parallelFor(const RegionInfo& region, size_t blocks, const std::function<void(size_t, size_t)>& body);

    // One parallel region over several parts' blocks back to back (say the q, k and v matmuls, which
    // read the same input): one fork and join instead of one per part, and small parts share the
    // threads. body(part, begin, end) gets block numbers within the part; the trace records each part's
    // share of a chunk under that part's RegionInfo.
    static constexpr size_t kMaxParts = 8;
    void parallelForParts(std::span<const RegionInfo> parts, std::span<const size_t> blocks,
        const std::function<void(size_t, size_t, size_t)>& body);

    // Runs f inside the arena (for nested or pipeline parallelism built by callers).
    template <typename F> void execute(F&& f) { m_arena.execute(std::forward<F>(f)); }

    int threads() const { return m_options.threads; }
    const SchedulerOptions& options() const { return m_options; }
    static int hardwareThreads();
    bool oversubscribed() const { return m_options.threads > hardwareThreads(); }
    bool pinned() const { return m_pinning != nullptr; } // pinThreads asked for and applicable
    // CPUs this process may run on (its affinity mask), in order.
    static std::vector<int> allowedCpus();
    // The CPU each slot is pinned to under these options (slot i: the i-th allowed CPU), or empty when
    // they do not pin (pinThreads off, or more threads than allowed CPUs).
    static std::vector<int> pinnedCpus(const SchedulerOptions& options);

private:
    tbb::affinity_partitioner& affinityFor(const RegionInfo& region);
    void recordSerial(const RegionInfo& region, int64_t beginNs);
    // Records blocks [b0, b1) of `region`, run by arena slot `slot` from beginNs until now; returns the end time.
    int64_t recordChunk(const RegionInfo& region, int slot, size_t b0, size_t b1, int64_t beginNs);

    SchedulerOptions m_options;
    tbb::task_arena m_arena;
    TraceRecorder* m_recorder = nullptr;
    std::unique_ptr<ArenaObserver> m_observer;
    std::unique_ptr<tbb::task_scheduler_observer> m_pinning; // set when options.pinThreads
    // Region counts per arena slot (slot = thread that started the region): no shared counter.
    struct alignas(64) SlotStats {
        uint64_t regions = 0;
        int64_t totalNs = 0;
    };
    std::vector<SlotStats> m_regionStats;
    // One affinity partitioner per (sequence, layer, op) site, kept alive so TBB can replay the
    // mapping. Keyed by sequence too: with request tasks running nested regions (hybrid), two
    // sequences' regions run at once, and one partitioner must not serve two loops at a time.
    std::mutex m_affinityMutex;
    std::map<std::tuple<int, int, int>, std::unique_ptr<tbb::affinity_partitioner>> m_affinity;
};

} // namespace engine
