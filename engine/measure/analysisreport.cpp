#include "engine/measure/analysisreport.h"

#include "engine/model/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace engine {

namespace {

double ms(int64_t ns) { return double(ns) / 1e6; }

nlohmann::json phaseJson(const TimeBreakdown& t, int tokens)
{
    return {
        { "tokens", tokens },
        { "tps", t.wallNs > 0 ? tokens * 1e9 / double(t.wallNs) : 0.0 },
        { "wall_ms", ms(t.wallNs) },
        { "lanes", t.lanes },
        { "lane_ms", ms(t.laneNs) },
        { "busy_ms", ms(t.busyNs) },
        { "serial_ms", ms(t.serialNs) },
        { "parallel_ms", ms(t.parallelNs) },
        { "untraced_ms", ms(t.untracedNs) },
        { "concurrent_ms", ms(t.concurrentNs) },
        { "idle_ms",
            {
                { "total", ms(t.idle.total()) },
                { "imbalance", ms(t.idle.imbalance) },
                { "overhead", ms(t.idle.overhead) },
                { "serial", ms(t.idle.serial) },
                { "untraced", ms(t.idle.untraced) },
                { "disturbed", ms(t.idle.disturbed) },
            } },
        { "serial_fraction", t.serialFraction() },
        { "regions", t.regions },
        { "task_periods", t.taskPeriods },
        { "undisturbed_regions", t.undisturbedPeriods },
        { "disturbed_regions", t.disturbedPeriods },
        { "overhead_per_region_us", t.overheadPerRegionNs() / 1e3 },
    };
}

std::string format(const char* fmt, double a, double b = 0, double c = 0, double d = 0)
{
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
    return buf;
}

double share(int64_t part, int64_t whole) { return whole > 0 ? 100.0 * double(part) / double(whole) : 0.0; }

// The serial ops of a phase that took the most time, as "sampling, rmsnorm".
std::string topSerialOps(const std::vector<OpStats>& ops, Phase phase)
{
    std::vector<const OpStats*> serial;
    for (const OpStats& s : ops)
        if (s.phase == phase && s.serialChunks > 0) // ran as serial sections (RoPE does only below 16 tokens)
            serial.push_back(&s);
    if (serial.empty()) // a report saved before serial sections were counted: the ops that were always serial then
        for (const OpStats& s : ops)
            if (s.phase == phase
                && (s.op == Op::Sampling || s.op == Op::RmsNorm || s.op == Op::Rope || s.op == Op::Embed
                    || s.op == Op::Serial || s.op == Op::Tokenize))
                serial.push_back(&s);
    // By their time in serial sections (the norms are parallel regions in prefill but for the last row's); a report
    // saved before that time was kept has only the busy time.
    auto serialTime = [](const OpStats* s) { return s->serialNs > 0 ? s->serialNs : s->busyNs; };
    std::sort(serial.begin(), serial.end(),
        [&](const OpStats* a, const OpStats* b) { return serialTime(a) > serialTime(b); });
    std::string out;
    for (size_t i = 0; i < serial.size() && i < 3; ++i)
        out += (i ? ", " : "") + std::string(opName(serial[i]->op));
    return out;
}

// The idle causes, serial fraction, Amdahl limit and fork/join cost of a phase with serial sections and regions.
std::string intraOpReading(const TimeBreakdown& t, const std::vector<OpStats>& ops, Phase phase)
{
    std::string s;
    if (t.idle.total() > 0) {
        s += format(" (serial sections %.0f%%, fork/join overhead %.0f%%, imbalance %.0f%%",
            share(t.idle.serial, t.laneNs), share(t.idle.overhead, t.laneNs), share(t.idle.imbalance, t.laneNs));
        s += format(", untraced %.0f%%", share(t.idle.untraced, t.laneNs));
        if (t.disturbedPeriods > 0)
            s += format(", regions stretched by preemption %.0f%%", share(t.idle.disturbed, t.laneNs));
        s += ").";
    } else {
        s += ".";
    }
    const double f = t.serialFraction();
    s += format(" %.1f%% of its work is serial", 100.0 * f);
    const std::string top = topSerialOps(ops, phase);
    if (!top.empty())
        s += " (" + top + ")";
    if (f > 0)
        s += format(", so by Amdahl's law no thread count can make it more than %.1f× faster.", 1.0 / f);
    else
        s += ".";
    if (t.undisturbedPeriods > 0)
        s += format(" Its parallel regions cost a median %.1f µs of fork/join each beyond their busiest lane's work "
                    "(over %.0f regions).",
            t.overheadPerRegionNs() / 1e3, double(t.undisturbedPeriods));
    else if (t.regions > 0 && t.disturbedPeriods == 0 && t.idle.overhead > 0) // saved before disturbed regions
        s += format(" Its %.0f parallel regions cost %.1f µs of fork/join each on average beyond their busiest "
                    "lane's work (preempted regions included: this report predates telling them apart).",
            double(t.regions), double(t.idle.overhead) / double(std::max(1, t.lanes)) / double(t.regions) / 1e3);
    if (t.disturbedPeriods > 0)
        s += format(t.disturbedPeriods == 1
                ? " %.0f more was stretched far beyond its work (at least %.0f× the median region's overhead and "
                  "%.0f µs), most likely a lane preempted by the OS on a busy machine: counted apart, not as "
                  "fork/join."
                : " %.0f more were stretched far beyond their work (at least %.0f× the median region's overhead and "
                  "%.0f µs), most likely a lane preempted by the OS on a busy machine: counted apart, not as "
                  "fork/join.",
            double(t.disturbedPeriods), TimeBreakdown::kDisturbedFactor, TimeBreakdown::kDisturbedMinNs / 1e3);
    return s;
}

} // namespace

