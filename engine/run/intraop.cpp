// The intra-op strategy: one sequence at a time, parallel inside each operation (the regions the
// forward pass hands the scheduler: matmul rows, attention heads).
#include "engine/run/strategies.h"

namespace engine {

void runIntraOp(Phase phase, const RunSequences& run)
{
    for (int i = 0; i < run.size(); ++i)
        run.runOne(phase, i);
}

} // namespace engine
