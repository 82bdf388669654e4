// llm-playground-cli: the engine without a window — generate, tokenize, inspect, bench.
#include "engine/format/gguffile.h"
#include "engine/kernels/modelquantizer.h"
#include "engine/measure/bench.h"
#include "engine/measure/sweep.h"
#include "engine/measure/traceexport.h"
#include "engine/model/model.h"
#include "engine/model/synthetic.h"
#include "engine/run/defaults.h"
#include "engine/run/generation.h"
#include "engine/run/run.h"
#include "engine/text/chattemplate.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/resource.h>

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitModel = 3;
constexpr int kExitFailure = 1;

// A usage problem found after parsing (bad value combinations, absurd numbers).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ModelChoice {
    std::string path;
    std::string synthetic;
    void add(CLI::App* cmd)
    {
        cmd->add_option("--model,-m", path, "GGUF model file (default: the shipped model)");
        cmd->add_option("--synthetic", synthetic, "use a synthetic model instead: tiny, 15M, 110M or 1B");
    }
    std::shared_ptr<const engine::Model> load(const std::string& argv0) const
    {
        if (!path.empty() && !synthetic.empty())
            throw UsageError("give either --model or --synthetic, not both");
        if (!synthetic.empty()) {
            try {
                engine::syntheticShape(synthetic);
            } catch (const std::invalid_argument& e) {
                throw UsageError(e.what());
            }
            return engine::makeSyntheticModel(synthetic);
        }
        std::string file = path.empty() ? engine::defaultModelPath(argv0) : path;
        if (file.empty()) {
            std::cerr << "note: the default model is not built yet; using the synthetic '"
                      << engine::kFallbackSyntheticShape << "' shape\n";
            return engine::makeSyntheticModel(engine::kFallbackSyntheticShape);
        }
        return engine::Model::load(file);
    }
};

struct ParallelOptions {
    int threads = 1;
    std::string partitioner = "auto";
    size_t grain = 1;
    bool pin = false;
    void add(CLI::App* cmd)
    {
        cmd->add_option("--threads,-t", threads, "worker threads in the arena (1-256)")->capture_default_str();
        addScheduling(cmd);
    }
    // Everything but the thread count (bench and sweep take a list of those).
    void addScheduling(CLI::App* cmd)
    {
        cmd->add_option("--partitioner", partitioner, "auto, simple, static or affinity")->capture_default_str();
        cmd->add_option("--grain", grain, "minimum blocks per chunk (TBB grain size)")->capture_default_str();
        cmd->add_flag("--pin", pin, "pin each arena slot's thread to its own core while it runs");
    }
    engine::SchedulerOptions options() const
    {
        const auto p = engine::partitionerFromName(partitioner);
        if (!p)
            throw UsageError("unknown partitioner '" + partitioner + "' (auto, simple, static, affinity)");
        engine::SchedulerOptions o { threads, *p, grain };
        o.pinThreads = pin;
        try {
            o.validate();
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
        return o;
    }
};

long peakRssKiB()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UsageError("cannot read prompt file '" + path + "'");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

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
    std::string strategy = "intra-op";

    void add(CLI::App* cmd)
    {
        cmd->add_option("--prompt,-p", prompts, "a prompt; repeat for several sequences (default: a sample prompt)");
        cmd->add_option("--prompt-file", promptFile, "read prompts from a file, one per line");
        cmd->add_option("--system", system, "system prompt (used with a chat template)");
        cmd->add_flag("--chat", chat, "format prompts with the model's chat template (default when it has one)");
        cmd->add_flag("--raw", raw, "use prompts as raw completion text, no chat template");
        cmd->add_option("--max-tokens,-n", maxTokens, "tokens to generate per prompt")->capture_default_str();
        cmd->add_option("--temperature", sampling.temperature, "0 = greedy")->capture_default_str();
        cmd->add_option("--top-k", sampling.topK, "keep the k most likely tokens (0 = off)")->capture_default_str();
        cmd->add_option("--top-p", sampling.topP, "nucleus sampling threshold (1 = off)")->capture_default_str();
        cmd->add_option("--min-p", sampling.minP, "drop tokens below min-p x the top probability")
            ->capture_default_str();
        cmd->add_option("--repeat-penalty", sampling.repeatPenalty, "penalty for recent tokens (1 = off)")
            ->capture_default_str();
        cmd->add_option("--seed", sampling.seed, "sampling seed")->capture_default_str();
        cmd->add_option("--ctx", ctx, "context length (0 = min(model context, 2048))")->capture_default_str();
    }
    void addStrategy(CLI::App* cmd, bool list)
    {
        cmd->add_option("--strategy,-s", strategy,
               list ? "comma-separated strategies: intra-op, request, hybrid, pipeline"
                    : "how work is split: intra-op, request, hybrid or pipeline")
            ->capture_default_str();
    }

