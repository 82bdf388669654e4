// The one place that splits work across threads: a tbb::task_arena of the user's size, partitioners, grain.
#pragma once

#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace engine {

enum class Partitioner { Auto, Simple, Static, Affinity };

const char* partitionerName(Partitioner p);
std::optional<Partitioner> partitionerFromName(const std::string& name);

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
};
const char* opName(Op op);

struct RegionInfo {
    Op op = Op::Other;
    int layer = -1;    // -1: not inside a layer
    int sequence = 0;  // which prompt
    int position = 0;  // first token position this region works on
};

struct SchedulerOptions {
    int threads = 1;                          // 1..kMaxThreads; more than the cores is allowed
    Partitioner partitioner = Partitioner::Auto;
    size_t grain = 1;                         // minimum blocks per chunk (TBB grain size), >= 1
    static constexpr int kMaxThreads = 256;

    void validate() const; // throws std::invalid_argument with a readable message
};

// Lets arenas have more threads than the machine has cores (called by every Scheduler).
void allowOversubscription();

class Scheduler {
public:
    explicit Scheduler(const SchedulerOptions& options);

    // Runs body(begin, end) over the blocks [0, blocks) inside the arena. How blocks are grouped
    // into chunks and which worker runs them depends on the partitioner; what each block computes
    // must not, which is what keeps results identical for every thread count.
    void parallelFor(const RegionInfo& region, size_t blocks, const std::function<void(size_t, size_t)>& body);

    // Runs f inside the arena (for nested or pipeline parallelism built by callers).
    template <typename F>
    void execute(F&& f) { m_arena.execute(std::forward<F>(f)); }

    int threads() const { return m_options.threads; }
    const SchedulerOptions& options() const { return m_options; }
    static int hardwareThreads();
    bool oversubscribed() const { return m_options.threads > hardwareThreads(); }

private:
    tbb::affinity_partitioner& affinityFor(const RegionInfo& region);

    SchedulerOptions m_options;
    tbb::task_arena m_arena;
    // One affinity partitioner per (layer, op) site, kept alive so TBB can replay the mapping.
    std::deque<tbb::affinity_partitioner> m_affinity;
    std::vector<tbb::affinity_partitioner*> m_affinityIndex;
};

} // namespace engine
