#include "scheduler.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

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
    }
    return "?";
}

void SchedulerOptions::validate() const
{
    if (threads < 1 || threads > kMaxThreads)
        throw std::invalid_argument("thread count must be between 1 and " + std::to_string(kMaxThreads) + ", got "
            + std::to_string(threads));
    if (grain < 1 || grain > (size_t(1) << 30))
        throw std::invalid_argument("grain size must be at least 1, got " + std::to_string(grain));
}

int Scheduler::hardwareThreads()
{
    return std::max(1u, std::thread::hardware_concurrency());
}

void allowOversubscription()
{
    // TBB caps its worker pool at (cores - 1) by default, which would silently turn a requested
    // 8-thread arena into 2 threads on this machine. Oversubscription is something users come here
    // to see, so lift the cap to the largest arena we allow; workers are still created on demand.
    static tbb::global_control limit(tbb::global_control::max_allowed_parallelism, SchedulerOptions::kMaxThreads);
}

Scheduler::Scheduler(const SchedulerOptions& options)
    : m_options(options)
    , m_arena((options.validate(), allowOversubscription(), options.threads), /*reserved_for_masters=*/1)
{
}

tbb::affinity_partitioner& Scheduler::affinityFor(const RegionInfo& region)
{
    const size_t site = size_t(region.layer + 1) * 32 + size_t(region.op);
    if (site >= m_affinityIndex.size())
        m_affinityIndex.resize(site + 1, nullptr);
    if (!m_affinityIndex[site])
        m_affinityIndex[site] = &m_affinity.emplace_back();
    return *m_affinityIndex[site];
}

void Scheduler::parallelFor(const RegionInfo& region, size_t blocks, const std::function<void(size_t, size_t)>& body)
{
    if (blocks == 0)
        return;
    const tbb::blocked_range<size_t> range(0, blocks, m_options.grain);
    auto run = [&](const tbb::blocked_range<size_t>& r) { body(r.begin(), r.end()); };
    m_arena.execute([&] {
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
    });
}

} // namespace engine
