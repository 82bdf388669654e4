// analyze: one traced run explained: where the time went per phase, the roofline per op, the machine's ceilings,
// and the scaling predicted past this machine.
#include "app/cli/commands.h"
#include "app/cli/report.h"

#include "engine/measure/analysisreport.h"
#include "engine/measure/statistics.h"
#include "engine/measure/traceexport.h"
#include "session/sessionfile.h"
#include "session/tokenrecorder.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace cli {

namespace {

void printPhases(const engine::RunReport& r)
{
    std::printf("\n%-8s %9s %6s %8s %9s %10s %9s %10s %8s  %s\n", "phase", "wall ms", "busy", "serial", "overhead",
        "imbalance", "untraced", "preempted", "regions", "serial fraction");
    auto row = [](const char* name, const engine::TimeBreakdown& t) {
        auto pct = [&](int64_t v) { return t.laneNs > 0 ? 100.0 * double(v) / double(t.laneNs) : 0.0; };
        std::printf("%-8s %9.2f %5.0f%% %7.0f%% %8.0f%% %9.0f%% %8.0f%% %9.0f%% %8llu  %.1f%%\n", name,
            double(t.wallNs) / 1e6, pct(t.busyNs), pct(t.idle.serial), pct(t.idle.overhead), pct(t.idle.imbalance),
            pct(t.idle.untraced), pct(t.idle.disturbed), (unsigned long long)t.regions, 100.0 * t.serialFraction());
    };
    row("prefill", r.analysis.prefill);
    row("decode", r.analysis.decode);
    row("total", r.analysis.total);
    std::printf("(shares of the lane-time, lanes x wall; busy + serial + overhead + imbalance + untraced + preempted = "
                "100%%)\n");
    if (engine::taskParallel(r.strategy))
        std::printf("(%s: each phase is one fork of the sequences' tasks; overhead = the busiest "
                    "lane waiting while another works; no serial sections, so no serial fraction in a phase)\n",
            engine::strategyName(r.strategy));
}

void printOps(const engine::RunReport& r)
{
    std::printf("\n%-8s %-12s %6s %9s %9s %9s %9s  %-8s %s\n", "phase", "op", "calls", "ms", "GB/s", "GFLOP/s",
        "FLOP/B", "bound", "of ceiling");
    for (const engine::OpStats& s : r.ops) {
        if (!s.modelled) {
            std::printf("%-8s %-12s %6llu %9.3f %9s %9s %9s  %-8s %s\n", engine::phaseName(s.phase),
                engine::opName(s.op), (unsigned long long)s.calls, double(s.elapsedNs) / 1e6, "-", "-", "-", "-", "-");
            continue;
        }
        std::printf("%-8s %-12s %6llu %9.3f %9.2f %9.2f %9.2f  %-8s %.0f%%\n", engine::phaseName(s.phase),
            engine::opName(s.op), (unsigned long long)s.calls, double(s.elapsedNs) / 1e6, s.gbps(), s.gflops(),
            s.intensity(), engine::boundName(s.bound(r.machine, r.threads)),
            100.0 * s.ceilingShare(r.machine, r.threads));
    }
}

void printMachine(const engine::MachinePeaks& m)
{
    std::printf("\nmachine: %s, %d logical cores (%s)\n", m.cpu.c_str(), m.cores,
        m.fromCache          ? "figures from the cache"
            : m.measuredBusy ? "measured now, while other processes used the CPUs: figures low, not cached"
                             : "measured now");
    std::printf("  read bandwidth %.1f GB/s on 1 core, %.1f GB/s on %d; FMA peak (%s) %.1f GFLOP/s on 1 core, %.1f on "
                "%d; empty region %.1f us on 1 thread, %.1f us on %d, %.1f us on %d (time-shared)\n",
        m.bandwidthGBps1, m.bandwidthGBpsAll, m.cores, m.fmaKernel.c_str(), m.peakGflops1, m.peakGflopsAll, m.cores,
        m.forkJoinNs1 / 1e3, m.forkJoinNsAll / 1e3, m.cores, m.forkJoinNsOver / 1e3, 4 * m.cores);
}

void printPrediction(const engine::ScalingPrediction& p)
{
    if (!p.available) {
        std::printf("\nno scaling prediction: %s\n", p.reason.c_str());
        return;
    }
    std::printf("\nPREDICTED (a model, not a measurement; from this %d-thread run, for a machine with P cores like "
                "these and this memory bandwidth):\n",
        p.measuredThreads);
    std::printf("%8s %14s %14s %10s %10s\n", "threads", "prefill tok/s", "decode tok/s", "prefill x", "decode x");
    for (const engine::PredictionPoint& pt : p.points)
        std::printf("%8d %14.1f %14.1f %10.2f %10.2f%s\n", pt.threads, pt.prefillTokensPerSecond,
            pt.decodeTokensPerSecond, pt.prefillSpeedup, pt.decodeSpeedup,
            pt.beyondCores ? "  (beyond this machine)" : "");
    if (p.stretchedRegionsLeftOut > 0)
        std::printf("(%d stretched region(s), preempted most likely, left out: replayed with the other regions' median "
                    "fork/join overhead)\n",
            p.stretchedRegionsLeftOut);
}

// Median prefill and decode tokens/s over `repeat` traced runs at `threads`, and the run of median wall time.
struct Measured {
    double prefillTps = 0;
    double decodeTps = 0;
    engine::RunResult medianRun;
};

Measured measure(const std::shared_ptr<const engine::Model>& model, engine::RunRequest request, int threads, int repeat)
{
    request.scheduler.threads = threads;
    request.trace = true;
    engine::Scheduler scheduler(request.scheduler);
    engine::executeRun(model, request, scheduler); // warm-up: first-touch of buffers, workers started
    std::vector<engine::RunResult> runs;
    std::vector<double> prefill, decode;
    for (int i = 0; i < repeat; ++i) {
        runs.push_back(engine::executeRun(model, request, scheduler));
        prefill.push_back(runs.back().metrics.prefillTokensPerSecond);
        decode.push_back(runs.back().metrics.decodeTokensPerSecond);
    }
    std::sort(runs.begin(), runs.end(),
        [](const engine::RunResult& a, const engine::RunResult& b) { return a.metrics.wallMs < b.metrics.wallMs; });
    Measured m;
    m.prefillTps = engine::median(prefill);
    m.decodeTps = engine::median(decode);
    m.medianRun = std::move(runs[runs.size() / 2]);
    return m;
}

double errorPercent(double predicted, double measured)
{
    return measured > 0 ? 100.0 * (predicted - measured) / measured : 0.0;
}

} // namespace

