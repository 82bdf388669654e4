// Prefill vs decode: the same model and prompt on one and two threads. Prefill pushes every prompt token through
// each matmul at once, so each parallel region has plenty of work; decode pushes one token, so its regions are
// small and many, and the fork/join cost (and, for large models, the shared memory bandwidth) stops it scaling.
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lessonset.h"
#include "engine/lessons/lessonsupport.h"

namespace engine::lessons {

namespace {

class PrefillVsDecode : public Lesson {
public:
    std::string name() const override { return "prefill-vs-decode"; }
    std::string title() const override { return "Prefill vs decode"; }
    std::string summary() const override
    {
        return "the same prompt on 1 and 2 threads: prefill scales, decode hits the synchronisation or memory wall";
    }

    std::vector<Step> plan(const LessonOptions& options) const override
    {
        const int tokens = options.quick ? 16 : 96;
        const RunRequest workload = lessonRun({ kLongPrompt }, tokens, 2);
        return {
            sweepStep("prefill and decode timed on 1 and 2 threads", {},
                lessonSweep(workload, { 1, 2 }, options.quick ? 1 : 5, options.quick ? 0 : 1)),
            runStep("one traced run on 2 threads: where decode's time goes", {}, workload),
        };
    }

    Measured measure(const std::vector<StepResult>& results, const MachinePeaks& machine) const override
    {
        const StrategySweep& sweep = strategyAt(results, 0, Strategy::IntraOp);
        const RunReport& report = reportAt(results, 1);
        Measured m;
        m.add("threads_one", 1, "", 0);
        m.add("threads_two", 2, "", 0);
        m.add("prompt_tokens", sweep.promptTokens, "", 0);
        m.add("prefill_tps_1", medianTokensPerSecond(sweep.prefillScaling, 1, sweep.promptTokens), "tok/s", 0);
        m.add("prefill_tps_2", medianTokensPerSecond(sweep.prefillScaling, 2, sweep.promptTokens), "tok/s", 0);
        m.add("decode_tps_1", medianTokensPerSecond(sweep.decodeScaling, 1, sweep.generatedTokens), "tok/s", 0);
        m.add("decode_tps_2", medianTokensPerSecond(sweep.decodeScaling, 2, sweep.generatedTokens), "tok/s", 0);
        m.add("prefill_speedup", pointAt(sweep.prefillScaling, 2).speedup, "×", 2);
        m.add("decode_speedup", pointAt(sweep.decodeScaling, 2).speedup, "×", 2);
        const TimeBreakdown& prefill = report.analysis.prefill;
        const TimeBreakdown& decode = report.analysis.decode;
        m.add("prefill_work_per_region_us", workPerRegionUs(prefill), "µs", 1);
        m.add("prefill_overhead_per_region_us", overheadPerRegionUs(prefill), "µs", 1);
        m.add("prefill_fork_join_regions", double(prefill.undisturbedPeriods), "", 0);
        m.add("prefill_preempted_regions", double(prefill.disturbedPeriods), "", 0);
        m.add("decode_work_per_region_us", workPerRegionUs(decode), "µs", 1);
        m.add("decode_overhead_per_region_us", overheadPerRegionUs(decode), "µs", 1);
        m.add("decode_fork_join_regions", double(decode.undisturbedPeriods), "", 0);
        m.add("decode_preempted_regions", double(decode.disturbedPeriods), "", 0);
        m.add("decode_preempted_share", laneShare(decode.idle.disturbed, decode), "%", 0);
        m.add("decode_regions_per_token", report.decodeTokens > 0 ? double(decode.regions) / report.decodeTokens : 0.0,
            "", 0);
        m.add("decode_overhead_share", laneShare(decode.idle.overhead, decode), "%", 0);
        m.add("decode_imbalance_share", laneShare(decode.idle.imbalance, decode), "%", 0);
        m.add("decode_serial_share", laneShare(decode.idle.serial, decode), "%", 0);
        m.add("decode_memory_bound_share", memoryBoundShare(report, Phase::Decode), "%", 0);
        m.add("weights_mib", double(stepAt(results, 0).modelWeightBytes) / (1024.0 * 1024.0), "MiB", 0);
        m.add("llc_mib", double(machine.lastLevelCacheBytes) / (1024.0 * 1024.0), "MiB", 0);
        m.add("background_cores", stepAt(results, 0).sweep.backgroundLoad.otherCores, "", 1);
        return m;
    }

