// Sweeps: one workload repeated over thread counts and strategies, warm-up then medians, analysed for scaling.
#pragma once

#include "engine/measure/scaling.h"
#include "engine/run/run.h"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace engine {

struct SweepRequest {
    RunRequest workload; // prompts, sampling, tokens; its strategy and threads are ignored
    std::vector<Strategy> strategies { Strategy::IntraOp };
    std::vector<int> threads { 1, 2 };
    int repeat = 3; // measured runs per point
    int warmup = 1; // unmeasured runs per point first
    // Gustafson: grow the work with p (p copies of the prompt list at p threads). Meaningful for
    // request-parallel and hybrid, where more prompts are more independent work.
    bool scaledWork = false;
    // After each point's measured runs, one more run with tracing on (not timed) whose trace gives the serial
    // fraction per phase (StrategySweep::traced).
    bool traceSerialFraction = true;
    // With the machine's ceilings given (and traceSerialFraction on), intra-op sweeps also predict scaling at
    // predictThreads from their traced run at the largest measured p within the cores (StrategySweep::prediction).
    std::optional<MachinePeaks> predictWith;
    std::vector<int> predictThreads = defaultPredictionThreads();
    // Polled between tokens of every run: true cancels the sweep within one token.
    std::function<bool()> shouldStop;

    void validate() const; // throws std::invalid_argument
};

// Called before every run: (runs done, runs in all, what is running). Return false to cancel.
using SweepProgress = std::function<bool(int done, int total, const std::string& label)>;

// Runs every (strategy, thread count) point with tracing off (timed runs; see traceSerialFraction). A cancelled sweep
// returns what it measured so far (points with no samples are left out). Throws what executeRun throws.
SweepResult runSweep(
    std::shared_ptr<const Model> model, const SweepRequest& request, const SweepProgress& progress = {});

} // namespace engine
