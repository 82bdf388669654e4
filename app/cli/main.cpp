// llm-playground-cli: the engine without a window — generate, tokenize, inspect, bench.
#include "bench.h"
#include "defaults.h"
#include "gguf.h"
#include "model.h"
#include "session.h"
#include "synthetic.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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
    void add(CLI::App* cmd)
    {
        cmd->add_option("--threads,-t", threads, "worker threads in the arena (1-256)")->capture_default_str();
        cmd->add_option("--partitioner", partitioner, "auto, simple, static or affinity")->capture_default_str();
        cmd->add_option("--grain", grain, "minimum blocks per chunk (TBB grain size)")->capture_default_str();
    }
    engine::SchedulerOptions options() const
    {
        const auto p = engine::partitionerFromName(partitioner);
        if (!p)
            throw UsageError("unknown partitioner '" + partitioner + "' (auto, simple, static, affinity)");
        engine::SchedulerOptions o { threads, *p, grain };
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

int runGenerate(const ModelChoice& model, const ParallelOptions& parallel, engine::GenerationRequest request,
    const std::string& promptFile, int ctx, bool json, const std::string& argv0)
{
    if (!promptFile.empty())
        request.prompt = readFile(promptFile);
    try {
        request.validate();
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    if (ctx < 0 || ctx > (1 << 20))
        throw UsageError("--ctx must be between 0 (model default) and 1048576");
    const auto schedulerOptions = parallel.options();
    auto m = model.load(argv0);
    engine::Scheduler scheduler(schedulerOptions);
    if (scheduler.oversubscribed())
        std::cerr << "note: " << scheduler.threads() << " threads on " << engine::Scheduler::hardwareThreads()
                  << " cores: oversubscribed\n";
    auto onToken = [&](int32_t, std::string_view text) {
        if (!json) {
            std::cout << text;
            std::cout.flush();
        }
        return true;
    };
    const engine::GenerationResult r = engine::generate(m, scheduler, request, ctx, onToken);
    const auto& s = r.stats;
    if (json) {
        nlohmann::json j;
        j["model"] = m->source();
        j["prompt"] = request.prompt;
        j["text"] = r.text;
        j["prompt_token_ids"] = r.promptIds;
        j["token_ids"] = r.tokenIds;
        j["prompt_tokens"] = s.promptTokens;
        j["generated_tokens"] = s.generatedTokens;
        j["prefill_ms"] = s.prefillMs;
        j["prefill_tps"] = s.prefillTokensPerSecond();
        j["time_to_first_token_ms"] = s.timeToFirstTokenMs;
        j["decode_ms"] = s.decodeMs;
        j["decode_tps"] = s.decodeTokensPerSecond();
        j["total_ms"] = s.totalMs;
        j["stop_reason"] = s.stopReason;
        j["threads"] = scheduler.threads();
        j["partitioner"] = engine::partitionerName(scheduler.options().partitioner);
        j["peak_rss_mib"] = double(peakRssKiB()) / 1024.0;
        // Generated text is valid UTF-8 by construction; replace rather than throw if a prompt file was not.
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        std::cout << "\n";
        std::fprintf(stderr,
            "\n[%s] prompt tokens: %d | prefill: %.1f ms (%.1f tokens/s) | time to first token: %.1f ms | "
            "generated: %d (%s) | decode: %.1f tokens/s | threads: %d | peak RSS: %.1f MiB\n",
            m->source().c_str(), s.promptTokens, s.prefillMs, s.prefillTokensPerSecond(), s.timeToFirstTokenMs,
            s.generatedTokens, s.stopReason.c_str(), s.decodeTokensPerSecond(), scheduler.threads(),
            double(peakRssKiB()) / 1024.0);
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
                  << (model->tiedEmbeddings() ? ", tied embeddings" : "") << "\n  weights read per token: "
                  << model->weightBytesPerToken() / (1 << 20) << " MiB\n";
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

} // namespace

int main(int argc, char** argv)
{
    CLI::App app { "LLM Thread Playground, headless: run a llama-family GGUF model on N threads and measure it" };
    app.require_subcommand(1);

    ModelChoice model;
    ParallelOptions parallel;
    engine::GenerationRequest request;
    request.prompt = engine::kDefaultPrompt;
    request.maxTokens = engine::kDefaultMaxTokens;
    std::string promptFile;
    int ctx = 0;
    bool json = false;

    auto* gen = app.add_subcommand("generate", "generate text from a prompt, then print speed figures");
    model.add(gen);
    parallel.add(gen);
    gen->add_option("--prompt,-p", request.prompt, "the prompt text")->capture_default_str();
    gen->add_option("--prompt-file", promptFile, "read the prompt from a file");
    gen->add_option("--max-tokens,-n", request.maxTokens, "tokens to generate")->capture_default_str();
    gen->add_option("--temperature", request.sampling.temperature, "0 = greedy")->capture_default_str();
    gen->add_option("--top-k", request.sampling.topK, "keep the k most likely tokens (0 = off)")->capture_default_str();
    gen->add_option("--top-p", request.sampling.topP, "nucleus sampling threshold (1 = off)")->capture_default_str();
    gen->add_option("--min-p", request.sampling.minP, "drop tokens below min-p x the top probability")
        ->capture_default_str();
    gen->add_option("--repeat-penalty", request.sampling.repeatPenalty, "penalty for recent tokens (1 = off)")
        ->capture_default_str();
    gen->add_option("--seed", request.sampling.seed, "sampling seed")->capture_default_str();
    gen->add_option("--ctx", ctx, "context length (0 = min(model context, 2048))")->capture_default_str();
    gen->add_flag("--json", json, "print one JSON object with the text, token ids and figures");

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
    std::string benchThreads = "1,2";
    std::string benchOut;
    bool noBandwidth = false;
    int probeMiB = 1024;
    auto* bnc = app.add_subcommand("bench", "prefill and decode tokens/s per thread count, with the memory ceiling");
    model.add(bnc);
    bnc->add_option("--threads,-t", benchThreads, "comma-separated thread counts")->capture_default_str();
    bnc->add_option("--prompt-tokens", bench.promptTokens, "prefill length")->capture_default_str();
    bnc->add_option("--decode-tokens", bench.decodeTokens, "decoded tokens per run")->capture_default_str();
    bnc->add_option("--repeat", bench.repeat, "measured runs (after one warm-up)")->capture_default_str();
    bnc->add_option("--partitioner", parallel.partitioner, "auto, simple, static or affinity")->capture_default_str();
    bnc->add_option("--grain", parallel.grain, "minimum blocks per chunk")->capture_default_str();
    bnc->add_flag("--no-bandwidth", noBandwidth, "skip the memory bandwidth probe");
    bnc->add_option("--probe-mib", probeMiB, "bandwidth probe buffer size in MiB")->capture_default_str();
    bnc->add_option("--json", benchOut, "also write the JSON report to this file");

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
            return runGenerate(model, parallel, request, promptFile, ctx, json, argv[0]);
        if (tok->parsed())
            return runTokenize(model, text, pieces, noBos, argv[0]);
        if (insp->parsed())
            return runInspect(inspectPath);
        if (bnc->parsed()) {
            bench.threads = parseThreadList(benchThreads);
            const auto so = parallel.options();
            bench.partitioner = so.partitioner;
            bench.grain = so.grain;
            bench.probeBandwidth = !noBandwidth;
            if (probeMiB < 64 || probeMiB > 16384)
                throw UsageError("--probe-mib must be between 64 and 16384");
            bench.probeBytes = uint64_t(probeMiB) << 20;
            try {
                bench.validate();
            } catch (const std::invalid_argument& e) {
                throw UsageError(e.what());
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
