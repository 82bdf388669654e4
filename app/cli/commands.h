// The CLI's subcommands. Each has its options, an add function that puts it on the app with them,
// and a run function that does the work once it is the one parsed; the run functions throw
// UsageError for bad values and return the exit code.
#pragma once

#include "app/cli/options.h"

#include "engine/measure/bench.h"

#include <CLI/CLI.hpp>

#include <string>

namespace cli {

// generate: text from one or more prompts, then speed figures (or one JSON object).
struct GenerateOptions {
    ModelChoice model;
    ParallelOptions parallel;
    WorkloadOptions workload;
    bool json = false; // --json given: the JSON report, to jsonOut or (empty) to stdout
    std::string jsonOut;
    CLI::Option* jsonOption = nullptr; // tells whether --json was given without a file
    int topLogprobs = 0; // alternatives per token in the JSON report (0: none)
    std::string traceOut; // also write a Chrome trace here
    std::string sessionOut; // also write a session file (traced) the window opens
    bool appendSession = false; // add to the session at sessionOut instead of replacing it
};
CLI::App* addGenerate(CLI::App& app, GenerateOptions& options);
int runGenerate(const GenerateOptions& options, const std::string& argv0);

// trace: generate with tracing on, the Chrome/Perfetto trace written to a file.
struct TraceOptions {
    ModelChoice model;
    ParallelOptions parallel;
    WorkloadOptions workload;
    std::string out;
};
CLI::App* addTrace(CLI::App& app, TraceOptions& options);
int runTrace(const TraceOptions& options, const std::string& argv0);

// tokenize: the token ids (and pieces) of a text.
struct TokenizeOptions {
    ModelChoice model;
    std::string text;
    bool pieces = false;
    bool noBos = false;
};
CLI::App* addTokenize(CLI::App& app, TokenizeOptions& options);
int runTokenize(const TokenizeOptions& options, const std::string& argv0);

// inspect: a GGUF file's metadata, hyper-parameters and tensor table.
struct InspectOptions {
    std::string path;
};
CLI::App* addInspect(CLI::App& app, InspectOptions& options);
int runInspect(const InspectOptions& options);

// bench: prefill and decode tokens/s per thread count, against the memory bandwidth ceiling.
struct BenchOptions {
    ModelChoice model;
    engine::BenchOptions bench; // token counts and repeats; runBench fills in the rest from the fields below
    std::string threads = "1,2"; // comma-separated
    ParallelOptions parallel; // partitioner, grain and pinning; its thread count is unused
    bool noBandwidth = false;
    bool noPeak = false;
    int probeMiB = 1024;
    std::string jsonOut;
};
CLI::App* addBench(CLI::App& app, BenchOptions& options);
int runBench(const BenchOptions& options, const std::string& argv0);

// sweep: a workload repeated over thread counts and strategies; speedup and the Amdahl fit.
struct SweepOptions {
    ModelChoice model;
    WorkloadOptions workload;
    std::string threads = "1,2"; // comma-separated
    ParallelOptions parallel; // partitioner, grain and pinning; its thread count is unused
    int repeat = 3;
    int warmup = 1;
    bool scaled = false;
    std::string jsonOut;
    std::string csvOut;
    std::string predict; // thread counts to predict intra-op scaling at (measures the machine's ceilings once)
    std::string machineCache;
    std::string sessionOut; // also write a session file the window opens
    bool appendSession = false;
};
CLI::App* addSweep(CLI::App& app, SweepOptions& options);
int runSweep(const SweepOptions& options, const std::string& argv0);

// analyze: one traced run explained (time breakdown, roofline, predicted scaling).
struct AnalyzeOptions {
    ModelChoice model;
    ParallelOptions parallel;
    WorkloadOptions workload;
    std::string predict = "1,2,4,8,16,32,64";
    std::string jsonOut;
    std::string traceOut;
    std::string machineCache;
    bool remeasure = false;
    std::string validate; // thread counts to run and compare with this machine's prediction
    int repeat = 3; // runs per thread count when validating (the base run too); medians are compared
    std::string sessionOut; // also write a session file (the run, its trace and this analysis)
    bool appendSession = false;
};
CLI::App* addAnalyze(CLI::App& app, AnalyzeOptions& options);
int runAnalyze(const AnalyzeOptions& options, const std::string& argv0);

// quantize: a copy of a GGUF model (or of a synthetic one) with its matrices quantised.
struct QuantizeOptions {
    std::string in;
    std::string synthetic;
    std::string chatTemplate; // with synthetic: written as tokenizer.chat_template
    std::string type;
    std::string out;
    bool dryRun = false; // print the types each tensor would get, write nothing
};
CLI::App* addQuantize(CLI::App& app, QuantizeOptions& options);
int runQuantize(const QuantizeOptions& options);

// demo: a teaching demonstration (engine/lessons) run headless and explained with the numbers it measured.
struct DemoOptions {
    std::string name;
    bool list = false;
    bool quick = false;
    std::string jsonOut;
    std::string machineCache;
};
CLI::App* addDemo(CLI::App& app, DemoOptions& options);
int runDemo(const DemoOptions& options, const std::string& argv0);
// ab: prompt variants (the prompts) under the same settings and several seeds each, compared in a table.
struct AbOptions {
    ModelChoice model;
    ParallelOptions parallel;
    WorkloadOptions workload;
    int seeds = 5;
    std::string csvOut;
    std::string jsonOut;
};
CLI::App* addAb(CLI::App& app, AbOptions& options);
int runAb(const AbOptions& options, const std::string& argv0);
// report: a one-page HTML report (settings, outputs, timeline, speedup chart, analysis) of a session file.
struct ReportOptions {
    std::string session;
    std::string html;
    int run = 0; // 1-based; 0: the latest
    int compare = 0; // a second run to compare with, 1-based; 0: none
    int sweep = 0; // 1-based; 0: the latest (none in a comparison of runs)
    int compareSweep = 0; // a second sweep to compare with, 1-based; 0: none
};
CLI::App* addReport(CLI::App& app, ReportOptions& options);
int runReport(const ReportOptions& options);

} // namespace cli
