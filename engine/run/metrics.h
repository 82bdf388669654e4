// A run's metrics: phase times, token rates, and each worker's busy and idle time from the trace.
#pragma once

#include "engine/parallel/scheduler.h"
#include "engine/parallel/trace.h"
#include "engine/run/generation.h"

#include <chrono>
#include <cstdint>
#include <vector>

namespace engine {

struct WorkerStats {
    int slot = 0;
    int64_t busyNs = 0; // summed chunk and serial-section time on this slot
    int64_t idleNs = 0; // wall time minus busy time
    uint64_t chunks = 0;
    double meanChunkNs = 0;
};

struct RunMetrics {
    double wallMs = 0;
    double prefillMs = 0; // the prefill phase: every prompt's forward pass and first token
    double decodeMs = 0; // the decode phase: every later token
    // The phases on the trace's clock (ns since the run started, as TraceEvent times): prefill is
    // [prefillBeginNs, prefillEndNs), decode [prefillEndNs, decodeEndNs), the run [0, wallNs).
    int64_t prefillBeginNs = 0;
    int64_t prefillEndNs = 0;
    int64_t decodeEndNs = 0;
    int64_t wallNs = 0;
    double timeToFirstTokenMs = 0; // earliest first token over the sequences
    int promptTokens = 0; // summed
    int generatedTokens = 0; // summed
    double prefillTokensPerSecond = 0;
    double decodeTokensPerSecond = 0; // tokens after each sequence's first, over the decode phase
    double totalTokensPerSecond = 0; // generated tokens over wall time
    std::vector<WorkerStats> workers; // one per arena slot (empty without tracing)
    double loadImbalance = 0; // max busy ÷ mean busy over the slots (1 = perfectly even)
    uint64_t parallelRegions = 0;
    double meanRegionNs = 0;
    uint64_t traceEvents = 0;
    // Events the recorder could not keep (its buffers full, or an invalid slot): with any, the busy and idle
    // figures are incomplete, and the CLI, the bench and the window say so.
    uint64_t droppedTraceEvents = 0;
};

// The clock readings a run's metrics come from.
struct RunTimes {
    using Clock = std::chrono::steady_clock;
    Clock::time_point start; // before the prompts are tokenised
    Clock::time_point prefillStart;
    Clock::time_point prefillEnd; // also where the decode phase starts
    Clock::time_point decodeEnd;
    Clock::time_point end; // every sequence finished and the trace recorder detached
    // A traced run's same moments on the trace recorder's clock (TraceRecorder::nowNs), -1 if untraced. The
    // phase boundaries in RunMetrics (prefillEndNs, ...) come from these, so that classifying a trace event
    // by phase never depends on how well the recorder's counter-based clock agrees with steady_clock: under
    // load a preemption during its calibration can shift it by more than the gap between two phases' events.
    struct TraceClock {
        int64_t prefillStart = -1;
        int64_t prefillEnd = -1;
        int64_t decodeEnd = -1;
        int64_t end = -1;
    } trace;
};

// A run's metrics from its clock readings, its sequences' stats, the scheduler's region counts and,
// for a traced run, its trace over `slots` arena slots (null without tracing).
RunMetrics computeRunMetrics(const RunTimes& times, const std::vector<GenerationStats>& sequences,
    const Scheduler::RegionStats& regions, const std::vector<TraceEvent>* trace, int slots);

// Each slot's busy, idle and chunk statistics from a trace over a run of `wallNs` (markers and
// events outside [0, slots) are left out).
std::vector<WorkerStats> workerStats(const std::vector<TraceEvent>& events, int slots, int64_t wallNs);

} // namespace engine
