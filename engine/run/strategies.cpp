#include "engine/run/strategies.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

namespace engine {

bool StopCheck::operator()()
{
    if (m_pump && m_pump->failed())
        return true;
    if (!m_requested.load(std::memory_order_relaxed) && m_listener && m_listener->shouldStop())
        m_requested.store(true);
    return m_requested.load(std::memory_order_relaxed);
}

void RunSequences::runOne(Phase phase, int i) const
{
    SequenceState& s = *states[size_t(i)];
    switch (phase) {
    case Phase::Prefill:
        if (!wantsStop())
            s.prefill(scheduler, callbacks[size_t(i)]);
        break;
    case Phase::Decode:
        while (!s.done()) {
            if (wantsStop()) {
                s.stop(StopReason::Cancelled);
                break;
            }
            s.step(scheduler, callbacks[size_t(i)]);
        }
        break;
    }
}

void runPhase(Strategy strategy, Phase phase, const RunSequences& run)
{
    switch (strategy) {
    case Strategy::IntraOp:
        runIntraOp(phase, run);
        break;
    case Strategy::Request:
        runRequestParallel(phase, run);
        break;
    case Strategy::Hybrid:
        runHybrid(phase, run);
        break;
    case Strategy::Pipeline:
        runPipeline(phase, run);
        break;
    }
}

void forEachSequenceAsTask(const RunSequences& run, const std::function<void(int)>& fn)
{
    // A grain of one with the simple partitioner: every sequence is a task of its own for the
    // workers to take.
    run.scheduler.execute([&] {
        tbb::parallel_for(
            tbb::blocked_range<int>(0, run.size(), 1),
            [&](const tbb::blocked_range<int>& r) {
                for (int i = r.begin(); i != r.end(); ++i)
                    fn(i);
            },
            tbb::simple_partitioner());
    });
}

} // namespace engine
