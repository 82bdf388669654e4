// bench: the engine's benchmark over a list of thread counts, its JSON report on stdout.
#include "app/cli/commands.h"
#include "app/cli/report.h"

#include "engine/measure/machine.h"

#include <iostream>

namespace cli {

CLI::App* addBench(CLI::App& app, BenchOptions& o)
{
    auto* cmd = app.add_subcommand(
        "bench", "prefill and decode tokens/s per thread count, with the compute and memory ceilings");
    o.model.add(cmd);
    cmd->add_option("--threads,-t", o.threads, "comma-separated thread counts")->capture_default_str();
    cmd->add_option("--prompt-tokens", o.bench.promptTokens, "prefill length")->capture_default_str();
    cmd->add_option("--decode-tokens", o.bench.decodeTokens, "decoded tokens per run")->capture_default_str();
    cmd->add_option("--repeat", o.bench.repeat, "measured runs (after one warm-up)")->capture_default_str();
    cmd->add_flag("--allow-ctx-overflow", o.bench.allowContextOverflow,
        "allow prompt + decode tokens beyond the model's trained context length (refused otherwise)");
    o.parallel.addScheduling(cmd);
    cmd->add_flag("--no-bandwidth", o.noBandwidth, "skip the memory bandwidth probe");
    cmd->add_flag("--no-peak", o.noPeak, "skip the FMA peak probe (prefill's compute ceiling)");
    cmd->add_option("--probe-mib", o.probeMiB, "bandwidth probe buffer size in MiB")->capture_default_str();
    cmd->add_option("--json", o.jsonOut, "also write the JSON report to this file");
    return cmd;
}

int runBench(const BenchOptions& o, const std::string& argv0)
{
    engine::BenchOptions bench = o.bench;
    bench.threads = parseThreadList(o.threads);
    const auto so = o.parallel.options();
    bench.partitioner = so.partitioner;
    bench.grain = so.grain;
    bench.pinThreads = so.pinThreads;
    bench.probeBandwidth = !o.noBandwidth;
    bench.probeCompute = !o.noPeak;
    if (o.probeMiB < 64 || o.probeMiB > 16384)
        throw UsageError("--probe-mib must be between 64 and 16384");
    bench.probeBytes = uint64_t(o.probeMiB) << 20;
    asUsageError([&] { bench.validate(); });
    if (const int trained = o.model.trainedContextBeforeLoad(); trained > 0) // before probing and building
        asUsageError([&] {
            engine::resolveContextLength(
                bench.promptTokens + bench.decodeTokens + 1, trained, bench.allowContextOverflow);
        });
    // Probed before the model is built: see BenchOptions::measuredBandwidth.
    if (bench.probeBandwidth)
        bench.measuredBandwidth = engine::measureReadBandwidths(bench.threads, bench.probeBytes);
    if (bench.probeCompute)
        bench.measuredPeakGflops = engine::measurePeakGflopsFor(bench.threads);
    const auto m = o.model.load(argv0);
    asUsageError([&] {
        engine::resolveContextLength(
            bench.promptTokens + bench.decodeTokens + 1, m->config().contextLength, bench.allowContextOverflow);
    });
    const auto report = engine::runBench(m, bench);
    std::cout << report.dump(2) << "\n";
    if (!o.jsonOut.empty())
        writeTextFile(o.jsonOut, report.dump(2) + "\n");
    return 0;
}

} // namespace cli
