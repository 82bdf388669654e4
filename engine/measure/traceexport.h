// Chrome Trace Event Format export of a run's trace (opens in Perfetto and chrome://tracing), its parser and checks.
#pragma once

#include "engine/parallel/trace.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace engine {

// What the trace was of; written to "otherData" (extra's keys are merged in) and the process name.
struct TraceMeta {
    std::string processName = "llm-playground";
    std::string model;
    int threads = 1;
    std::string strategy;
    std::string partitioner;
    std::vector<int> laneCpus; // the CPU each slot was pinned to (named in its lane), empty if not pinned
    nlohmann::json extra = nlohmann::json::object();
};

// Worker slot w is written as tid w + kTraceTidOffset: Perfetto merged tid 0 into another thread's track
// (fixed only in 2025, google/perfetto#2278), so lanes start at 1. The thread names still say "worker w".
constexpr int kTraceTidOffset = 1;
constexpr int kTracePid = 1; // pid 0 is the kernel's swapper to Perfetto

// The whole trace as one JSON object:
//   { "traceEvents": [...], "displayTimeUnit": "ns", "otherData": { processName, model, threads, strategy,
//     partitioner, ...extra } }
// traceEvents: metadata ("ph":"M": process_name, thread_name "worker 0 (caller)", "worker 1", ... and
// thread_sort_index) for every slot below max(meta.threads, highest slot + 1); then, sorted by ts (ties: longer
// slice first, so parents precede the slices nested in them):
//   - one "ph":"X" slice per non-marker event: name opName(op), cat "layer N" / "serial" / "model" (ops outside
//     layers), ts and dur in µs as doubles (ns / 1000), args { layer, rows: [first, last) as [first, last],
//     seq, token: position, tokens };
//   - one "ph":"X" slice named "region", cat "region", per parallel region (Op::Region: fork to join, on the lane
//     of the thread that started it, around that thread's own chunks), args as a slice's with rows [0, blocks);
//   - "ph":"i","s":"t" instants for WorkerJoin / WorkerLeave;
//   - a "ph":"C" counter "busy workers" with args { busy: n }: a point at ts 0 and at every change.
nlohmann::json chromeTraceJson(const std::vector<TraceEvent>& events, const TraceMeta& meta);

// Writes the same document as chromeTraceJson, streamed event by event so a million-event trace does not need a
// JSON tree in memory. Throws std::runtime_error naming the path if the file cannot be written.
void writeChromeTrace(const std::string& path, const std::vector<TraceEvent>& events, const TraceMeta& meta);

// Reads the "ph":"X" slices (and with withMarkers the join/leave instants) of a Chrome trace back into
// TraceEvents, in file order. Accepts the object form and the bare-array form. Names that are not an opName
// become Op::Other. Throws std::runtime_error if the document or an event lacks a required field, or a field is not
// a number inside what the event holds (a worker, layer or sequence beyond int16, a time beyond ±10^12 µs).
std::vector<TraceEvent> parseChromeTrace(const nlohmann::json& trace, bool withMarkers = false);

// Number of workers with at least one open slice, as (ns, busy) at every change, starting with (0, 0).
// A worker inside nested slices counts once. Markers are ignored.
std::vector<std::pair<int64_t, int>> busyWorkerSteps(const std::vector<TraceEvent>& events);

// True if, on every worker's lane, any two slices are disjoint or one contains the other (touching ends are
// disjoint), and no slice ends before it begins. Markers are ignored. On failure *why (if given) names the worker
// and the two slices.
bool lanesWellFormed(const std::vector<TraceEvent>& events, std::string* why = nullptr);

} // namespace engine
