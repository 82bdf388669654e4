// Amdahl's law, live: a sweep over 1 to all the cores (and twice as many threads), the serial fraction Amdahl's
// law fits to its timings against the serial fraction measured from the trace, the speedup limit each implies, and
// the curve predicted past this machine's cores (always labelled a prediction).
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lessonset.h"
#include "engine/lessons/lessonsupport.h"

#include <cmath>
#include <limits>

namespace engine::lessons {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The prediction's total speedup at `threads` (prefill and decode time together, against its one-thread point);
// NaN without that point.
double predictedSpeedup(const ScalingPrediction& p, int threads)
{
    double base = 0, at = 0;
    for (const PredictionPoint& pt : p.points) {
        if (pt.threads == 1)
            base = pt.prefillMs + pt.decodeMs;
        if (pt.threads == threads)
            at = pt.prefillMs + pt.decodeMs;
    }
    return base > 0 && at > 0 ? base / at : kNaN;
}

class Amdahl : public Lesson {
public:
    std::string name() const override { return "amdahl"; }
    std::string title() const override { return "Amdahl's law, live"; }
    std::string summary() const override
    {
        return "a sweep to all cores and past them: fitted vs traced serial fraction, the limit, the predicted curve";
    }

    std::vector<Step> plan(const LessonOptions& options) const override
    {
        const int cores = planCores(options);
        std::vector<int> threads;
        for (int p = 1; p <= cores; ++p)
            threads.push_back(p);
        threads.push_back(2 * cores);
        SweepRequest sweep = lessonSweep(lessonRun({ kLongPrompt }, options.quick ? 8 : 64, 1), threads,
            options.quick ? 1 : 5, options.quick ? 0 : 1);
        sweep.predictWith = options.machine;
        sweep.predictThreads = predictionThreads(cores);
        return { sweepStep("timed on 1 to " + std::to_string(2 * cores) + " threads", {}, sweep) };
    }

    Measured measure(const std::vector<StepResult>& results, const MachinePeaks& machine) const override
    {
        const StrategySweep& sweep = strategyAt(results, 0, Strategy::IntraOp);
        const ScalingAnalysis& total = sweep.totalScaling;
        const int cores = machine.cores;
        Measured m;
        m.add("cores", cores, "", 0);
        m.add("threads_over", 2 * cores, "", 0);
        m.add("speedup_cores", pointAt(total, cores).speedup, "×", 2);
        m.add("speedup_over", pointAt(total, 2 * cores).speedup, "×", 2);
        m.add("fit_serial", 100.0 * total.serialFraction, "%", 1);
        m.add("fit_limit", total.asymptoticSpeedup, "×", 1);
        m.add("fit_points", total.fitPoints(), "", 0);
        double traced = kNaN;
        for (const StrategySweep::PointTrace& t : sweep.traced)
            if (t.threads == 1)
                traced = t.total;
        m.add("traced_serial", 100.0 * traced, "%", 1);
        m.add("traced_limit", traced > 0 ? 1.0 / traced : kNaN, "×", 1);
        const std::vector<int> predicted = predictionThreads(cores);
        m.add("predicted_threads_near", predicted[1], "", 0);
        m.add("predicted_threads_far", predicted.back(), "", 0);
        m.add("predicted_speedup_near",
            sweep.prediction.available ? predictedSpeedup(sweep.prediction, predicted[1]) : kNaN, "×", 2);
        m.add("predicted_speedup_far",
            sweep.prediction.available ? predictedSpeedup(sweep.prediction, predicted.back()) : kNaN, "×", 2);
        m.add("background_cores", stepAt(results, 0).sweep.backgroundLoad.otherCores, "", 1);
        return m;
    }

    Explanation explain(const Measured& m) const override
    {
        Explanation e;
        const double fit = m.value("fit_serial");
        const double traced = m.value("traced_serial");
        e.contradicts = !(m.value("speedup_cores") >= 1.05 && fit > 0.5 && fit < 100);
        const bool scaled = m.value("speedup_cores") >= 1.05;
        const bool fitMeaningful = scaled && fit > 0 && fit < 100;
        // Every sweep figure here is the whole run's (prefill and decode together): the speedup chart's Total phase.
        std::string t = fillText(m,
            "Timing the whole run, prefill and decode together: on all {cores} cores it was {speedup_cores} as fast "
            "as on one. ");
        if (fitMeaningful)
            t += fillText(m,
                "Amdahl's law fitted to the timings says {fit_serial} of the work is serial, so no number of threads "
                "could make it more than {fit_limit} faster. ");
        else
            t += fillText(m,
                "Amdahl's law fitted to that gives a serial fraction of {fit_serial}, which means nothing: the law "
                "assumes the threads speed the parallel part up. ");
        t += fillText(m,
            "The trace, which sees the serial sections directly, measures {traced_serial} serial (a limit of "
            "{traced_limit}). ");
        if (fitMeaningful && std::isfinite(traced) && fit > traced + 5)
            t += "The fit blames more on serial work than the trace finds: fork/join overhead and threads sharing "
                 "the memory bandwidth grow with the thread count, and Amdahl's law can only count them as serial "
                 "work. ";
        if (fitMeaningful && m.value("fit_points") <= 2)
            t += fillText(m,
                "With only {cores} cores the fit has one point besides the one-thread run, so the curve passes "
                "exactly through it and proves little. ");
        t += fillText(m, "On {threads_over} threads, time-sharing the cores, it ran {speedup_over}. ");
        if (std::isfinite(m.value("predicted_speedup_near")) && std::isfinite(m.value("predicted_speedup_far")))
            t += fillText(m,
                "PREDICTED, not measured: a machine with {predicted_threads_near} cores like these would reach "
                "{predicted_speedup_near}, and one with {predicted_threads_far} cores {predicted_speedup_far}. ");
        if (e.contradicts) {
            t += kContradictionOpening;
            t += m.value("speedup_cores") < 1.05 ? "the run did not get faster with more cores, so there is no "
                                                   "serial fraction worth fitting"
                                                 : "the fit found no serial work at all";
            t += m.value("background_cores") >= kBusyCores
                ? fillText(m, "; other processes kept {background_cores} cores busy during the sweep.")
                : ".";
        }
        e.text = finishText(std::move(t), m, e.contradicts);
        e.lookAt = { Focus::SpeedupChart, Focus::WhyPanel };
        e.chartPhase = ChartPhase::Total;
        e.lookAtText = "On the speedup chart (its Total phase, where these figures come from), compare the measured "
                       "points with the fitted Amdahl curve and the dashed "
                       "predicted curve past the cores; the Why panel has the serial sections by op.";
        return e;
    }

private:
    // One (the prediction's base), then past the cores: four and thirty-two times as many (8 and 64 on two cores).
    static std::vector<int> predictionThreads(int cores) { return { 1, 4 * cores, 32 * cores }; }
};

} // namespace

const Lesson& amdahlLesson()
{
    static const Amdahl lesson;
    return lesson;
}

} // namespace engine::lessons
