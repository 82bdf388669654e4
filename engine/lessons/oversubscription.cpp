// Oversubscription: more threads than cores. Past the cores the extra threads only take turns on them: no more
// work gets done per second, and every parallel region now waits for threads that the OS has descheduled, which
// the run's analysis counts as fork/join overhead and imbalance.
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lessonset.h"
#include "engine/lessons/lessonsupport.h"

#include <algorithm>

namespace engine::lessons {

namespace {

// 1, the cores, twice and four times the cores (1, 2, 4, 8 on two cores).
std::vector<int> threadCounts(int cores)
{
    std::vector<int> t { 1, cores, 2 * cores, 4 * cores };
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    return t;
}

class Oversubscription : public Lesson {
public:
    std::string name() const override { return "oversubscription"; }
    std::string title() const override { return "Oversubscription"; }
    std::string summary() const override
    {
        return "more threads than cores: no more throughput, and descheduled threads stall every region";
    }

    std::vector<Step> plan(const LessonOptions& options) const override
    {
        const int cores = planCores(options);
        const std::vector<int> threads = threadCounts(cores);
        const int tokens = options.quick ? 12 : 48;
        RunRequest workload = lessonRun({ kLongPrompt }, tokens, cores);
        const std::string list = std::to_string(threads.front()) + " to " + std::to_string(threads.back());
        RunRequest most = workload;
        most.scheduler.threads = threads.back();
        return {
            sweepStep("decode timed on " + list + " threads", {},
                lessonSweep(workload, threads, options.quick ? 1 : 5, options.quick ? 0 : 1)),
            runStep("one traced run on " + std::to_string(cores) + " threads (one per core)", {}, workload),
            runStep("one traced run on " + std::to_string(threads.back()) + " threads (time-shared)", {}, most),
        };
    }

    Measured measure(const std::vector<StepResult>& results, const MachinePeaks& machine) const override
    {
        const StrategySweep& sweep = strategyAt(results, 0, Strategy::IntraOp);
        const RunReport& fit = reportAt(results, 1);
        const RunReport& over = reportAt(results, 2);
        Measured m;
        m.add("cores", machine.cores, "", 0);
        m.add("threads_fit", fit.threads, "", 0);
        m.add("threads_most", over.threads, "", 0);
        double best = 0;
        for (const ScalingPoint& p : sweep.decodeScaling.points) {
            const double tps = medianTokensPerSecond(sweep.decodeScaling, p.threads, sweep.generatedTokens);
            m.add("threads_" + std::to_string(p.threads), p.threads, "", 0);
            m.add("decode_tps_" + std::to_string(p.threads), tps, "tok/s", 0);
            if (p.threads <= machine.cores)
                best = std::max(best, tps);
        }
        const double most = medianTokensPerSecond(sweep.decodeScaling, over.threads, sweep.generatedTokens);
        m.add("decode_tps_best_fit", best, "tok/s", 0);
        m.add("most_vs_best", best > 0 ? most / best : 0.0, "×", 2);
        const TimeBreakdown& a = fit.analysis.decode;
        const TimeBreakdown& b = over.analysis.decode;
        m.add("busy_share_fit", laneShare(a.busyNs, a), "%", 0);
        m.add("busy_share_most", laneShare(b.busyNs, b), "%", 0);
        // Time-shared threads are preempted by design: fork/join and preemption together are the point here.
        m.add("overhead_share_most", laneShare(b.idle.overhead + b.idle.disturbed, b), "%", 0);
        m.add("imbalance_share_most", laneShare(b.idle.imbalance, b), "%", 0);
        m.add("serial_share_most", laneShare(b.idle.serial, b), "%", 0);
        m.add("overhead_per_region_fit_us", meanOverheadAndPreemptionPerRegionUs(a), "µs", 1);
        m.add("overhead_per_region_most_us", meanOverheadAndPreemptionPerRegionUs(b), "µs", 1);
        m.add("background_cores", stepAt(results, 0).sweep.backgroundLoad.otherCores, "", 1);
        return m;
    }

    Explanation explain(const Measured& m) const override
    {
        Explanation e;
        e.contradicts = m.value("most_vs_best") > 1.05;
        std::vector<std::string> counts, rates;
        for (const Measurement& v : m.values) {
            if (v.name.rfind("decode_tps_", 0) == 0 && v.name != "decode_tps_best_fit")
                rates.push_back(v.name);
            if (v.name.rfind("threads_", 0) == 0 && v.name != "threads_fit" && v.name != "threads_most")
                counts.push_back(v.name);
        }
        std::string t = "This machine has " + fillText(m, "{cores} cores. Decode on ") + joinTexts(m, counts)
            + " threads ran at " + joinTexts(m, rates) + ". ";
        t += fillText(m,
                 "On {threads_most} threads it reached {most_vs_best} the best rate with at most one thread per core")
            + (e.contradicts ? ", although the extra threads can only take turns on the same cores. "
                             : ": the extra threads only take turns on the same cores. ");
        t += fillText(m,
            "And a parallel region ends only when its last thread is done, and with more threads than cores some "
            "are always waiting for a core: on {threads_most} threads the lanes were busy {busy_share_most} of the "
            "time (against {busy_share_fit} on {threads_fit}), regions' time beyond their busiest lane's work "
            "(fork/join, and threads preempted mid-region) took {overhead_share_most} and imbalance "
            "{imbalance_share_most}, and that time per region grew from {overhead_per_region_fit_us} to "
            "{overhead_per_region_most_us} on average. ");
        if (e.contradicts) {
            t += kContradictionOpening;
            t += "more threads than cores ran faster here";
            t += m.value("background_cores") >= kBusyCores
                ? fillText(m,
                    "; other processes kept {background_cores} cores busy, and extra threads win a larger "
                    "share of a busy machine from them.")
                : ", which happens when the threads on the cores were stalled anyway (waiting for memory).";
        } else {
            t += "Use at most one thread per core for work that synchronises often.";
        }
        e.text = finishText(std::move(t), m, e.contradicts);
        e.lookAt = { Focus::SpeedupChart, Focus::Timeline, Focus::WhyPanel };
        e.chartPhase = ChartPhase::Decode; // its sweep figures are decode's
        e.lookAtText = "The speedup chart flattens or falls past the cores; in the oversubscribed timeline, look for "
                       "lanes that stop mid-region while the others wait (preemption gaps).";
        return e;
    }
};

} // namespace

const Lesson& oversubscriptionLesson()
{
    static const Oversubscription lesson;
    return lesson;
}

} // namespace engine::lessons
