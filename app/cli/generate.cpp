// generate and trace: one run of the workload, reported as text, as JSON, or as a trace file.
#include "app/cli/commands.h"
#include "app/cli/report.h"

#include "engine/measure/traceexport.h"
#include "engine/run/generation.h"
#include "session/sessionfile.h"
#include "session/tokenrecorder.h"

#include <cmath>
#include <cstdio>
#include <iostream>

namespace cli {

namespace {

// Streams the text of a one-prompt run to stdout; several prompts are printed when done.
struct StreamingListener : engine::RunListener {
    bool stream = false;
    void onToken(int, int32_t, std::string_view text) override
    {
        if (stream) {
            std::cout << text;
            std::cout.flush();
        }
    }
};

void writeTrace(const std::string& path, const engine::RunResult& r, const engine::Model& model,
    const engine::RunRequest& request, const engine::Scheduler& scheduler)
{
    engine::TraceMeta meta;
    meta.model = model.source();
    meta.threads = scheduler.threads();
    meta.strategy = engine::strategyName(request.strategy);
    meta.partitioner = engine::partitionerName(request.scheduler.partitioner);
    meta.laneCpus = engine::Scheduler::pinnedCpus(request.scheduler);
    engine::writeChromeTrace(path, r.trace, meta);
}

// ln p, or null for a token the chain removed (p = 0).
nlohmann::json logprob(double p) { return p > 0.0 ? nlohmann::json(std::log(p)) : nlohmann::json(nullptr); }

// Per generated token: its id, text and log-probability as drawn, and the alternatives the sampler saw.
nlohmann::json tokensJson(const engine::GenerationResult& s)
{
    nlohmann::json tokens = nlohmann::json::array();
    for (size_t i = 0; i < s.alternatives.size() && i < s.tokenIds.size(); ++i) {
        const engine::TokenAlternatives& a = s.alternatives[i];
        const engine::TokenAlternative* chosen = a.find(a.chosen);
        nlohmann::json alternatives = nlohmann::json::array();
        for (const engine::TokenAlternative& c : a.candidates)
            alternatives.push_back({ { "id", c.id }, { "text", c.text }, { "logprob_raw", logprob(c.rawProbability) },
                { "logprob_final", logprob(c.finalProbability) },
                { "removed_by", c.removedBy ? nlohmann::json(engine::samplerStageName(*c.removedBy)) : nullptr },
                { "penalized", c.penalized } });
        tokens.push_back({ { "id", a.chosen }, { "text", chosen ? chosen->text : std::string() },
            { "logprob", logprob(chosen ? chosen->finalProbability : 0.0) },
            { "logprob_raw", logprob(chosen ? chosen->rawProbability : 0.0) }, { "forced", a.forced },
            { "greedy", a.greedy }, { "entropy_raw_bits", a.rawEntropyBits },
            { "entropy_final_bits", a.finalEntropyBits }, { "kept_after_top_k", a.keptAfterTopK },
            { "kept_after_top_p", a.keptAfterTopP }, { "kept_after_min_p", a.keptAfterMinP },
            { "alternatives", alternatives } });
    }
    return tokens;
}

void printJson(const engine::RunResult& r, const engine::Model& model, const engine::RunRequest& request,
    const engine::Scheduler& scheduler, const std::string& jsonOut)
{
    const auto& first = r.sequences.front();
    nlohmann::json j;
    j["model"] = model.source();
    j["strategy"] = engine::strategyName(request.strategy);
    j["threads"] = scheduler.threads();
    j["partitioner"] = engine::partitionerName(request.scheduler.partitioner);
    j["grain"] = request.scheduler.grain;
    j["pin_threads"] = request.scheduler.pinThreads;
    // The first sequence's figures at the top level; every sequence under "sequences".
    j["prompt"] = request.prompts.front();
    j["text"] = first.text;
    j["prompt_token_ids"] = first.promptIds;
    j["token_ids"] = first.tokenIds;
    j["chat_template"] = first.chatTemplate;
    j["prompt_tokens"] = first.stats.promptTokens;
    j["generated_tokens"] = first.stats.generatedTokens;
    j["prefill_ms"] = first.stats.prefillMs;
    j["prefill_tps"] = first.stats.prefillTokensPerSecond();
    j["time_to_first_token_ms"] = first.stats.timeToFirstTokenMs;
    j["decode_ms"] = first.stats.decodeMs;
    j["decode_tps"] = first.stats.decodeTokensPerSecond();
    j["total_ms"] = first.stats.totalMs;
    j["stop_reason"] = engine::stopReasonName(first.stats.stopReason);
    if (request.topAlternatives > 0) {
        j["top_logprobs"] = request.topAlternatives;
        j["tokens"] = tokensJson(first);
    }
    nlohmann::json seqs = nlohmann::json::array();
    for (size_t i = 0; i < r.sequences.size(); ++i) {
        const auto& s = r.sequences[i];
        seqs.push_back({ { "prompt", request.prompts[i] }, { "text", s.text }, { "token_ids", s.tokenIds },
            { "prompt_tokens", s.stats.promptTokens }, { "generated_tokens", s.stats.generatedTokens },
            { "prefill_ms", s.stats.prefillMs }, { "time_to_first_token_ms", s.stats.timeToFirstTokenMs },
            { "decode_tps", s.stats.decodeTokensPerSecond() },
            { "stop_reason", engine::stopReasonName(s.stats.stopReason) } });
        if (request.topAlternatives > 0)
            seqs.back()["tokens"] = tokensJson(s);
    }
    j["sequences"] = seqs;
    j["metrics"] = metricsJson(r.metrics);
    j["peak_rss_mib"] = peakRssMiB();
    // Generated text is valid UTF-8 by construction; replace rather than throw if a prompt file was not (or a
    // token's own bytes are half a character).
    const std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (jsonOut.empty())
        std::cout << text;
    else
        writeTextFile(jsonOut, text);
}

// One prompt: its text was streamed, its figures go to stderr. Several: each text, then the figures.
void printText(const engine::RunResult& r, const engine::Model& model, const engine::RunRequest& request,
    const engine::Scheduler& scheduler)
{
    const auto& first = r.sequences.front();
    if (request.prompts.size() == 1) {
        std::cout << "\n";
        const auto& s = first.stats;
        std::fprintf(stderr,
            "\n[%s] prompt tokens: %d | prefill: %.1f ms (%.1f tokens/s) | time to first token: %.1f ms | "
            "generated: %d (%s) | decode: %.1f tokens/s | threads: %d | peak RSS: %.1f MiB\n",
            model.source().c_str(), s.promptTokens, s.prefillMs, s.prefillTokensPerSecond(), s.timeToFirstTokenMs,
            s.generatedTokens, engine::stopReasonName(s.stopReason), s.decodeTokensPerSecond(), scheduler.threads(),
            peakRssMiB());
    } else {
        for (size_t i = 0; i < r.sequences.size(); ++i) {
            const auto& s = r.sequences[i];
            std::cout << "=== [" << i << "] " << request.prompts[i] << "\n" << s.text << "\n";
            std::fprintf(stderr, "[%zu] prompt tokens: %d | generated: %d (%s) | time to first token: %.1f ms\n", i,
                s.stats.promptTokens, s.stats.generatedTokens, engine::stopReasonName(s.stats.stopReason),
                s.stats.timeToFirstTokenMs);
        }
        const auto& mm = r.metrics;
        std::fprintf(stderr,
            "[%s, %s, %d threads] prefill phase %.1f ms (%.1f tokens/s) | decode phase %.1f ms (%.1f tokens/s) | "
            "total %.1f tokens/s | peak RSS %.1f MiB\n",
            model.source().c_str(), engine::strategyName(request.strategy), scheduler.threads(), mm.prefillMs,
            mm.prefillTokensPerSecond, mm.decodeMs, mm.decodeTokensPerSecond, mm.totalTokensPerSecond, peakRssMiB());
    }
}

// generate and trace alike: run the workload once, write the trace if asked, report.
int runWorkload(const ModelChoice& model, const ParallelOptions& parallel, const WorkloadOptions& workload, bool json,
    const std::string& jsonOut, int topLogprobs, const std::string& traceOut, const std::string& argv0,
    const std::string& sessionOut = {}, bool appendSession = false)
{
    if (topLogprobs != 0 && !json)
        throw UsageError("--top-logprobs goes into the JSON report: add --json (to stdout) or --json FILE");
    const auto schedulerOptions = parallel.options();
    workload.checkBeforeLoad(model);
    workload.strategies(); // usage errors before the model loads
    auto m = model.load(argv0);
    engine::RunRequest request = workload.request(*m);
    request.scheduler = schedulerOptions;
    request.trace = !traceOut.empty() || !sessionOut.empty(); // a session shows the timeline
    request.topAlternatives = topLogprobs;
    asUsageError([&] { request.validate(); });
    engine::Scheduler scheduler(schedulerOptions);
    if (scheduler.oversubscribed())
        std::cerr << "note: " << scheduler.threads() << " threads on " << engine::Scheduler::hardwareThreads()
                  << " cores: oversubscribed\n";
    StreamingListener listener;
    const bool jsonToStdout = json && jsonOut.empty();
    listener.stream = !jsonToStdout && request.prompts.size() == 1;
    session::TokenRecorder recorder(&listener);
    const engine::RunResult r = engine::executeRun(m, request, scheduler, &recorder);
    if (!traceOut.empty())
        writeTrace(traceOut, r, *m, request, scheduler);
    if (!sessionOut.empty()) {
        session::Session s;
        s.model = session::ModelRef::of(m->source(), m->config().name);
        s.settings = request;
        s.machine = engine::machineDescription();
        s.runs.push_back(recorder.record(request, r));
        writeSessionOut(sessionOut, std::move(s), appendSession);
    }
    if (json)
        printJson(r, *m, request, scheduler, jsonOut);
    if (jsonToStdout)
        return 0;
    printText(r, *m, request, scheduler);
    if (!traceOut.empty()) {
        printWorkerTable(r.metrics);
        std::fprintf(stderr, "trace: %s (%llu events; open in https://ui.perfetto.dev or chrome://tracing)\n",
            traceOut.c_str(), (unsigned long long)r.metrics.traceEvents);
    }
    return 0;
}

} // namespace

CLI::App* addGenerate(CLI::App& app, GenerateOptions& o)
{
    auto* cmd = app.add_subcommand("generate", "generate text from one or more prompts, then print speed figures");
    o.model.add(cmd);
    o.parallel.add(cmd);
    o.workload.add(cmd);
    o.workload.addStrategy(cmd, false);
    o.jsonOption = cmd->add_option("--json", o.jsonOut,
                          "one JSON object with the text, token ids and figures: to this file, or to stdout "
                          "(instead of the text) when no file is given")
                       ->expected(0, 1);
    cmd->add_option("--top-logprobs", o.topLogprobs,
           "in the JSON, per generated token the N most likely candidates with their log-probabilities before "
           "and after the sampler's chain, and which stage removed them (0 = off, at most 100)")
        ->capture_default_str();
    cmd->add_option("--trace", o.traceOut, "also write a Chrome trace (JSON) of the run to this file");
    cmd->add_option("--session-out", o.sessionOut,
        "also write a session file (settings, outputs, metrics, trace) that the window opens");
    cmd->add_flag("--append", o.appendSession,
        "with --session-out: add this run to that session (same model) instead of replacing it");
    return cmd;
}

int runGenerate(const GenerateOptions& o, const std::string& argv0)
{
    const bool json = o.json || (o.jsonOption && o.jsonOption->count() > 0);
    return runWorkload(o.model, o.parallel, o.workload, json, o.jsonOut, o.topLogprobs, o.traceOut, argv0, o.sessionOut,
        o.appendSession);
}

CLI::App* addTrace(CLI::App& app, TraceOptions& o)
{
    auto* cmd = app.add_subcommand("trace", "run prompts with tracing on and write a Chrome/Perfetto trace");
    o.model.add(cmd);
    o.parallel.add(cmd);
    o.workload.add(cmd);
    o.workload.addStrategy(cmd, false);
    cmd->add_option("--out,-o", o.out, "trace file to write (Chrome Trace Event JSON)")->required();
    return cmd;
}

int runTrace(const TraceOptions& o, const std::string& argv0)
{
    return runWorkload(o.model, o.parallel, o.workload, false, {}, 0, o.out, argv0);
}

} // namespace cli