    Explanation explain(const Measured& m) const override
    {
        Explanation e;
        const double prefillSpeedup = m.value("prefill_speedup");
        const double decodeSpeedup = m.value("decode_speedup");
        e.contradicts = !(prefillSpeedup >= 1.2 && prefillSpeedup > decodeSpeedup + 0.05);
        std::string t = fillText(m,
            "On {threads_two} threads prefill ran {prefill_speedup} as fast as on {threads_one} ({prefill_tps_1} → "
            "{prefill_tps_2}) and decode {decode_speedup} ({decode_tps_1} → {decode_tps_2}). ");
        t += fillText(m,
            "Prefill pushes all {prompt_tokens} prompt tokens through each matmul at once, so each parallel region "
            "gives every thread {prefill_work_per_region_us} of work against {prefill_overhead_per_region_us} of "
            "fork/join overhead (the median of {prefill_fork_join_regions} regions). Decode pushes one token: "
            "{decode_regions_per_token} regions per token, each with {decode_work_per_region_us} of work per thread "
            "against {decode_overhead_per_region_us} of overhead (median of {decode_fork_join_regions}). "
            "Of decode's thread time, fork/join overhead takes {decode_overhead_share}, threads waiting for each "
            "other in regions of only a few blocks (imbalance) {decode_imbalance_share} and serial sections (the "
            "sampler, norms, residual adds, RoPE, quantisation) {decode_serial_share}. ");
        if (m.value("prefill_preempted_regions") > 0 || m.value("decode_preempted_regions") > 0)
            t += fillText(m,
                "Regions stretched far beyond their work, most likely a thread preempted by the OS on a busy machine, "
                "are counted apart, not as fork/join: {prefill_preempted_regions} in prefill and "
                "{decode_preempted_regions} in decode ({decode_preempted_share} of decode's thread time). ");
        const bool fitsCache = m.value("llc_mib") > 0 && m.value("weights_mib") < m.value("llc_mib");
        if (m.value("decode_memory_bound_share") < 50)
            t += fillText(m,
                "Only {decode_memory_bound_share} of decode's op time is in memory-bound ops: for this model its small "
                "regions and serial sections, not the memory wall, are what hold decode back. ");
        else if (fitsCache)
            t += fillText(m,
                "{decode_memory_bound_share} of decode's op time is in ops with too few FLOPs per byte to be limited "
                "by arithmetic (memory-bound on the roofline), but this model's {weights_mib} of weights fit the "
                "{llc_mib} cache, so they come from the cache: its small regions and serial sections, not the memory "
                "wall, are what hold decode back here. ");
        else
            t += fillText(m,
                "{decode_memory_bound_share} of decode's op time is in memory-bound ops and the weights "
                "({weights_mib}) do not fit the {llc_mib} cache, so the threads also compete for the same memory "
                "bandwidth. ");
        if (e.contradicts) {
            t += kContradictionOpening;
            t += prefillSpeedup < 0.97 ? "prefill got slower with the second thread"
                : prefillSpeedup < 1.2 ? "prefill barely gained from the second thread"
                                       : "decode scaled as well as prefill";
            t += m.value("background_cores") >= kBusyCores
                ? fillText(m,
                    ", and other processes kept {background_cores} cores busy meanwhile, which disturbs "
                    "timings; rerun it on a quiet machine.")
                : ". Rerun it; if it persists, this machine's second core is not giving prefill more work time.";
        }
        e.text = finishText(std::move(t), m, e.contradicts);
        e.lookAt = { Focus::Timeline, Focus::WhyPanel, Focus::SpeedupChart };
        e.lookAtText = "In the timeline, compare the wide prefill chunks at the start with the thin decode chunks "
                       "and the gaps between them; the Why panel splits the idle time by cause.";
        return e;
    }
};

} // namespace

const Lesson& prefillVsDecodeLesson()
{
    static const PrefillVsDecode lesson;
    return lesson;
}

} // namespace engine::lessons