    std::vector<engine::Strategy> strategies() const
    {
        std::vector<engine::Strategy> out;
        std::stringstream s(strategy);
        std::string item;
        while (std::getline(s, item, ',')) {
            const auto st = engine::strategyFromName(item);
            if (!st)
                throw UsageError("unknown strategy '" + item + "' (intra-op, request, hybrid, pipeline)");
            out.push_back(*st);
        }
        if (out.empty())
            throw UsageError("no strategy given");
        return out;
    }

    engine::RunRequest request(const engine::Model& model) const
    {
        engine::RunRequest r;
        r.prompts = prompts;
        if (!promptFile.empty()) {
            std::stringstream lines(readFile(promptFile));
            std::string line;
            while (std::getline(lines, line)) {
                if (!line.empty() && line.back() == '\r')
                    line.pop_back();
                if (!line.empty())
                    r.prompts.push_back(line);
            }
            if (r.prompts.empty())
                throw UsageError("prompt file '" + promptFile + "' has no prompts");
        }
        if (r.prompts.empty())
            r.prompts.push_back(engine::kDefaultPrompt);
        if (chat && raw)
            throw UsageError("give either --chat or --raw, not both");
        const bool hasTemplate = engine::detectChatTemplate(model.tokenizer().vocab()) != engine::ChatTemplate::None;
        if (chat && !hasTemplate)
            std::cerr << "note: the model has no chat template this build recognises; using raw completion\n";
        r.chat = !raw && hasTemplate;
        r.systemPrompt = system;
        r.sampling = sampling;
        r.maxTokens = maxTokens;
        r.contextLength = ctx;
        r.strategy = strategies().front();
        try {
            r.scheduler.threads = 1;
            r.validate();
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
        return r;
    }
};

void printWorkerTable(const engine::RunMetrics& m)
{
    std::fprintf(stderr, "%-8s %12s %12s %10s %14s\n", "worker", "busy ms", "idle ms", "chunks", "mean chunk us");
    for (const auto& w : m.workers)
        std::fprintf(stderr, "%-8d %12.2f %12.2f %10llu %14.2f\n", w.slot, double(w.busyNs) / 1e6,
            double(w.idleNs) / 1e6, (unsigned long long)w.chunks, w.meanChunkNs / 1e3);
    std::fprintf(stderr, "load imbalance (max busy / mean busy): %.3f | parallel regions: %llu, mean %.1f us\n",
        m.loadImbalance, (unsigned long long)m.parallelRegions, m.meanRegionNs / 1e3);
}

nlohmann::json metricsJson(const engine::RunMetrics& m)
{
    nlohmann::json j = { { "wall_ms", m.wallMs }, { "prefill_ms", m.prefillMs }, { "decode_ms", m.decodeMs },
        { "time_to_first_token_ms", m.timeToFirstTokenMs }, { "prompt_tokens", m.promptTokens },
        { "generated_tokens", m.generatedTokens }, { "prefill_tps", m.prefillTokensPerSecond },
        { "decode_tps", m.decodeTokensPerSecond }, { "total_tps", m.totalTokensPerSecond },
        { "load_imbalance", m.loadImbalance }, { "parallel_regions", m.parallelRegions },
        { "mean_region_us", m.meanRegionNs / 1e3 }, { "trace_events", m.traceEvents } };
    nlohmann::json workers = nlohmann::json::array();
    for (const auto& w : m.workers)
        workers.push_back({ { "slot", w.slot }, { "busy_ms", double(w.busyNs) / 1e6 },
            { "idle_ms", double(w.idleNs) / 1e6 }, { "chunks", w.chunks }, { "mean_chunk_us", w.meanChunkNs / 1e3 } });
    j["workers"] = workers;
    return j;
}

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

int runGenerate(const ModelChoice& model, const ParallelOptions& parallel, const WorkloadOptions& workload, bool json,
    const std::string& traceOut, const std::string& argv0)
{
    const auto schedulerOptions = parallel.options();
    if (workload.ctx < 0 || workload.ctx > (1 << 20))
        throw UsageError("--ctx must be between 0 (model default) and 1048576");
    workload.strategies(); // usage errors before the model loads
    auto m = model.load(argv0);
    engine::RunRequest request = workload.request(*m);
    request.scheduler = schedulerOptions;
    request.trace = !traceOut.empty();
    engine::Scheduler scheduler(schedulerOptions);
    if (scheduler.oversubscribed())
        std::cerr << "note: " << scheduler.threads() << " threads on " << engine::Scheduler::hardwareThreads()
                  << " cores: oversubscribed\n";
    StreamingListener listener;
    listener.stream = !json && request.prompts.size() == 1;
    const engine::RunResult r = engine::executeRun(m, request, scheduler, &listener);
    if (!traceOut.empty()) {
        engine::TraceMeta meta;
        meta.model = m->source();
        meta.threads = scheduler.threads();
        meta.strategy = engine::strategyName(request.strategy);
        meta.partitioner = engine::partitionerName(schedulerOptions.partitioner);
        meta.laneCpus = engine::Scheduler::pinnedCpus(schedulerOptions);
        engine::writeChromeTrace(traceOut, r.trace, meta);
    }
    const auto& first = r.sequences.front();
    if (json) {
        nlohmann::json j;
        j["model"] = m->source();
        j["strategy"] = engine::strategyName(request.strategy);
        j["threads"] = scheduler.threads();
        j["partitioner"] = engine::partitionerName(schedulerOptions.partitioner);
        j["grain"] = schedulerOptions.grain;
        j["pin_threads"] = schedulerOptions.pinThreads;
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
        nlohmann::json seqs = nlohmann::json::array();
        for (size_t i = 0; i < r.sequences.size(); ++i) {
            const auto& s = r.sequences[i];
            seqs.push_back({ { "prompt", request.prompts[i] }, { "text", s.text }, { "token_ids", s.tokenIds },
                { "prompt_tokens", s.stats.promptTokens }, { "generated_tokens", s.stats.generatedTokens },
                { "prefill_ms", s.stats.prefillMs }, { "time_to_first_token_ms", s.stats.timeToFirstTokenMs },
                { "decode_tps", s.stats.decodeTokensPerSecond() },
                { "stop_reason", engine::stopReasonName(s.stats.stopReason) } });
        }
        j["sequences"] = seqs;
        j["metrics"] = metricsJson(r.metrics);
        j["peak_rss_mib"] = double(peakRssKiB()) / 1024.0;
        // Generated text is valid UTF-8 by construction; replace rather than throw if a prompt file was not.
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    if (request.prompts.size() == 1) {
        std::cout << "\n";
        const auto& s = first.stats;
        std::fprintf(stderr,
            "\n[%s] prompt tokens: %d | prefill: %.1f ms (%.1f tokens/s) | time to first token: %.1f ms | "
            "generated: %d (%s) | decode: %.1f tokens/s | threads: %d | peak RSS: %.1f MiB\n",
            m->source().c_str(), s.promptTokens, s.prefillMs, s.prefillTokensPerSecond(), s.timeToFirstTokenMs,
            s.generatedTokens, engine::stopReasonName(s.stopReason), s.decodeTokensPerSecond(), scheduler.threads(),
            double(peakRssKiB()) / 1024.0);
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
            m->source().c_str(), engine::strategyName(request.strategy), scheduler.threads(), mm.prefillMs,
            mm.prefillTokensPerSecond, mm.decodeMs, mm.decodeTokensPerSecond, mm.totalTokensPerSecond,
            double(peakRssKiB()) / 1024.0);
    }
    if (!traceOut.empty()) {
        printWorkerTable(r.metrics);
        std::fprintf(stderr, "trace: %s (%llu events; open in https://ui.perfetto.dev or chrome://tracing)\n",
            traceOut.c_str(), (unsigned long long)r.metrics.traceEvents);
    }
    return 0;
}

int runTokenize(const ModelChoice& model, const std::string& text, bool pieces, bool noBos, const std::string& argv0)
{
    std::unique_ptr<engine::Tokenizer> owned;
    std::shared_ptr<const engine::Model> m;
    const engine::Tokenizer* tokenizer = nullptr;
    if (!model.synthetic.empty() || model.path.empty()) {
        m = model.load(argv0);
        tokenizer = &m->tokenizer();
    } else {
        // Only the vocabulary is needed: works on vocab-only files and on any architecture.
        const auto file = engine::GgufFile::open(model.path);
        owned = std::make_unique<engine::Tokenizer>(engine::Vocabulary::fromGguf(file));
        tokenizer = owned.get();
    }
    const auto ids = tokenizer->encode(text, !noBos && tokenizer->vocab().addBos && tokenizer->bos() >= 0);
    for (size_t i = 0; i < ids.size(); ++i)
        std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
    if (pieces) {
        nlohmann::json list = nlohmann::json::array();
        for (int32_t id : ids)
            list.push_back(tokenizer->piece(id));
        std::cout << list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return 0;
}

int runInspect(const std::string& path)
{
    const auto file = std::make_shared<const engine::GgufFile>(engine::GgufFile::open(path));
    std::cout << "file: " << path << "\nGGUF version: " << file->version() << ", " << file->fileSize()
              << " bytes, alignment " << file->alignment() << ", " << file->metadata().size() << " metadata keys, "
              << file->tensors().size() << " tensors\n\nmetadata:\n";
    for (const auto& [key, value] : file->metadata())
        std::cout << "  " << key << " = " << value.toString(6) << "\n";
    try {
        const auto model = engine::Model::fromGguf(file);
        const auto& c = model->config();
        std::cout << "\nmodel: " << c.architecture << " '" << c.name << "', " << model->parameterCount()
                  << " parameters, " << model->typeSummary() << "\n  dim " << c.dim << ", layers " << c.layers
                  << ", heads " << c.heads << " (KV heads " << c.kvHeads << ", head dim " << c.headDim
                  << "), feed-forward " << c.hidden << ", vocab " << c.vocab << ", context " << c.contextLength
                  << ", rope base " << c.ropeBase << ", rms eps " << c.rmsEps
                  << (model->tiedEmbeddings() ? ", tied embeddings" : "")
                  << "\n  weights read per token: " << model->weightBytesPerToken() / (1 << 20) << " MiB\n";
    } catch (const std::exception& e) {
        std::cout << "\nnot runnable here: " << e.what() << "\n";
        try {
            const engine::Tokenizer tok(engine::Vocabulary::fromGguf(*file));
            std::cout << "tokenizer: " << tok.vocab().model << ", " << tok.size() << " tokens\n";
        } catch (const std::exception&) {
        }
    }
    std::cout << "\ntensors:\n";
    for (const auto& t : file->tensors()) {
        std::string dims;
        for (size_t i = 0; i < t.dims.size(); ++i)
            dims += (i ? " x " : "") + std::to_string(t.dims[i]);
        std::printf("  %-32s %-6s %-20s %12llu bytes @ %llu\n", t.name.c_str(), engine::ggmlTypeName(t.type),
            dims.c_str(), (unsigned long long)t.nbytes, (unsigned long long)t.fileOffset);
    }
    return 0;
}

std::vector<int> parseThreadList(const std::string& list)
{
    std::vector<int> out;
    std::stringstream s(list);
    std::string item;
    while (std::getline(s, item, ',')) {
        try {
            size_t used = 0;
            const int v = std::stoi(item, &used);
            if (used != item.size())
                throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::exception&) {
            throw UsageError("bad thread list '" + list + "': expected numbers like 1,2,4");
        }
    }
    if (out.empty())
        throw UsageError("empty thread list");
    return out;
}

std::string formatSeconds(double s)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, s < 1.0 ? "%.1f ms" : "%.3f s", s < 1.0 ? s * 1000.0 : s);
    return buf;
}

