// ab: prompt variants compared under the same settings and several seeds; a table, optionally CSV and JSON files.
#include "app/cli/commands.h"
#include "app/cli/report.h"

#include "engine/measure/promptab.h"

#include <cstdio>
#include <iostream>

namespace cli {

namespace {

// The first line of a text, shortened for a table cell.
std::string cell(const std::string& text, size_t width)
{
    std::string line = text.substr(0, text.find('\n'));
    if (line.size() > width)
        line = line.substr(0, width - 3) + "...";
    return line;
}

} // namespace

CLI::App* addAb(CLI::App& app, AbOptions& o)
{
    auto* cmd = app.add_subcommand("ab",
        "compare prompt variants (--prompt, repeated) under the same settings and --seeds seeds each: output, length, "
        "mean token probability, perplexity, time to first token, tokens/s");
    o.model.add(cmd);
    o.parallel.add(cmd);
    o.workload.strategy = "request"; // the variants of a seed are independent sequences
    o.workload.add(cmd);
    o.workload.addStrategy(cmd, false);
    cmd->add_option("--seeds", o.seeds, "samples per variant, with seeds --seed, --seed + 1, ...")
        ->capture_default_str();
    cmd->add_option("--csv", o.csvOut, "write every sample and the per-variant summary as CSV to this file");
    cmd->add_option("--json", o.jsonOut, "write the comparison (with per-token probabilities) as JSON to this file");
    return cmd;
}

int runAb(const AbOptions& o, const std::string& argv0)
{
    const auto schedulerOptions = o.parallel.options();
    o.workload.checkBeforeLoad(o.model);
    o.workload.strategies();
    if (o.seeds < 1 || o.seeds > 1000)
        throw UsageError("--seeds must be between 1 and 1000");
    auto model = o.model.load(argv0);
    engine::PromptAbRequest request;
    request.run = o.workload.request(*model);
    request.run.scheduler = schedulerOptions;
    request.variants = request.run.prompts;
    request.seeds = o.seeds;
    request.firstSeed = o.workload.sampling.seed;
    asUsageError([&] { request.validate(); });

    const engine::PromptAbResult r = engine::runPromptAb(model, request, [&](int done, int total) {
        std::fprintf(stderr, "\rseed %d of %d", done, total);
        return true;
    });
    std::fprintf(stderr, "\n");
    const char* probability = request.run.sampling.temperature > 0
        ? "p = probability of each drawn token under the sampler's final distribution"
        : "greedy: p = each token's probability under the raw logits' softmax at temperature 1";
    std::printf("%zu variants x %d seeds, %s, %d threads, %s; %s\n", r.variants.size(), o.seeds,
        engine::strategyName(request.run.strategy), schedulerOptions.threads, r.chatTemplate.c_str(), probability);
    std::printf("\n%-3s %-6s %6s %8s %10s %9s %8s  %s\n", "var", "seed", "tokens", "mean p", "perplexity", "ttft ms",
        "tok/s", "output");
    for (const engine::PromptAbSample& s : r.samples)
        std::printf("%-3d %-6llu %6d %8.4f %10.3f %9.1f %8.1f  %s\n", s.variant + 1, (unsigned long long)s.seed,
            s.tokens, s.meanProbability, s.perplexity, s.timeToFirstTokenMs, s.tokensPerSecond,
            cell(s.output, 48).c_str());
    std::printf("\n%-3s %-32s %7s %8s %10s %9s %8s %8s\n", "var", "prompt", "tokens", "mean p", "perplexity", "ttft ms",
        "tok/s", "distinct");
    for (size_t v = 0; v < r.summary.size(); ++v) {
        const engine::PromptAbVariant& a = r.summary[v];
        std::printf("%-3zu %-32s %7.1f %8.4f %10.3f %9.1f %8.1f %5d/%d\n", v + 1, cell(a.prompt, 32).c_str(),
            a.meanTokens, a.meanProbability, a.perplexity, a.meanTimeToFirstTokenMs, a.meanTokensPerSecond,
            a.distinctOutputs, a.samples);
    }
    std::printf("(per variant: probability and perplexity pooled over all tokens of its samples; the rest averaged)\n");
    if (!o.csvOut.empty())
        writeTextFile(o.csvOut, engine::promptAbToCsv(r));
    if (!o.jsonOut.empty())
        writeTextFile(
            o.jsonOut, engine::promptAbToJson(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    return 0;
}

} // namespace cli