CLI::App* addAnalyze(CLI::App& app, AnalyzeOptions& o)
{
    auto* cmd = app.add_subcommand(
        "analyze", "run once with tracing and explain it: time breakdown, roofline per op, predicted scaling");
    o.model.add(cmd);
    o.parallel.add(cmd);
    o.workload.add(cmd);
    o.workload.addStrategy(cmd, false);
    cmd->add_option("--predict", o.predict, "thread counts to predict, comma-separated")->capture_default_str();
    cmd->add_option("--json", o.jsonOut, "write the analysis as JSON to this file");
    cmd->add_option("--trace", o.traceOut, "also write the run's Chrome trace to this file");
    cmd->add_option("--session-out", o.sessionOut,
        "also write a session file (run, trace and this analysis) that the window opens");
    cmd->add_flag("--append", o.appendSession,
        "with --session-out: add this run to that session (same model) instead of replacing it");
    cmd->add_option("--machine-cache", o.machineCache,
        "where the machine's measured ceilings are cached (default ~/.cache/llm-thread-playground/roofline.json)");
    cmd->add_flag("--remeasure", o.remeasure, "measure the machine's ceilings again instead of using the cache");
    cmd->add_option("--validate", o.validate,
        "also run at these thread counts (comma-separated) and compare with the prediction for this machine");
    cmd->add_option("--repeat", o.repeat, "runs per thread count when validating; medians are compared")
        ->capture_default_str();
    return cmd;
}