RunReport buildRunReport(
    const RunResult& run, const Model& model, const MachinePeaks& machine, const std::vector<int>& predictThreads)
{
    RunReport r;
    r.analysis = analyzeRun(run);
    r.ops = opStats(run, model);
    r.machine = machine;
    r.prediction = predictScaling(run, model, machine, predictThreads, PredictionTarget::WiderMachine);
    r.threads = run.threads;
    r.strategy = run.strategy;
    r.sequences = std::max<int>(1, int(run.sequences.size()));
    r.prefillTokens = run.metrics.promptTokens;
    for (const auto& s : run.sequences)
        r.decodeTokens += std::max(0, s.stats.generatedTokens - 1);
    return r;
}

nlohmann::json toJson(const RunReport& r)
{
    const RunAnalysis& a = r.analysis;
    nlohmann::json j;
    j["wall_ms"] = ms(a.total.wallNs);
    j["threads"] = r.threads;
    j["strategy"] = strategyName(r.strategy);
    j["sequences"] = r.sequences;
    j["serial_fraction"] = a.total.serialFraction();
    j["phases"] = {
        { "prefill", phaseJson(a.prefill, r.prefillTokens) },
        { "decode", phaseJson(a.decode, r.decodeTokens) },
        { "total", phaseJson(a.total, r.prefillTokens + r.decodeTokens) },
    };
    nlohmann::json ops = nlohmann::json::array();
    for (const OpStats& s : r.ops)
        ops.push_back({
            { "op", opName(s.op) },
            { "phase", phaseName(s.phase) },
            { "calls", s.calls },
            { "chunks", s.chunks },
            { "serial_chunks", s.serialChunks },
            { "serial_ms", ms(s.serialNs) },
            { "ms", ms(s.elapsedNs) },
            { "busy_ms", ms(s.busyNs) },
            { "bytes", s.bytes },
            { "flops", s.flops },
            { "gbps", s.gbps() },
            { "gflops", s.gflops() },
            { "intensity", s.intensity() },
            { "bound", boundName(s.bound(r.machine, r.threads)) },
            { "ceiling_share", s.ceilingShare(r.machine, r.threads) },
        });
    j["ops"] = ops;
    const MachinePeaks& m = r.machine;
    j["machine"] = {
        { "cpu", m.cpu },
        { "cores", m.cores },
        { "bandwidth_gbps", m.bandwidthGBpsAll },
        { "bandwidth_gbps_1", m.bandwidthGBps1 },
        { "peak_gflops", m.peakGflopsAll },
        { "peak_gflops_1", m.peakGflops1 },
        { "fork_join_ns_1", m.forkJoinNs1 },
        { "fork_join_ns_all", m.forkJoinNsAll },
        { "fork_join_ns_over", m.forkJoinNsOver },
        { "fma_kernel", m.fmaKernel },
        { "from_cache", m.fromCache },
    };
    const ScalingPrediction& p = r.prediction;
    nlohmann::json points = nlohmann::json::array();
    double base = 0;
    for (const PredictionPoint& pt : p.points)
        if (pt.threads == 1)
            base = pt.prefillMs + pt.decodeMs;
    for (const PredictionPoint& pt : p.points) {
        const double total = pt.prefillMs + pt.decodeMs;
        points.push_back({
            { "threads", pt.threads },
            { "prefill_tps", pt.prefillTokensPerSecond },
            { "decode_tps", pt.decodeTokensPerSecond },
            { "speedup", base > 0 && total > 0 ? base / total : 0.0 },
            { "prefill_speedup", pt.prefillSpeedup },
            { "decode_speedup", pt.decodeSpeedup },
            { "beyond_cores", pt.beyondCores },
        });
    }
    j["prediction"] = {
        { "available", p.available },
        { "reason", p.reason },
        { "target", predictionTargetName(p.target) },
        { "measured_threads", p.measuredThreads },
        { "model",
            "replay of this run's regions on P lanes: serial time kept, each region max(work / P, longest chunk, "
            "bytes / bandwidth) plus its overhead shifted by the measured fork/join cost; a machine with P cores "
            "like these and this machine's memory bandwidth (docs/ARCHITECTURE.md)" },
        { "stretched_regions_left_out", p.stretchedRegionsLeftOut },
        { "stretched_regions_note",
            "regions stretched far beyond the usual overhead (preempted, most likely) are replayed with the other "
            "regions' median overhead: their stretch is not extrapolated as fork/join cost" },
        { "points", points },
    };
    return j;
}

