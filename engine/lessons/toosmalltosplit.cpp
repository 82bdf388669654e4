// Too small to split: the tiny synthetic model on one and two threads. Its matrices are so small that a parallel
// region holds a few microseconds of work per thread, about what it costs to fork the threads and join them, so a
// second thread gains little or nothing, or slows it down.
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lessonset.h"
#include "engine/lessons/lessonsupport.h"

namespace engine::lessons {

namespace {

class TooSmallToSplit : public Lesson {
public:
    std::string name() const override { return "too-small-to-split"; }
    std::string title() const override { return "Too small to split"; }
    std::string summary() const override
    {
        return "the tiny model on 1 and 2 threads: regions of a few microseconds cost as much to share as they save";
    }

    std::vector<Step> plan(const LessonOptions& options) const override
    {
        const RunRequest workload = lessonRun({ kLongPrompt }, options.quick ? 16 : 128, 2);
        return {
            sweepStep("the tiny model timed on 1 and 2 threads", tinyModel(),
                lessonSweep(workload, { 1, 2 }, options.quick ? 1 : 7, options.quick ? 0 : 1)),
            runStep("one traced run on 2 threads: work and overhead per region", tinyModel(), workload),
        };
    }

    Measured measure(const std::vector<StepResult>& results, const MachinePeaks&) const override
    {
        const StrategySweep& sweep = strategyAt(results, 0, Strategy::IntraOp);
        const RunReport& report = reportAt(results, 1);
        const TimeBreakdown& decode = report.analysis.decode;
        Measured m;
        m.add("threads_one", 1, "", 0);
        m.add("threads_two", 2, "", 0);
        m.add("decode_tps_1", medianTokensPerSecond(sweep.decodeScaling, 1, sweep.generatedTokens), "tok/s", 0);
        m.add("decode_tps_2", medianTokensPerSecond(sweep.decodeScaling, 2, sweep.generatedTokens), "tok/s", 0);
        m.add("decode_speedup", pointAt(sweep.decodeScaling, 2).speedup, "×", 2);
        m.add("work_per_region_us", workPerRegionUs(decode), "µs", 1);
        m.add("overhead_per_region_us", overheadPerRegionUs(decode), "µs", 1);
        m.add("overhead_share", laneShare(decode.idle.overhead, decode), "%", 0);
        m.add("fork_join_regions", double(decode.undisturbedPeriods), "", 0);
        m.add("preempted_regions", double(decode.disturbedPeriods), "", 0);
        m.add("preempted_share", laneShare(decode.idle.disturbed, decode), "%", 0);
        m.add("busy_share", laneShare(decode.busyNs, decode), "%", 0);
        m.add("serial_share", laneShare(decode.idle.serial, decode), "%", 0);
        m.add("imbalance_share", laneShare(decode.idle.imbalance, decode), "%", 0);
        m.add("regions_per_token", report.decodeTokens > 0 ? double(decode.regions) / report.decodeTokens : 0.0, "", 0);
        m.add("background_cores", stepAt(results, 0).sweep.backgroundLoad.otherCores, "", 1);
        return m;
    }

    Explanation explain(const Measured& m) const override
    {
        Explanation e;
        const double speedup = m.value("decode_speedup");
        e.contradicts = speedup >= 1.3;
        std::string t = fillText(m,
            "The tiny model decoded {decode_tps_1} on {threads_one} thread and {decode_tps_2} on {threads_two}: "
            "{decode_speedup} as fast. ");
        t += speedup < 0.97 ? "The second thread made it slower. "
                            : (speedup < 1.3 ? "The second thread barely helped. " : "");
        t += fillText(m,
            "Each of its {regions_per_token} parallel regions per token gives every thread only "
            "{work_per_region_us} of work, while forking and joining the threads costs {overhead_per_region_us} per "
            "region (the median of {fork_join_regions} regions). A region that short is over before the second thread "
            "is properly under way, so the threads "
            "spend their time waiting rather than working: fork/join overhead takes {overhead_share} of the thread "
            "time, one thread waiting for the other (imbalance) {imbalance_share}, serial sections (the sampler, "
            "norms, residual adds, RoPE, quantisation) {serial_share}, and the threads are busy only {busy_share} of "
            "it. ");
        if (m.value("preempted_regions") > 0)
            t += fillText(m,
                "Another {preempted_regions} regions were stretched far beyond their work, most likely a thread "
                "preempted by the OS: their {preempted_share} of the thread time is counted apart, not as fork/join. ");
        if (e.contradicts) {
            t += kContradictionOpening;
            t += "the second thread still gave a clear gain here, so on this machine the work per region outweighs "
                 "its overhead";
            t += m.value("background_cores") >= kBusyCores ? fillText(m,
                     " (other processes kept {background_cores} cores busy, so the one-thread timings may "
                     "have been slowed more than the two-thread ones).")
                                                           : ".";
        } else {
            t += "Splitting work pays only when each piece is much larger than the cost of handing it out.";
        }
        e.text = finishText(std::move(t), m, e.contradicts);
        e.lookAt = { Focus::Timeline, Focus::WhyPanel };
        e.lookAtText = "Zoom the timeline into one decode token: chunks a few microseconds wide, separated by gaps "
                       "as wide as themselves; the Why panel shows the overhead share.";
        return e;
    }

private:
    static ModelChoice tinyModel() { return { "tiny", std::nullopt }; }
};

} // namespace

const Lesson& tooSmallToSplitLesson()
{
    static const TooSmallToSplit lesson;
    return lesson;
}

} // namespace engine::lessons
