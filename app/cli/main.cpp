// llm-playground-cli: the engine without a window — generate, trace, analyze, ab, sweep, bench, tokenize,
// inspect, quantize, demo, report. Each subcommand lives in its own file (see commands.h); this file parses and maps
// failures to exit codes.
#include "app/cli/commands.h"

#include "engine/format/gguffile.h"
#include "engine/kernels/cpudispatch.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <string>
#include <utility>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitModel = 3;

} // namespace

int main(int argc, char** argv)
{
    CLI::App app { "LLM Thread Playground, headless: run a llama-family GGUF model on N threads and measure it" };
    app.require_subcommand(1);
    const std::string argv0 = argv[0];
    // --version names the kernels' SIMD level chosen at run time (a bad PLAYGROUND_ISA is reported, not thrown).
    app.set_version_flag("--version", [] {
        std::string kernels;
        try {
            kernels = std::string(engine::cpuIsaName(engine::activeCpuIsa()))
                + " (best on this CPU: " + engine::cpuIsaName(engine::bestCpuIsa()) + ")";
        } catch (const std::exception& e) {
            kernels = e.what();
        }
        return std::string("llm-playground-cli " PLAYGROUND_VERSION "\nkernels: ") + kernels;
    });

    cli::GenerateOptions generate;
    cli::TraceOptions trace;
    cli::TokenizeOptions tokenize;
    cli::InspectOptions inspect;
    cli::BenchOptions bench;
    cli::SweepOptions sweep;
    cli::QuantizeOptions quantize;
    cli::AnalyzeOptions analyze;
    cli::DemoOptions demo;
    cli::AbOptions ab;
    cli::ReportOptions report;
    // In the order --help lists them.
    const std::pair<CLI::App*, std::function<int()>> commands[] = {
        { cli::addGenerate(app, generate), [&] { return cli::runGenerate(generate, argv0); } },
        { cli::addTrace(app, trace), [&] { return cli::runTrace(trace, argv0); } },
        { cli::addTokenize(app, tokenize), [&] { return cli::runTokenize(tokenize, argv0); } },
        { cli::addInspect(app, inspect), [&] { return cli::runInspect(inspect); } },
        { cli::addBench(app, bench), [&] { return cli::runBench(bench, argv0); } },
        { cli::addSweep(app, sweep), [&] { return cli::runSweep(sweep, argv0); } },
        { cli::addAnalyze(app, analyze), [&] { return cli::runAnalyze(analyze, argv0); } },
        { cli::addAb(app, ab), [&] { return cli::runAb(ab, argv0); } },
        { cli::addQuantize(app, quantize), [&] { return cli::runQuantize(quantize); } },
        { cli::addDemo(app, demo), [&] { return cli::runDemo(demo, argv0); } },
        { cli::addReport(app, report), [&] { return cli::runReport(report); } },
    };

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }

    try {
        for (const auto& [command, run] : commands)
            if (command->parsed())
                return run();
    } catch (const cli::UsageError& e) {
        std::cerr << "error: " << e.what() << "\n\n" << app.help();
        return kExitUsage;
    } catch (const engine::ContextOverflowError& e) { // the engine's own check, should a path miss ours
        std::cerr << "error: " << e.what() << "\n";
        return kExitUsage;
    } catch (const engine::ModelFileError& e) {
        std::cerr << "error: unusable model file: " << e.what() << "\n";
        return kExitModel;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return kExitFailure;
    }
    return kExitUsage;
}