int runAnalyze(const AnalyzeOptions& o, const std::string& argv0)
{
    const auto schedulerOptions = o.parallel.options();
    const std::vector<int> predict = parseThreadList(o.predict);
    const std::vector<int> validate = o.validate.empty() ? std::vector<int> {} : parseThreadList(o.validate);
    if (o.repeat < 1 || o.repeat > 100)
        throw UsageError("--repeat must be between 1 and 100");
    o.workload.checkBeforeLoad(o.model); // usage errors before the model loads
    auto model = o.model.load(argv0);
    engine::RunRequest request = o.workload.request(*model);
    request.scheduler = schedulerOptions;
    request.trace = true;

    std::fprintf(stderr, "measuring the machine's ceilings (or reading them from the cache)...\n");
    const engine::MachinePeaks machine = engine::machinePeaks(o.machineCache, o.remeasure);
    engine::RunResult run;
    session::TokenRecorder recorder;
    if (validate.empty()) {
        engine::Scheduler scheduler(schedulerOptions);
        run = engine::executeRun(model, request, scheduler, &recorder);
    } else {
        // The run to replay is the median of several, like the runs it is compared with.
        run = measure(model, request, schedulerOptions.threads, o.repeat).medianRun;
    }
    const engine::RunReport report = engine::buildRunReport(run, *model, machine, predict);
    if (!o.sessionOut.empty()) {
        session::Session s;
        s.model = session::ModelRef::of(model->source(), model->config().name);
        s.settings = request;
        s.machine = engine::machineDescription();
        s.runs.push_back(recorder.record(request, run)); // validated runs are medians: their text, not tokens
        s.runs.back().report = report;
        writeSessionOut(o.sessionOut, std::move(s), o.appendSession);
    }

    std::printf("analyze: %s, %s, %d thread(s); %d prompt token(s), %d generated\n", model->source().c_str(),
        engine::strategyName(request.strategy), run.threads, run.metrics.promptTokens, run.metrics.generatedTokens);
    printPhases(report);
    printOps(report);
    printMachine(machine);
    printPrediction(report.prediction);
    std::printf("\n");
    for (const std::string& line : engine::readRunReport(report))
        std::printf("%s\n", line.c_str());

    nlohmann::json validation = nlohmann::json::array();
    if (!validate.empty()) {
        const engine::ScalingPrediction here
            = engine::predictScaling(run, *model, machine, validate, engine::PredictionTarget::ThisMachine);
        if (!here.available)
            throw UsageError("--validate: no prediction to check: " + here.reason);
        std::printf("\nVALIDATION: the prediction for this machine (time-shared past its %d cores) from the %d-thread "
                    "run, against measured runs (median of %d traced runs each)\n",
            machine.cores, run.threads, o.repeat);
        std::printf("%8s %12s %12s %8s %12s %12s %8s\n", "threads", "prefill pred", "measured", "error", "decode pred",
            "measured", "error");
        for (const engine::PredictionPoint& pt : here.points) {
            const Measured m = measure(model, request, pt.threads, o.repeat);
            const double pe = errorPercent(pt.prefillTokensPerSecond, m.prefillTps);
            const double de = errorPercent(pt.decodeTokensPerSecond, m.decodeTps);
            std::printf("%8d %12.1f %12.1f %7.1f%% %12.1f %12.1f %7.1f%%\n", pt.threads, pt.prefillTokensPerSecond,
                m.prefillTps, pe, pt.decodeTokensPerSecond, m.decodeTps, de);
            validation.push_back({ { "threads", pt.threads }, { "predicted_prefill_tps", pt.prefillTokensPerSecond },
                { "measured_prefill_tps", m.prefillTps }, { "prefill_error_percent", pe },
                { "predicted_decode_tps", pt.decodeTokensPerSecond }, { "measured_decode_tps", m.decodeTps },
                { "decode_error_percent", de } });
        }
    }

    if (!o.jsonOut.empty()) {
        nlohmann::json j = engine::toJson(report);
        j["model"] = model->source();
        if (!validate.empty())
            j["validation"] = validation;
        std::ofstream out(o.jsonOut, std::ios::trunc);
        out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        if (!out)
            throw std::runtime_error("cannot write '" + o.jsonOut + "'");
    }
    if (!o.traceOut.empty()) {
        engine::TraceMeta meta;
        meta.model = model->source();
        meta.threads = run.threads;
        meta.strategy = engine::strategyName(request.strategy);
        meta.partitioner = engine::partitionerName(request.scheduler.partitioner);
        engine::writeChromeTrace(o.traceOut, run.trace, meta);
    }
    return 0;
}

} // namespace cli
