// A run's analysis in one piece: the time breakdown per phase, the roofline per op, the machine's ceilings and the
// scaling prediction, as JSON (the CLI's `analyze --json`, sessions) and as a short plain-language reading whose
// every figure comes from those numbers (the CLI and the window's "Why" panel).
#pragma once

#include "engine/measure/analysis.h"
#include "engine/measure/prediction.h"
#include "engine/measure/roofline.h"
#include "engine/run/run.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace engine {

struct RunReport {
    RunAnalysis analysis;
    std::vector<OpStats> ops;
    MachinePeaks machine;
    ScalingPrediction prediction; // for a wider machine (the question past this machine's cores)
    int threads = 1;
    Strategy strategy = Strategy::IntraOp;
    int sequences = 1; // the run's prompts
    int prefillTokens = 0;
    int decodeTokens = 0; // tokens after each sequence's first
};

// Analyses a traced run of `model` against `machine`, predicting at `predictThreads`.
RunReport buildRunReport(
    const RunResult& run, const Model& model, const MachinePeaks& machine, const std::vector<int>& predictThreads);

// The JSON document (fields in docs/ARCHITECTURE.md, "Run analysis"):
//   wall_ms, threads, strategy, sequences, serial_fraction,
//   phases: { prefill, decode, total: { tokens, tps, wall_ms, busy_ms, lane_ms, serial_ms, parallel_ms, untraced_ms,
//             concurrent_ms, idle_ms: { total, imbalance, overhead, serial, untraced }, serial_fraction, regions,
//             task_periods, overhead_per_region_us } },
//   ops: [ { op, phase, calls, chunks, ms, busy_ms, bytes, flops, gbps, gflops, intensity, bound, ceiling_share } ],
//   machine: { cpu, cores, bandwidth_gbps, bandwidth_gbps_1, peak_gflops, peak_gflops_1, fork_join_ns_1,
//              fork_join_ns_all, fma_kernel, from_cache },
//   prediction: { available, reason, target, measured_threads, model, points: [ { threads, prefill_tps, decode_tps,
//                 speedup, prefill_speedup, decode_speedup, beyond_cores } ] }
nlohmann::json toJson(const RunReport& report);

// A few sentences reading the report: where each phase's idle time went, the serial fraction and the speedup
// Amdahl's law allows with it (for the request-parallel and pipeline strategies instead: no serial section, the lanes
// that can work at once, and why no Amdahl limit is given), the op that takes the most time and what bounds it, and the
// prediction (labelled as one). Every number is taken from `report`.
std::vector<std::string> readRunReport(const RunReport& report);

} // namespace engine
