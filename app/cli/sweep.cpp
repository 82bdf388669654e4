// sweep: the engine's sweep over thread counts and strategies, as a table and optional JSON/CSV files.
#include "app/cli/commands.h"
#include "app/cli/report.h"

#include "engine/measure/roofline.h"
#include "engine/measure/sweep.h"
#include "engine/measure/sweepexport.h"
#include "session/sessionfile.h"

#include <cstdio>

namespace cli {

CLI::App* addSweep(CLI::App& app, SweepOptions& o)
{
    auto* cmd = app.add_subcommand("sweep", "repeat a workload over thread counts and strategies; speedup, Amdahl fit");
    o.model.add(cmd);
    o.workload.add(cmd);
    o.workload.addStrategy(cmd, true);
    cmd->add_option("--threads,-t", o.threads, "comma-separated thread counts")->capture_default_str();
    o.parallel.addScheduling(cmd);
    cmd->add_option("--repeat,-r", o.repeat, "measured runs per point")->capture_default_str();
    cmd->add_option("--warmup", o.warmup, "unmeasured runs per point first")->capture_default_str();
    cmd->add_flag("--scaled", o.scaled, "grow the work with p: p copies of the prompts at p threads (Gustafson)");
    cmd->add_option("--json", o.jsonOut, "write the sweep as JSON to this file");
    cmd->add_option("--csv", o.csvOut, "write the sweep as CSV to this file");
    cmd->add_option("--predict", o.predict,
        "also predict intra-op scaling at these thread counts (e.g. 1,2,4,8,16,32,64) from a traced run: a model, "
        "labelled so; measures the machine's ceilings once");
    cmd->add_option("--session-out", o.sessionOut, "also write the sweep as a session file the window opens");
    cmd->add_flag("--append", o.appendSession,
        "with --session-out: add this sweep to that session (same model) instead of replacing it");
    cmd->add_option("--machine-cache", o.machineCache, "where the machine's measured ceilings are cached");
    return cmd;
}

int runSweep(const SweepOptions& o, const std::string& argv0)
{
    engine::SweepRequest sweep;
    sweep.threads = parseThreadList(o.threads);
    sweep.strategies = o.workload.strategies();
    sweep.repeat = o.repeat;
    sweep.warmup = o.warmup;
    sweep.scaledWork = o.scaled;
    const auto so = o.parallel.options();
    o.workload.checkBeforeLoad(o.model);
    const auto m = o.model.load(argv0);
    sweep.workload = o.workload.request(*m);
    sweep.workload.scheduler = so;
    asUsageError([&] { sweep.validate(); });
    if (!o.predict.empty()) {
        sweep.predictThreads = parseThreadList(o.predict);
        std::fprintf(stderr, "measuring the machine's ceilings (or reading them from the cache)...\n");
        sweep.predictWith = engine::machinePeaks(o.machineCache);
    }
    const auto result = engine::runSweep(m, sweep, [](int done, int total, const std::string& label) {
        std::fprintf(stderr, "\r[%3d/%3d] %-48s", done, total, label.c_str());
        std::fflush(stderr);
        return true;
    });
    std::fprintf(stderr, "\n");
    std::printf("sweep of %s on %s (%d logical cores)\n", m->source().c_str(),
        result.machine.value("cpu", std::string("?")).c_str(), engine::Scheduler::hardwareThreads());
    std::printf("partitioner %s, grain %zu, %s\n", engine::partitionerName(so.partitioner), so.grain,
        describePinning(result).c_str());
    std::printf("%s\n", describeBackgroundLoad(result.backgroundLoad).c_str());
    printSweepTable(result);
    for (const auto& st : result.strategies) {
        if (!st.prediction.available)
            continue;
        std::printf(
            "\nstrategy %s: PREDICTED (a model, not a measurement) from the %d-thread traced run, for a machine "
            "with P cores like these and this memory bandwidth\n",
            st.strategy.c_str(), st.prediction.measuredThreads);
        std::printf("  %7s %14s %14s %10s %10s\n", "threads", "prefill tok/s", "decode tok/s", "prefill x", "decode x");
        for (const auto& pt : st.prediction.points)
            std::printf("  %7d %14.1f %14.1f %10.2f %10.2f\n", pt.threads, pt.prefillTokensPerSecond,
                pt.decodeTokensPerSecond, pt.prefillSpeedup, pt.decodeSpeedup);
    }
    if (!o.jsonOut.empty())
        writeTextFile(o.jsonOut, engine::sweepToJson(result).dump(2) + "\n");
    if (!o.csvOut.empty())
        writeTextFile(o.csvOut, engine::sweepToCsv(result));
    if (!o.sessionOut.empty()) {
        session::Session s;
        s.model = session::ModelRef::of(m->source(), m->config().name);
        s.settings = sweep.workload;
        s.machine = result.machine;
        s.sweeps.push_back({ session::SessionFile::nowUtc(), result });
        writeSessionOut(o.sessionOut, std::move(s), o.appendSession);
    }
    return 0;
}

} // namespace cli
