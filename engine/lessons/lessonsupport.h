// What the lessons share: the workloads they run, and reading the numbers they quote out of step results.
#pragma once

#include "engine/lessons/lesson.h"

#include <string>
#include <vector>

namespace engine::lessons {

// A passage long enough that prefill has real work (about a hundred tokens on the shipped model).
extern const char* const kLongPrompt;
// Several different short prompts, for request-parallel lessons.
const std::vector<std::string>& shortPrompts();

// A run of `prompts` for `tokens` tokens each on `threads` threads: the sampler's defaults with a fixed seed, and
// never stopping early at an end token, so that every repetition does the same work.
RunRequest lessonRun(std::vector<std::string> prompts, int tokens, int threads, Strategy strategy = Strategy::IntraOp);
// A sweep of `workload` over `threads` (one strategy), with `repeat` measured runs and `warmup` before.
SweepRequest lessonSweep(const RunRequest& workload, std::vector<int> threads, int repeat, int warmup,
    std::vector<Strategy> strategies = { Strategy::IntraOp });
// A Step of either kind.
Step runStep(std::string caption, ModelChoice model, RunRequest run);
Step sweepStep(std::string caption, ModelChoice model, SweepRequest sweep);

// The logical cores plans size themselves by: the machine's, else Scheduler::hardwareThreads().
int planCores(const LessonOptions& options);

// Step `index` of `results`, checked to exist; the report of a run step (std::runtime_error when missing).
const StepResult& stepAt(const std::vector<StepResult>& results, size_t index);
const RunReport& reportAt(const std::vector<StepResult>& results, size_t index);
// One strategy's sweep in step `index`, and one thread count's point of one of its analyses.
const StrategySweep& strategyAt(const std::vector<StepResult>& results, size_t index, Strategy strategy);
const ScalingPoint& pointAt(const ScalingAnalysis& analysis, int threads);
// Tokens per second at `threads` from a sweep analysis's median time for `tokens` tokens.
double medianTokensPerSecond(const ScalingAnalysis& analysis, int threads, int tokens);

// Per parallel region of a phase, per lane, in µs: the work done in it, and the fork/join overhead
// (TimeBreakdown::overheadPerRegionNs: the median over the regions not stretched by preemption).
double workPerRegionUs(const TimeBreakdown& t);
double overheadPerRegionUs(const TimeBreakdown& t);
// The mean time per region beyond its busiest lane's work, fork/join and preemption together, µs: for a lesson whose
// point is the preemption (oversubscription).
double meanOverheadAndPreemptionPerRegionUs(const TimeBreakdown& t);
// A share of a phase's lane-time, %.
double laneShare(int64_t part, const TimeBreakdown& t);
// The share of a phase's modelled op time (elapsed) spent in ops that are memory-bound on `lanes`, %.
double memoryBoundShare(const RunReport& report, Phase phase);
// Bytes the roofline counts for a phase (every op's modelled bytes) and its achieved rate over the ops' time.
double phaseBytes(const RunReport& report, Phase phase);
double phaseGBps(const RunReport& report, Phase phase);

// Other processes' CPUs in use from which a lesson's text says its timings were disturbed.
inline constexpr double kBusyCores = BackgroundLoad::kSignificantCores;

// The explanation's last touch: when it does not already say the measurement contradicts the lesson but other
// processes kept at least kBusyCores busy ("background_cores"), a sentence saying the timings are disturbed; then
// the text without trailing spaces.
std::string finishText(std::string text, const Measured& measured, bool contradicts);

} // namespace engine::lessons