std::string formatNumber(double v, const char* fmt = "%.2f")
{
    if (!std::isfinite(v))
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

void printSweepTable(const engine::SweepResult& result)
{
    for (const auto& st : result.strategies) {
        std::printf("\nstrategy %s%s\n", st.strategy.c_str(), st.scaledWork ? " (work grows with p)" : "");
        const std::pair<const char*, const engine::ScalingAnalysis*> phases[]
            = { { "prefill", &st.prefillScaling }, { "decode", &st.decodeScaling }, { "total", &st.totalScaling } };
        for (const auto& [name, a] : phases) {
            std::printf("  %-7s %7s %11s %11s %11s %8s %10s %11s\n", name, "threads", "median", "min", "max", "speedup",
                "efficiency", "Karp-Flatt");
            for (const auto& pt : a->points)
                std::printf("  %-7s %7d %11s %11s %11s %8s %10s %11s\n", "", pt.threads,
                    formatSeconds(pt.medianSeconds).c_str(), formatSeconds(pt.minSeconds).c_str(),
                    formatSeconds(pt.maxSeconds).c_str(), formatNumber(pt.speedup).c_str(),
                    formatNumber(pt.efficiency).c_str(), formatNumber(pt.karpFlatt, "%.3f").c_str());
            if (a->valid && a->points.size() > 1)
                std::printf("  %-7s Amdahl fit: serial fraction %s, asymptotic speedup %s\n", "",
                    formatNumber(a->serialFraction, "%.3f").c_str(), formatNumber(a->asymptoticSpeedup).c_str());
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app { "LLM Thread Playground, headless: run a llama-family GGUF model on N threads and measure it" };
    app.require_subcommand(1);

    ModelChoice model;
    ParallelOptions parallel;
    WorkloadOptions workload;
    bool json = false;
    std::string traceOut;

    auto* gen = app.add_subcommand("generate", "generate text from one or more prompts, then print speed figures");
    model.add(gen);
    parallel.add(gen);
    workload.add(gen);
    workload.addStrategy(gen, false);
    gen->add_flag("--json", json, "print one JSON object with the text, token ids and figures");
    gen->add_option("--trace", traceOut, "also write a Chrome trace (JSON) of the run to this file");

    auto* trc = app.add_subcommand("trace", "run prompts with tracing on and write a Chrome/Perfetto trace");
    model.add(trc);
    parallel.add(trc);
    workload.add(trc);
    workload.addStrategy(trc, false);
    trc->add_option("--out,-o", traceOut, "trace file to write (Chrome Trace Event JSON)")->required();

    std::string text;
    bool pieces = false, noBos = false;
    auto* tok = app.add_subcommand("tokenize", "print the token ids of a text");
    model.add(tok);
    tok->add_option("--text", text, "the text")->required();
    tok->add_flag("--pieces", pieces, "also print the pieces");
    tok->add_flag("--no-bos", noBos, "do not prepend the BOS token");

    std::string inspectPath;
    auto* insp = app.add_subcommand("inspect", "print a GGUF file's metadata, hyper-parameters and tensor table");
    insp->add_option("--model,-m", inspectPath, "GGUF file")->required();

    engine::BenchOptions bench;
    std::string threadList = "1,2";
    std::string benchOut;
    bool noBandwidth = false;
    int probeMiB = 1024;
    auto* bnc = app.add_subcommand("bench", "prefill and decode tokens/s per thread count, with the memory ceiling");
    model.add(bnc);
    bnc->add_option("--threads,-t", threadList, "comma-separated thread counts")->capture_default_str();
    bnc->add_option("--prompt-tokens", bench.promptTokens, "prefill length")->capture_default_str();
    bnc->add_option("--decode-tokens", bench.decodeTokens, "decoded tokens per run")->capture_default_str();
    bnc->add_option("--repeat", bench.repeat, "measured runs (after one warm-up)")->capture_default_str();
    parallel.addScheduling(bnc);
    bnc->add_flag("--no-bandwidth", noBandwidth, "skip the memory bandwidth probe");
    bnc->add_option("--probe-mib", probeMiB, "bandwidth probe buffer size in MiB")->capture_default_str();
    bnc->add_option("--json", benchOut, "also write the JSON report to this file");

    int repeat = 3, warmup = 1;
    bool scaled = false;
    std::string sweepJson, sweepCsv;
    auto* swp = app.add_subcommand("sweep", "repeat a workload over thread counts and strategies; speedup, Amdahl fit");
    model.add(swp);
    workload.add(swp);
    workload.addStrategy(swp, true);
    swp->add_option("--threads,-t", threadList, "comma-separated thread counts")->capture_default_str();
    parallel.addScheduling(swp);
    swp->add_option("--repeat,-r", repeat, "measured runs per point")->capture_default_str();
    swp->add_option("--warmup", warmup, "unmeasured runs per point first")->capture_default_str();
    swp->add_flag("--scaled", scaled, "grow the work with p: p copies of the prompts at p threads (Gustafson)");
    swp->add_option("--json", sweepJson, "write the sweep as JSON to this file");
    swp->add_option("--csv", sweepCsv, "write the sweep as CSV to this file");

    std::string quantIn, quantOut, quantType, quantSynthetic;
    auto* qnt = app.add_subcommand("quantize", "write a copy of a GGUF model with its matrices quantised");
    auto* quantModelOpt = qnt->add_option("--model,-m", quantIn, "input GGUF file");
    auto* quantSyntheticOpt = qnt->add_option("--synthetic", quantSynthetic,
        "input: random weights in a named shape (tiny, 15M, 110M, 1B); with --type F32 written as they are");
    quantModelOpt->excludes(quantSyntheticOpt);
    qnt->add_option("--type", quantType, "Q8_0, Q4_0, Q5_0, Q4_K, Q5_K or Q6_K (F32 too, with --synthetic)")
        ->required();
    qnt->add_option("--out,-o", quantOut, "output GGUF file")->required();

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
        if (gen->parsed())
            return runGenerate(model, parallel, workload, json, traceOut, argv[0]);
        if (trc->parsed())
            return runGenerate(model, parallel, workload, false, traceOut, argv[0]);
        if (tok->parsed())
            return runTokenize(model, text, pieces, noBos, argv[0]);
        if (insp->parsed())
            return runInspect(inspectPath);
        if (bnc->parsed()) {
            bench.threads = parseThreadList(threadList);
            const auto so = parallel.options();
            bench.partitioner = so.partitioner;
            bench.grain = so.grain;
            bench.pinThreads = so.pinThreads;
            bench.probeBandwidth = !noBandwidth;
            if (probeMiB < 64 || probeMiB > 16384)
                throw UsageError("--probe-mib must be between 64 and 16384");
            bench.probeBytes = uint64_t(probeMiB) << 20;
            try {
                bench.validate();
            } catch (const std::invalid_argument& e) {
                throw UsageError(e.what());
            }
            if (bench.probeBandwidth) { // before the model: see BenchOptions::measuredBandwidth
                // Most threads first: the buffer's pages are first touched by as many threads as
                // will read them. (On this VM a buffer first touched by one thread read at 35 GB/s
                // from two threads, one touched by two at 56 GB/s: where a page lands matters.)
                std::vector<int> probes = bench.threads;
                std::sort(probes.rbegin(), probes.rend());
                for (int t : probes) {
                    const int p = std::min(t, engine::Scheduler::hardwareThreads());
                    bool have = false;
                    for (const auto& b : bench.measuredBandwidth)
                        have = have || b.threads == p;
                    if (!have)
                        bench.measuredBandwidth.push_back(engine::measureReadBandwidth(p, bench.probeBytes));
                }
            }
            const auto m = model.load(argv[0]);
            const auto report = engine::runBench(m, bench);
            std::cout << report.dump(2) << "\n";
            if (!benchOut.empty()) {
                std::ofstream out(benchOut);
                out << report.dump(2) << "\n";
                if (!out)
                    throw std::runtime_error("cannot write '" + benchOut + "'");
            }
            return 0;
        }
        if (swp->parsed()) {
            engine::SweepRequest sweep;
            sweep.threads = parseThreadList(threadList);
            sweep.strategies = workload.strategies();
            sweep.repeat = repeat;
            sweep.warmup = warmup;
            sweep.scaledWork = scaled;
            const auto so = parallel.options();
            const auto m = model.load(argv[0]);
            sweep.workload = workload.request(*m);
            sweep.workload.scheduler = so;
            try {
                sweep.validate();
            } catch (const std::invalid_argument& e) {
                throw UsageError(e.what());
            }
            const auto result = engine::runSweep(m, sweep, [](int done, int total, const std::string& label) {
                std::fprintf(stderr, "\r[%3d/%3d] %-48s", done, total, label.c_str());
                std::fflush(stderr);
                return true;
            });
            std::fprintf(stderr, "\n");
            std::printf("sweep of %s on %s (%d logical cores)\n", m->source().c_str(),
                result.machine.value("cpu", std::string("?")).c_str(), engine::Scheduler::hardwareThreads());
            printSweepTable(result);
            auto writeText = [](const std::string& path, const std::string& content) {
                std::ofstream out(path, std::ios::binary);
                out << content;
                if (!out)
                    throw std::runtime_error("cannot write '" + path + "'");
            };
            if (!sweepJson.empty())
                writeText(sweepJson, engine::sweepToJson(result).dump(2) + "\n");
            if (!sweepCsv.empty())
                writeText(sweepCsv, engine::sweepToCsv(result));
            return 0;
        }
        if (qnt->parsed()) {
            if (quantIn.empty() == quantSynthetic.empty())
                throw UsageError("quantize needs --model FILE or --synthetic SHAPE");
            const auto type = engine::ggmlTypeFromName(quantType);
            const bool plainF32 = !quantSynthetic.empty() && type == engine::GgmlType::F32;
            if (!plainF32 && (!type || !engine::isQuantizeTarget(*type)))
                throw UsageError("--type must be one of Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K (or F32 with --synthetic)");
            // Random weights in a named shape: written as a GGUF file first, so that benchmarks can run
            // the same shape from a file, in F32 or quantised.
            struct RemoveOnExit {
                std::string path;
                ~RemoveOnExit()
                {
                    if (!path.empty())
                        std::remove(path.c_str());
                }
            } temporary;
            if (!quantSynthetic.empty()) {
                std::vector<uint8_t> bytes;
                try {
                    bytes = engine::syntheticModelGguf(engine::syntheticShape(quantSynthetic));
                } catch (const std::invalid_argument& e) {
                    throw UsageError(e.what());
                }
                quantIn = plainF32 ? quantOut : quantOut + ".f32.tmp";
                if (!plainF32)
                    temporary.path = quantIn;
                std::ofstream f(quantIn, std::ios::binary);
                if (!f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())) || !f.flush())
                    throw std::runtime_error("cannot write " + quantIn);
                if (plainF32) {
                    std::printf("synthetic %s -> %s (F32): %.1f MiB\n", quantSynthetic.c_str(), quantOut.c_str(),
                        double(bytes.size()) / (1 << 20));
                    return 0;
                }
            }
            const auto report = engine::quantizeModel(quantIn, quantOut, *type);
            for (const auto& t : report.tensors)
                std::printf("  %-32s %-5s -> %-5s %12llu -> %12llu bytes %s\n", t.name.c_str(),
                    engine::ggmlTypeName(t.from), engine::ggmlTypeName(t.to), (unsigned long long)t.bytesBefore,
                    (unsigned long long)t.bytesAfter, t.note.c_str());
            std::printf("%s -> %s (%s): %d tensors quantised, %d kept; %.1f MiB -> %.1f MiB in %.1f s\n",
                quantSynthetic.empty() ? quantIn.c_str() : ("synthetic " + quantSynthetic).c_str(), quantOut.c_str(),
                engine::ggmlTypeName(*type), report.convertedCount(), report.keptCount(),
                double(report.fileBytesBefore) / (1 << 20), double(report.fileBytesAfter) / (1 << 20), report.seconds);
            return 0;
        }
    } catch (const UsageError& e) {
        std::cerr << "error: " << e.what() << "\n\n" << app.help();
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
