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
//       b ≥ 2: imbalance (P − b lanes have nothing while others work),
//       b = 0: untraced  (all P lanes: time nothing was recorded in, expected small).
// The parts add up exactly: busy + imbalance + overhead + serial + untraced = P·W (tested).
//
// Task-parallel periods (the request-parallel and layer-pipeline strategies): such a strategy forks a phase's
// sequences (or layer stages) once as tasks, each run whole on one lane, and joins them when the phase ends; the trace
// has no region spans inside, since regions run inline. A period given as a task period (analyzeRun passes each phase
// of such a run) is one parallel period of wall time R; with lane i's work w_i there and m = max w_i:
//       imbalance = Σ_i (m − w_i)   lanes with less work than the busiest (shorter requests, a task started late),
//       untraced  = P · (instants no lane works),
//       overhead  = P · (the rest of R − m: the busiest lane waits while another works: a task starting, a stage
//                   waiting for the previous stage's output),
//   and nothing in it is serial: no section makes the other lanes wait for it (a lane working alone works on its own
//   sequence), so the serial fraction of such a period is 0 and Amdahl's law gives no limit; the bound is the number
//   of sequences in flight, one lane each.
//
// Serial fraction from the trace: serial wall time (exactly one lane working, no region open) over serial time
// plus the work done in parallel time. It estimates the same quantity as the serial fraction Amdahl's law fitted to
// a sweep, from one run: what fraction of a one-lane run could not have been spread over more lanes.
#pragma once

#include "engine/parallel/trace.h"
#include "engine/run/run.h"

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

struct IdleBreakdown {
    int64_t imbalance = 0;
    int64_t overhead = 0; // fork/join: the undisturbed parallel periods' P·(R − m) (and task periods' waiting)
    int64_t serial = 0;
    int64_t untraced = 0;
    int64_t disturbed = 0; // P·(R − m) of periods stretched far beyond their work (see TimeBreakdown)

    int64_t total() const { return imbalance + overhead + serial + untraced + disturbed; }
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
    int64_t concurrentNs = 0; // two or more lanes working at once (inside or outside periods), ≤ wallNs

    uint64_t regions = 0; // region spans that begin in the window
    uint64_t periods = 0; // parallel periods (overlapping regions merged)
    uint64_t taskPeriods = 0; // task-parallel periods (see above) among them

    // Disturbed periods: a region period whose overhead R − m is at least kDisturbedFactor times the window's
    // median period overhead and at least kDisturbedMinNs was stretched far beyond its busiest lane's work, most
    // likely by the OS preempting a lane while the machine was busy (hundreds of µs, against a few µs for a fork
    // and join). Its P·(R − m) is idle.disturbed, not fork/join overhead, and the fork/join figure per region is the
    // median of the other (undisturbed) periods.
    static constexpr double kDisturbedFactor = 8.0;
    static constexpr int64_t kDisturbedMinNs = 50'000;
    uint64_t disturbedPeriods = 0;
    uint64_t undisturbedPeriods = 0; // region periods that are not disturbed
    int64_t forkJoinMedianNs = 0; // median R − m (wall) over the undisturbed region periods

    // serialNs / (serialNs + parallelWorkNs); 0 for an empty window.
    double serialFraction() const;
    // Fork/join overhead per region, ns: the median over the undisturbed region periods (forkJoinMedianNs); 0
    // without any.
    double overheadPerRegionNs() const;
};

// Accounts [beginNs, endNs) of `events` over max(lanes, highest worker + 1) lanes. Events are clipped to the window;
// region spans (Op::Region) delimit parallel periods; other markers are ignored. A region span that no longer
// encloses anything (say, the window cuts it) still counts as a parallel period for the part inside the window.
// `taskPeriods` ([begin, end) pairs, disjoint, not overlapping region spans) are accounted as task-parallel periods.
struct TimeSpan {
    int64_t beginNs = 0;
    int64_t endNs = 0;
};
TimeBreakdown analyzeLaneTime(const std::vector<TraceEvent>& events, int lanes, int64_t beginNs, int64_t endNs,
    const std::vector<TimeSpan>& taskPeriods = {});

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

// The whole run and each phase (from the run's phase times, which are on the trace's clock). For the request-parallel
// and layer-pipeline strategies each phase is a task-parallel period (see above).
bool taskParallel(Strategy strategy);
struct RunAnalysis {
    TimeBreakdown total;
    TimeBreakdown prefill;
    TimeBreakdown decode;
    bool valid = false; // the run was traced
};
RunAnalysis analyzeRun(const RunResult& run);

} // namespace engine
