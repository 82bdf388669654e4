// The hybrid strategy: every sequence is one task, and its regions split across the threads as in
// intra-op, so a worker with no sequence of its own helps the others' matmuls.
#include "engine/run/strategies.h"

namespace engine {

void runHybrid(Phase phase, const RunSequences& run)
{
    forEachSequenceAsTask(run, [&](int i) { run.runOne(phase, i); });
}

} // namespace engine
