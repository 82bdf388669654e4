// runLesson: a lesson's steps run headless, one after another, as the window's RunController runs them.
#include "engine/lessons/lesson.h"

#include "engine/measure/prediction.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace engine::lessons {

namespace {

// Reports a run's progress by tokens produced, and stops it when asked.
class StepListener : public RunListener {
public:
    StepListener(const LessonProgress& progress, int step, int steps, const std::string& caption, int expectedTokens)
        : m_progress(progress)
        , m_step(step)
        , m_steps(steps)
        , m_caption(caption)
        , m_expected(std::max(1, expectedTokens))
    {
    }
    void onToken(int, int32_t, std::string_view) override { m_tokens.fetch_add(1, std::memory_order_relaxed); }
    // Called between tokens from the calling thread (and, for request-parallel runs, workers); the progress
    // callback is only ever called from the thread that started the run.
    bool shouldStop() override
    {
        if (!m_progress)
            return false;
        if (std::this_thread::get_id() != m_caller)
            return m_stopped.load(std::memory_order_relaxed);
        const double fraction = std::min(1.0, double(m_tokens.load(std::memory_order_relaxed)) / m_expected);
        if (!m_progress(m_step, m_steps, fraction, m_caption))
            m_stopped = true;
        return m_stopped.load(std::memory_order_relaxed);
    }
    bool stopped() const { return m_stopped; }

private:
    const LessonProgress& m_progress;
    int m_step;
    int m_steps;
    std::string m_caption;
    int m_expected;
    std::thread::id m_caller = std::this_thread::get_id();
    std::atomic<int> m_tokens { 0 };
    std::atomic<bool> m_stopped { false };
};

} // namespace

LessonOutcome runLesson(const Lesson& lesson, const LessonOptions& options, const MachinePeaks& machine,
    const std::string& executablePath, const LessonProgress& progress)
{
    LessonOptions planOptions = options;
    planOptions.machine = machine;
    const std::vector<Step> steps = lesson.plan(planOptions);
    LessonOutcome outcome;
    outcome.name = lesson.name();
    outcome.title = lesson.title();

    // Consecutive steps on the same model share it; a new model replaces the last (synthetic models are large).
    std::optional<ModelChoice> loadedChoice;
    std::shared_ptr<const Model> model;
    const int count = int(steps.size());
    for (int i = 0; i < count; ++i) {
        const Step& step = steps[size_t(i)];
        if (progress && !progress(i, count, 0.0, step.caption)) {
            outcome.cancelled = true;
            return outcome;
        }
        if (!loadedChoice || !(*loadedChoice == step.model)) {
            model.reset();
            model = loadModel(step.model, executablePath);
            loadedChoice = step.model;
        }
        StepResult result;
        result.modelWeightBytes = model->weightBytes();
        if (step.kind == Step::Kind::Run) {
            RunRequest request = step.run;
            request.trace = true;
            StepListener listener(
                progress, i, count, step.caption, int(request.prompts.size()) * std::max(1, request.maxTokens));
            const CpuTimes before = readCpuTimes();
            RunResult run = executeRun(model, request, &listener);
            result.backgroundLoad = backgroundLoadBetween(before, readCpuTimes());
            if (run.cancelled || listener.stopped()) {
                outcome.cancelled = true;
                return outcome;
            }
            result.report = buildRunReport(run, *model, machine, defaultPredictionThreads());
            result.metrics = std::move(run.metrics);
            result.sequences = std::move(run.sequences);
            result.threads = run.threads;
            result.strategy = run.strategy;
        } else {
            bool stopped = false;
            const SweepProgress sweepProgress = [&](int done, int total, const std::string& label) {
                if (progress
                    && !progress(i, count, total > 0 ? double(done) / total : 0.0, step.caption + ": " + label))
                    stopped = true;
                return !stopped;
            };
            result.sweep = runSweep(model, step.sweep, sweepProgress);
            if (stopped || result.sweep.workload.value("cancelled", false)) {
                outcome.cancelled = true;
                return outcome;
            }
        }
        outcome.results.push_back(std::move(result));
    }
    if (progress)
        progress(count, count, 1.0, "done");
    outcome.measured = lesson.measure(outcome.results, machine);
    outcome.explanation = lesson.explain(outcome.measured);
    return outcome;
}

} // namespace engine::lessons
