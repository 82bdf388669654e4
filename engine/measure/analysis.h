// Where a run's time went, from its trace: lane-time accounting (busy, and idle by cause) and the serial fraction.
//
// P lanes over a window of wall time W have P·W lane-nanoseconds, every one of them either busy (a lane runs an
// event) or idle, and idle time is told apart by what the other lanes were doing at that moment:
//   - inside a parallel period (one region span, fork to join, or several that overlap: nested and concurrent
//     regions merge into one period) of wall time R, where lane i worked w_i and the busiest lane m = max w_i:
//       imbalance = Σ_i (m − w_i)   lanes done early while the busiest one still works,
//       overhead  = P · (R − m)     time in the region beyond its busiest lane's work: fork, join, scheduling;
//   - outside parallel periods, at each instant with b lanes working:
//       b = 1: serial    (P − 1 lanes wait for the one: sampling, norms, quantising an input ...),
//       b ≥ 2: imbalance (P − b lanes have nothing while others work, as in request-parallel runs),
//       b = 0: untraced  (all P lanes: time nothing was recorded in, expected small).
// The parts add up exactly: busy + imbalance + overhead + serial + untraced = P·W (tested).
//
// Serial fraction from the trace: serial wall time (exactly one lane working, no region open) over serial time
// plus the work done in parallel time. It estimates the same quantity as the serial fraction Amdahl's law fitted to
// a sweep, from one run: what fraction of a one-lane run could not have been spread over more lanes.
#pragma once

#include "engine/parallel/trace.h"

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

struct RunResult;

struct IdleBreakdown {
    int64_t imbalance = 0;
    int64_t overhead = 0;
    int64_t serial = 0;
    int64_t untraced = 0;

    int64_t total() const { return imbalance + overhead + serial + untraced; }
};

// Lane-time accounting of one window of a trace. Times in ns.
struct TimeBreakdown {
    int64_t beginNs = 0;
    int64_t endNs = 0;
    int lanes = 1;
    int64_t wallNs = 0; // endNs - beginNs
    int64_t laneNs = 0; // lanes × wallNs
    int64_t busyNs = 0; // every lane's working time (nested events on a lane count once)
    IdleBreakdown idle; // busyNs + idle.total() == laneNs

    // The window's wall time by what the lanes did: serialNs + parallelNs + untracedNs == wallNs.
    int64_t serialNs = 0; // exactly one lane working and no region open
    int64_t parallelNs = 0; // inside parallel periods, or two or more lanes working
    int64_t untracedNs = 0; // no lane working and no region open
    int64_t parallelWorkNs = 0; // lane work done during parallelNs

    uint64_t regions = 0; // region spans that begin in the window
    uint64_t periods = 0; // parallel periods (overlapping regions merged)

    // serialNs / (serialNs + parallelWorkNs); 0 for an empty window.
    double serialFraction() const;
    // Mean fork/join overhead per region, ns (overhead lane-time ÷ lanes ÷ regions); 0 without regions.
    double overheadPerRegionNs() const;
};

// Accounts [beginNs, endNs) of `events` over max(lanes, highest worker + 1) lanes. Events are clipped to the window;
// region spans (Op::Region) delimit parallel periods; other markers are ignored. A region span that no longer
// encloses anything (say, the window cuts it) still counts as a parallel period for the part inside the window.
TimeBreakdown analyzeLaneTime(const std::vector<TraceEvent>& events, int lanes, int64_t beginNs, int64_t endNs);

// One parallel period of a trace (a region span, or overlapping spans merged) with the work done in it.
struct ParallelPeriod {
    int64_t beginNs = 0;
    int64_t endNs = 0;
    int64_t workNs = 0; // lane work inside the period, all lanes
    int64_t busiestNs = 0; // the busiest lane's work
    int64_t longestChunkNs = 0; // the longest single event inside
    uint32_t regions = 0; // region spans merged into it
    uint64_t blocks = 0; // the regions' blocks (the units a partitioner hands out), summed
    std::vector<const TraceEvent*> chunks; // the work events that begin inside it (pointers into the trace)

    int64_t wallNs() const { return endNs - beginNs; }
    int64_t overheadNs() const { return wallNs() - busiestNs; } // beyond the busiest lane's work
};
// The parallel periods whose span begins in [beginNs, endNs), in time order. `events` must outlive the result.
std::vector<ParallelPeriod> parallelPeriods(const std::vector<TraceEvent>& events, int64_t beginNs, int64_t endNs);

// The whole run and each phase (from the run's phase times, which are on the trace's clock).
struct RunAnalysis {
    TimeBreakdown total;
    TimeBreakdown prefill;
    TimeBreakdown decode;
    bool valid = false; // the run was traced
};
RunAnalysis analyzeRun(const RunResult& run);

} // namespace engine