std::vector<std::string> readRunReport(const RunReport& r)
{
    std::vector<std::string> lines;
    const RunAnalysis& a = r.analysis;
    if (!a.valid) {
        lines.push_back("The run was not traced, so there is nothing to analyse.");
        return lines;
    }
    struct Named {
        const char* name;
        const TimeBreakdown* t;
        Phase phase;
        int tokens;
    };
    for (const Named& n : { Named { "Prefill", &a.prefill, Phase::Prefill, r.prefillTokens },
             Named { "Decode", &a.decode, Phase::Decode, r.decodeTokens } }) {
        const TimeBreakdown& t = *n.t;
        if (t.wallNs <= 0)
            continue;
        std::string s = std::string(n.name) + ": " + format("%.2f ms on %.0f lane(s); ", ms(t.wallNs), t.lanes)
            + format("%.0f%% of the lane-time is idle", share(t.idle.total(), t.laneNs));
        if (t.taskPeriods > 0) {
            // Request-parallel or pipeline: one fork of the sequences per phase; nothing in it is a serial section.
            if (t.idle.total() > 0) {
                s += format(
                    " (imbalance %.0f%%: lanes with less work than the busiest one; waiting %.0f%%: the busiest "
                    "lane idle while another worked",
                    share(t.idle.imbalance, t.laneNs), share(t.idle.overhead, t.laneNs));
                s += format("; untraced %.0f%%).", share(t.idle.untraced, t.laneNs));
            } else {
                s += ".";
            }
            const int most = std::min(r.sequences, t.lanes);
            s += format(" Two or more lanes worked at once for %.0f%% of it.", share(t.concurrentNs, t.wallNs));
            if (r.strategy == Strategy::Pipeline)
                s += format(
                    " The pipeline strategy passes each sequence's token through the layer stages in order, one "
                    "token per stage at a time, so at most %.0f lane(s) can work at once (one per sequence in "
                    "flight: %.0f on %.0f lane(s)); a lane idles for want of a token at a stage, not for a "
                    "serial section, so no serial fraction or Amdahl limit is given: this strategy's speedup "
                    "is bounded by the sequences in flight and the stages.",
                    most, r.sequences, t.lanes);
            else
                s += format(" The request strategy runs each prompt whole on one lane, so at most %.0f lane(s) can "
                            "work at once (%.0f prompt(s) on %.0f lane(s)); a lane working alone runs its own prompt, "
                            "not a section the others wait for, so no serial fraction or Amdahl limit is given: this "
                            "strategy's speedup is bounded by the number of prompts.",
                    most, r.sequences, t.lanes);
        } else {
            s += intraOpReading(t, r.ops, n.phase);
        }
        lines.push_back(s);

        const OpStats* top1 = nullptr;
        int64_t phaseBusy = 0;
        for (const OpStats& o : r.ops)
            if (o.phase == n.phase) {
                phaseBusy += o.busyNs;
                if (o.modelled && (!top1 || o.busyNs > top1->busyNs))
                    top1 = &o;
            }
        if (top1 && r.machine.valid()) {
            const Bound b = top1->bound(r.machine, r.threads);
            std::string op = std::string(opName(top1->op)) + " takes "
                + format("%.0f%% of the work", share(top1->busyNs, phaseBusy))
                + format(" at %.1f GB/s and %.1f GFLOP/s (%.2f FLOP/byte): ", top1->gbps(), top1->gflops(),
                    top1->intensity());
            const double ceiling = top1->ceilingShare(r.machine, r.threads);
            if (b == Bound::Memory && ceiling > 1.05)
                op += format("memory-bound by its intensity, yet %.0f%% of the %.1f GB/s this many cores read from "
                             "memory: its data comes from the caches (the probe reads a buffer far larger than them).",
                    100.0 * ceiling, r.machine.bandwidthGBps(r.threads));
            else if (b == Bound::Memory)
                op += format("memory-bound here, at %.0f%% of the %.1f GB/s this many cores can read.", 100.0 * ceiling,
                    r.machine.bandwidthGBps(r.threads));
            else
                op += format("compute-bound here, at %.0f%% of the %.1f GFLOP/s these cores can do.", 100.0 * ceiling,
                    r.machine.peakGflops(r.threads));
            lines.push_back("  " + op);
        }
    }
    const ScalingPrediction& p = r.prediction;
    if (!p.available) {
        lines.push_back("No scaling prediction: " + p.reason + ".");
        return lines;
    }
    const PredictionPoint* wide = nullptr;
    for (const PredictionPoint& pt : p.points)
        if (pt.threads == 16 || (!wide && pt.threads > r.machine.cores))
            wide = &pt;
    if (wide)
        lines.push_back(std::string(p.memoryCapped ? ""
                                                   : "The weights fit this machine's largest cache, so the "
                                                     "prediction puts no memory-bandwidth cap on them. ")
            + format("Predicted, not measured: a machine with %.0f cores like these (and this memory "
                     "bandwidth) would decode at about %.0f tokens/s, %.1f× one core",
                wide->threads, wide->decodeTokensPerSecond, wide->decodeSpeedup)
            + format(", and prefill at about %.0f tokens/s, %.1f× one core.", wide->prefillTokensPerSecond,
                wide->prefillSpeedup));
    if (p.stretchedRegionsLeftOut > 0)
        lines.push_back(format(p.stretchedRegionsLeftOut == 1
                ? "The prediction leaves out the stretch of %.0f region (preempted, most likely): it is replayed "
                  "with the other regions' median fork/join overhead."
                : "The prediction leaves out the stretch of %.0f regions (preempted, most likely): they are "
                  "replayed with the other regions' median fork/join overhead.",
            double(p.stretchedRegionsLeftOut)));
    return lines;
}

} // namespace engine
