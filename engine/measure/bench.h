// The bench: prefill and decode tokens/s per thread count, against the ceilings memory bandwidth (decode) and the
// FMA peak (prefill) set.
#pragma once

#include "engine/measure/machine.h"
#include "engine/model/model.h"
#include "engine/parallel/scheduler.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <vector>

namespace engine {

struct BenchOptions {
    std::vector<int> threads { 1, 2 };
    int promptTokens = 128; // prefill length
    int decodeTokens = 64; // decoded tokens per run
    int repeat = 5; // measured runs per figure (after one warm-up)
    // Decode through the sampler with and without keeping this many alternatives per token (0: not measured).
    int alternatives = 10;
    Partitioner partitioner = Partitioner::Auto;
    size_t grain = 1;
    bool pinThreads = false; // SchedulerOptions::pinThreads
    // Prompt + decode tokens beyond the model's trained context are refused unless this is set
    // (resolveContextLength, as for a run).
    bool allowContextOverflow = false;
    bool probeBandwidth = true;
    uint64_t probeBytes = uint64_t(1) << 30;
    // Probes measured before the model was built (a process that has just run TBB work can have a
    // worker still spinning, which halves a probe thread's share of its core). Thread counts
    // missing here are probed by runBench.
    std::vector<BandwidthResult> measuredBandwidth;
    // The FMA peak (measurePeakGflops, the kernels' SIMD level) per thread count, the compute ceiling of prefill;
    // thread counts missing from measuredPeakGflops are probed by runBench.
    bool probeCompute = true;
    std::map<int, double> measuredPeakGflops;

    void validate() const;
};

// The FMA peak of each of `threads` (capped at the logical cores), most threads first, skipping counts `measured`
// holds; returns `measured` with the new probes.
std::map<int, double> measurePeakGflopsFor(const std::vector<int>& threads, std::map<int, double> measured = {});

// Runs the benchmark and returns the JSON report (see the README for its fields).
nlohmann::json runBench(std::shared_ptr<const Model> model, const BenchOptions& options);

} // namespace engine
