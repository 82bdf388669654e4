// Benchmarks: memory read bandwidth, and prefill/decode tokens/s per thread count against the memory-bound ceiling.
#pragma once

#include "engine/model/model.h"
#include "engine/parallel/scheduler.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

namespace engine {

struct BandwidthResult {
    int threads = 1;
    double medianGBps = 0.0;
    double maxGBps = 0.0;
    uint64_t bufferBytes = 0;
    bool hugePages = false;
};

// Reads a buffer far larger than the caches with SIMD loads into several accumulators, split
// statically over `threads` threads of a task_arena; median and best of `passes` full reads.
BandwidthResult measureReadBandwidth(int threads, uint64_t bufferBytes = uint64_t(1) << 30, int passes = 7);

struct BenchOptions {
    std::vector<int> threads { 1, 2 };
    int promptTokens = 128; // prefill length
    int decodeTokens = 64; // decoded tokens per run
    int repeat = 5; // measured runs per figure (after one warm-up)
    Partitioner partitioner = Partitioner::Auto;
    size_t grain = 1;
    bool pinThreads = false; // SchedulerOptions::pinThreads
    bool probeBandwidth = true;
    uint64_t probeBytes = uint64_t(1) << 30;
    // Probes measured before the model was built (a process that has just run TBB work can have a
    // worker still spinning, which halves a probe thread's share of its core). Empty: probe here.
    std::vector<BandwidthResult> measuredBandwidth;

    void validate() const;
};

// Runs the benchmark and returns the JSON report (see the README for its fields).
nlohmann::json runBench(std::shared_ptr<const Model> model, const BenchOptions& options);

// A short description of this machine: CPU model, logical cores, memory.
nlohmann::json machineDescription();

// Median of a non-empty list.
double median(std::vector<double> values);

} // namespace engine
