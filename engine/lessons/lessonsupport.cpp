#include "engine/lessons/lessonsupport.h"

#include "engine/lessons/explaintext.h"

#include <algorithm>
#include <stdexcept>

namespace engine::lessons {

const char* const kLongPrompt
    = "In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness "
      "was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God said, Let there "
      "be light: and there was light. And God saw the light, that it was good: and God divided the light from the "
      "darkness. And God called the light Day, and the darkness he called Night.";

const std::vector<std::string>& shortPrompts()
{
    static const std::vector<std::string> prompts = {
        "In the beginning God created",
        "And the LORD said unto Moses",
        "Blessed are the poor in spirit",
        "The LORD is my shepherd",
    };
    return prompts;
}

RunRequest lessonRun(std::vector<std::string> prompts, int tokens, int threads, Strategy strategy)
{
    RunRequest r;
    r.prompts = std::move(prompts);
    r.maxTokens = tokens;
    r.stopAtEos = false;
    r.sampling.seed = 42;
    r.strategy = strategy;
    r.scheduler.threads = threads;
    r.trace = true;
    return r;
}

SweepRequest lessonSweep(
    const RunRequest& workload, std::vector<int> threads, int repeat, int warmup, std::vector<Strategy> strategies)
{
    SweepRequest s;
    s.workload = workload;
    s.threads = std::move(threads);
    s.repeat = repeat;
    s.warmup = warmup;
    s.strategies = std::move(strategies);
    s.traceSerialFraction = true;
    return s;
}

Step runStep(std::string caption, ModelChoice model, RunRequest run)
{
    Step s;
    s.kind = Step::Kind::Run;
    s.caption = std::move(caption);
    s.model = std::move(model);
    s.run = std::move(run);
    return s;
}

Step sweepStep(std::string caption, ModelChoice model, SweepRequest sweep)
{
    Step s;
    s.kind = Step::Kind::Sweep;
    s.caption = std::move(caption);
    s.model = std::move(model);
    s.sweep = std::move(sweep);
    return s;
}

int planCores(const LessonOptions& options)
{
    return options.machine ? std::max(1, options.machine->cores) : Scheduler::hardwareThreads();
}

const StepResult& stepAt(const std::vector<StepResult>& results, size_t index)
{
    if (index >= results.size())
        throw std::runtime_error("lesson: step " + std::to_string(index + 1) + " has no result");
    return results[index];
}

const RunReport& reportAt(const std::vector<StepResult>& results, size_t index)
{
    const StepResult& r = stepAt(results, index);
    if (!r.report || !r.report->analysis.valid)
        throw std::runtime_error("lesson: step " + std::to_string(index + 1) + " has no traced run report");
    return *r.report;
}

const StrategySweep& strategyAt(const std::vector<StepResult>& results, size_t index, Strategy strategy)
{
    for (const StrategySweep& s : stepAt(results, index).sweep.strategies)
        if (s.strategy == strategyName(strategy))
            return s;
    throw std::runtime_error(
        "lesson: step " + std::to_string(index + 1) + " has no " + strategyName(strategy) + " sweep");
}

const ScalingPoint& pointAt(const ScalingAnalysis& analysis, int threads)
{
    for (const ScalingPoint& p : analysis.points)
        if (p.threads == threads)
            return p;
    throw std::runtime_error("lesson: the sweep has no point at " + std::to_string(threads) + " threads");
}

double medianTokensPerSecond(const ScalingAnalysis& analysis, int threads, int tokens)
{
    const double seconds = pointAt(analysis, threads).medianSeconds;
    return seconds > 0 ? tokens / seconds : 0.0;
}

double workPerRegionUs(const TimeBreakdown& t)
{
    return t.regions > 0 ? double(t.parallelWorkNs) / double(t.regions) / double(std::max(1, t.lanes)) / 1e3 : 0.0;
}

double overheadPerRegionUs(const TimeBreakdown& t) { return t.overheadPerRegionNs() / 1e3; }

double meanOverheadAndPreemptionPerRegionUs(const TimeBreakdown& t)
{
    const uint64_t regions = t.undisturbedPeriods + t.disturbedPeriods;
    return regions > 0
        ? double(t.idle.overhead + t.idle.disturbed) / double(std::max(1, t.lanes)) / double(regions) / 1e3
        : 0.0;
}

double laneShare(int64_t part, const TimeBreakdown& t)
{
    return t.laneNs > 0 ? 100.0 * double(part) / double(t.laneNs) : 0.0;
}

double memoryBoundShare(const RunReport& report, Phase phase)
{
    double all = 0, memory = 0;
    for (const OpStats& s : report.ops) {
        if (s.phase != phase || !s.modelled)
            continue;
        all += double(s.elapsedNs);
        if (s.bound(report.machine, report.threads) == Bound::Memory)
            memory += double(s.elapsedNs);
    }
    return all > 0 ? 100.0 * memory / all : 0.0;
}

double phaseBytes(const RunReport& report, Phase phase)
{
    double bytes = 0;
    for (const OpStats& s : report.ops)
        if (s.phase == phase && s.modelled)
            bytes += s.bytes;
    return bytes;
}

double phaseGBps(const RunReport& report, Phase phase)
{
    double bytes = 0;
    int64_t ns = 0;
    for (const OpStats& s : report.ops)
        if (s.phase == phase && s.modelled) {
            bytes += s.bytes;
            ns += s.elapsedNs;
        }
    return ns > 0 ? bytes / double(ns) : 0.0;
}

std::string finishText(std::string text, const Measured& measured, bool contradicts)
{
    if (!contradicts && measured.value("background_cores") >= kBusyCores) {
        if (!text.empty() && text.back() != ' ')
            text += ' ';
        text += fillText(measured,
            "Other processes kept {background_cores} cores busy while this ran, so its timings are disturbed; rerun "
            "it on a quiet machine to be sure.");
    }
    while (!text.empty() && text.back() == ' ')
        text.pop_back();
    return text;
}

} // namespace engine::lessons
