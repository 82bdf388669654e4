// The request-parallel strategy: every sequence is one task, run start to end on one thread.
#include "engine/run/strategies.h"

namespace engine {

void runRequestParallel(Phase phase, const RunSequences& run)
{
    forEachSequenceAsTask(run, [&](int i) {
        Scheduler::InlineRegions inlineRegions; // one sequence = one task: its regions do not split again
        run.runOne(phase, i);
    });
}

} // namespace engine
