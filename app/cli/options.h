// The options several subcommands share (model choice, threads and scheduling, the workload) and the
// usage error they throw when a value is wrong.
#pragma once

#include "engine/model/model.h"
#include "engine/model/sampler.h"
#include "engine/parallel/scheduler.h"
#include "engine/run/defaults.h"
#include "engine/run/run.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace cli {

// A usage problem found after parsing (bad value combinations, absurd numbers): exit code 2 and the
// subcommand's help.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs an engine check whose std::invalid_argument means the user gave a bad value.
template <class Check> void asUsageError(Check&& check)
{
    try {
        check();
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

// --model or --synthetic: which model to run.
struct ModelChoice {
    std::string path;
    std::string synthetic;

    void add(CLI::App* cmd);
    // The chosen model, or the shipped one (found next to argv0), or a small synthetic one if that
    // is not built.
    std::shared_ptr<const engine::Model> load(const std::string& argv0) const;
    // The chosen model's trained context length when it is known without loading the model (a
    // synthetic shape), else 0.
    int trainedContextBeforeLoad() const;
};

// Threads and how work is split among them.
struct ParallelOptions {
    int threads = 1;
    std::string partitioner = "auto";
    size_t grain = 1;
    bool pin = false;

    void add(CLI::App* cmd);
    // Everything but the thread count (bench and sweep take a list of those).
    void addScheduling(CLI::App* cmd);
    engine::SchedulerOptions options() const;
};

// Options shared by generate, trace and sweep: the prompts, sampling and how work is split.
struct WorkloadOptions {
    std::vector<std::string> prompts;
    std::string promptFile;
    std::string system;
    bool chat = false;
    bool raw = false;
    engine::SamplingParams sampling;
    int maxTokens = engine::kDefaultMaxTokens;
    int ctx = 0;
    bool allowCtxOverflow = false;
    std::string strategy = "intra-op";

    void add(CLI::App* cmd);
    // One strategy, or (list) a comma-separated list of them.
    void addStrategy(CLI::App* cmd, bool list);
    std::vector<engine::Strategy> strategies() const;
    // Usage errors found before the model loads (synthetic shapes can take gigabytes to build): strategies,
    // sampling, tokens, --chat/--raw, the --ctx range and, when `model` knows its trained context without
    // loading, overflow.
    void checkBeforeLoad(const ModelChoice& model) const;
    // The run: prompts (or the default one), chat template, sampling, the first strategy; one thread.
    // A --ctx above the model's trained context without --allow-ctx-overflow is a usage error.
    engine::RunRequest request(const engine::Model& model) const;
};

// "1,2,4" as thread counts.
std::vector<int> parseThreadList(const std::string& list);

} // namespace cli
