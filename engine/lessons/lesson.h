// Teaching demonstrations ("lessons", issue #14): each is a plan of runs and sweeps on the shipped or synthetic
// models, the named numbers it measures from their results, and an explanation filled from those numbers.
//
// The same lesson runs headless (runLesson: the CLI's `demo`, the tests) and in the window (which executes the
// plan's steps through its own RunController so the timeline and charts draw live, then calls measure() and
// explain() on what came back). measure() reads only what both executors deliver (StepResult: the run's metrics,
// sequences and RunReport; the sweep's SweepResult), never a raw trace. explain() is a pure function of the
// measurements: every number in its text is one of them, formatted by Measurement::text(), so the text cannot
// drift from what was measured (tested).
#pragma once

#include "engine/format/ggmltype.h"
#include "engine/measure/analysisreport.h"
#include "engine/measure/machine.h"
#include "engine/measure/roofline.h"
#include "engine/measure/sweep.h"
#include "engine/run/run.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace engine::lessons {

// Which model a step runs: the shipped model, or a synthetic shape, optionally with its matrices stored as another
// type (the memory-wall lesson: F32, Q8_0 and Q4_0 of the same shape and seed).
struct ModelChoice {
    std::string synthetic; // empty: the shipped default model; else a shape name (tiny, 15M, 110M, 1B)
    std::optional<GgmlType> matrixType; // synthetic only; empty: the shape's own type
    std::string label() const; // "the shipped model", "synthetic 110M (Q4_0)"
    // The window's model key: "default", "synthetic:<shape>" or "synthetic:<shape>:<type>" (type as ggml names it,
    // e.g. q4_0). parseModelKey is its inverse (nullopt for anything else).
    std::string key() const;
    bool operator==(const ModelChoice&) const = default;
};
std::optional<ModelChoice> parseModelKey(const std::string& key);
// Loads (builds) the model: the shipped one found from `executablePath` (defaultModelPath), or the synthetic shape
// with its matrices written as `matrixType` (same seed, so the types differ only in how the weights are stored).
// Throws what the loaders throw, std::runtime_error when the shipped model is not found.
std::shared_ptr<const Model> loadModel(const ModelChoice& choice, const std::string& executablePath);

// One thing a lesson runs.
struct Step {
    enum class Kind { Run, Sweep };
    Kind kind = Kind::Run;
    std::string caption; // shown while it runs: "decode on 1 and 2 threads"
    ModelChoice model;
    // Kind::Run: prompts, sampling, strategy, scheduler (threads, partitioner, grain); always traced, so the result
    // carries a RunReport.
    RunRequest run;
    SweepRequest sweep; // Kind::Sweep
};

// What a step gave back: exactly what the window's RunController delivers, so both executors can fill it.
struct StepResult {
    // Kind::Run (RunSummary and reportReady)
    RunMetrics metrics;
    std::vector<GenerationResult> sequences;
    int threads = 1;
    Strategy strategy = Strategy::IntraOp;
    std::optional<RunReport> report; // the analysis of the run's trace (buildRunReport), when traced
    BackgroundLoad backgroundLoad; // other processes' CPU use while the run went on (RunSummary::backgroundLoad)
    // Kind::Sweep (sweepFinished)
    SweepResult sweep;
    // Both kinds: Model::weightBytes() of the step's model.
    uint64_t modelWeightBytes = 0;
};

// One named number the explanation quotes.
struct Measurement {
    std::string name; // "decode_speedup"
    double value = 0;
    std::string unit; // "×", "%", "tok/s", "µs", "ms", "GB/s", "GFLOP/s", "FLOP/B", "MiB", or ""
    int decimals = 1;
    // The value with its decimals and unit: "1.46×", "41%", "2.1 µs", "8" (no space before × and %); "n/a" for a
    // value that is not a number.
    std::string text() const;
};

struct Measured {
    std::vector<Measurement> values; // in the order added
    void add(std::string name, double value, std::string unit, int decimals = 1);
    const Measurement& at(const std::string& name) const; // throws std::out_of_range naming it
    bool has(const std::string& name) const;
    std::string text(const std::string& name) const { return at(name).text(); }
    double value(const std::string& name) const { return at(name).value; }
};

// What to look at while the explanation is read (the window raises and highlights it).
enum class Focus { Output, Timeline, SpeedupChart, WhyPanel, Roofline, Stats };
const char* focusName(Focus f); // "output", "timeline", "speedup chart", "why panel", "roofline", "stats"

// The phase of a sweep a figure comes from: the speedup chart shows one at a time.
enum class ChartPhase { Prefill, Decode, Total };
const char* chartPhaseName(ChartPhase p); // "prefill", "decode", "total"

struct Explanation {
    std::string text; // a few sentences; every number in it is Measured::text of one measurement
    bool contradicts = false; // the measurement did not show the usual lesson, and the text says so
    std::vector<Focus> lookAt; // the first is the main one
    std::string lookAtText; // one sentence: what to look at there
    // With Focus::SpeedupChart: the phase the text's sweep figures come from, which the chart is switched to so it
    // shows the same numbers; none when the text compares phases.
    std::optional<ChartPhase> chartPhase;
};

struct LessonOptions {
    // Tests: fewer tokens and repetitions, the same steps (the memory wall on a smaller synthetic shape).
    bool quick = false;
    // This machine's ceilings: sweeps that predict past the cores need them in their plan (SweepRequest::
    // predictWith), and thread counts follow its cores. runLesson sets it from its `machine`; the window sets it
    // before calling plan(). Without it plans use Scheduler::hardwareThreads() and predict nothing.
    std::optional<MachinePeaks> machine;
};

class Lesson {
public:
    virtual ~Lesson() = default;
    virtual std::string name() const = 0; // "prefill-vs-decode"
    virtual std::string title() const = 0; // "Prefill vs decode"
    virtual std::string summary() const = 0; // one line: what it shows
    virtual std::vector<Step> plan(const LessonOptions& options) const = 0;
    // The named numbers from the steps' results (in plan order) and the machine's ceilings. Throws
    // std::runtime_error when a result lacks what it needs (a run without its report, a sweep without a point).
    virtual Measured measure(const std::vector<StepResult>& results, const MachinePeaks& machine) const = 0;
    // Pure: the text from the numbers; says so when they contradict the usual lesson.
    virtual Explanation explain(const Measured& measured) const = 0;
};

const std::vector<const Lesson*>& allLessons(); // in teaching order
const Lesson* findLesson(const std::string& name); // nullptr if none

struct LessonOutcome {
    std::string name;
    std::string title;
    Measured measured;
    Explanation explanation;
    std::vector<StepResult> results;
    bool cancelled = false; // stopped before every step ran: measured and explanation are empty
};

// (step index, steps, fraction of the step done, caption); return false to stop.
using LessonProgress = std::function<bool(int step, int steps, double fraction, const std::string& caption)>;

// Runs every step headless (one arena per step, as the window does) and explains the result.
LessonOutcome runLesson(const Lesson& lesson, const LessonOptions& options, const MachinePeaks& machine,
    const std::string& executablePath, const LessonProgress& progress = {});

// { name, title, explanation, contradicts, look_at: [..], look_at_text, measured: { name: value, ... },
//   measured_text: { name: "1.46×", ... }, units: { name: "×", ... }, cancelled }
nlohmann::json toJson(const LessonOutcome& outcome);

} // namespace engine::lessons
