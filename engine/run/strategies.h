// The four ways a run spreads its sequences over the threads (see Strategy), one file each.
#pragma once

#include "engine/model/model.h"
#include "engine/parallel/scheduler.h"
#include "engine/parallel/tracepump.h"
#include "engine/run/generation.h"
#include "engine/run/run.h"

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace engine {

// Whether a run should stop after its current tokens: the listener asked (asked between tokens,
// remembered once true), or the trace pump's sink failed. Called from any worker thread.
class StopCheck {
public:
    StopCheck(RunListener* listener, const TracePump* pump)
        : m_listener(listener)
        , m_pump(pump)
    {
    }
    bool operator()();

private:
    RunListener* m_listener;
    const TracePump* m_pump;
    std::atomic<bool> m_requested { false };
};

// What a strategy works on: the run's sequences, their token callbacks (in sequence order; each
// streams its tokens and returns false to stop) and the stop check.
struct RunSequences {
    const Model& model;
    Scheduler& scheduler;
    const std::vector<std::unique_ptr<SequenceState>>& states;
    const std::vector<TokenCallback>& callbacks;
    StopCheck& wantsStop;

    int size() const { return int(states.size()); }
    // Sequence i's share of a phase, on the calling thread. Prefill: its prompt and first token,
    // unless the run is stopping. Decode: every later token, until it is done or the run stops.
    void runOne(Phase phase, int i) const;
};

// Runs one phase of every sequence with the strategy's kind of parallelism. The calling thread is
// inside the scheduler's arena.
void runPhase(Strategy strategy, Phase phase, const RunSequences& run);

// intraop.cpp: one sequence after another; each matmul splits by rows, attention by heads.
void runIntraOp(Phase phase, const RunSequences& run);
// requestparallel.cpp: each sequence is one task, its regions not split again.
void runRequestParallel(Phase phase, const RunSequences& run);
// hybrid.cpp: each sequence is one task, with its regions split inside it.
void runHybrid(Phase phase, const RunSequences& run);
// pipeline.cpp: layer groups as serial pipeline stages; the sequences flow through them.
void runPipeline(Phase phase, const RunSequences& run);

// For the request-parallel and hybrid strategies: fn(i) for every sequence, each as one TBB task.
void forEachSequenceAsTask(const RunSequences& run, const std::function<void(int)>& fn);

} // namespace engine
