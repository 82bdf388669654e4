#include "app/cli/options.h"

#include "engine/model/synthetic.h"
#include "engine/text/chattemplate.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace cli {

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UsageError("cannot read prompt file '" + path + "'");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

void ModelChoice::add(CLI::App* cmd)
{
    cmd->add_option("--model,-m", path, "GGUF model file (default: the shipped model)");
    cmd->add_option("--synthetic", synthetic, "use a synthetic model instead: tiny, 15M, 110M or 1B");
}

std::shared_ptr<const engine::Model> ModelChoice::load(const std::string& argv0) const
{
    if (!path.empty() && !synthetic.empty())
        throw UsageError("give either --model or --synthetic, not both");
    if (!synthetic.empty()) {
        asUsageError([&] { engine::syntheticShape(synthetic); });
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

int ModelChoice::trainedContextBeforeLoad() const
{
    if (synthetic.empty() || !path.empty())
        return 0;
    int trained = 0;
    asUsageError([&] { trained = engine::syntheticShape(synthetic).contextLength; });
    return trained;
}

void ParallelOptions::add(CLI::App* cmd)
{
    cmd->add_option("--threads,-t", threads, "worker threads in the arena (1-256)")->capture_default_str();
    addScheduling(cmd);
}

void ParallelOptions::addScheduling(CLI::App* cmd)
{
    cmd->add_option("--partitioner", partitioner, "auto, simple, static or affinity")->capture_default_str();
    cmd->add_option("--grain", grain, "minimum blocks per chunk (TBB grain size)")->capture_default_str();
    cmd->add_flag("--pin", pin, "pin each arena slot's thread to its own core while it runs");
}

engine::SchedulerOptions ParallelOptions::options() const
{
    const auto p = engine::partitionerFromName(partitioner);
    if (!p)
        throw UsageError("unknown partitioner '" + partitioner + "' (auto, simple, static, affinity)");
    engine::SchedulerOptions o { threads, *p, grain };
    o.pinThreads = pin;
    asUsageError([&] { o.validate(); });
    return o;
}

void WorkloadOptions::add(CLI::App* cmd)
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
    cmd->add_option("--min-p", sampling.minP, "drop tokens below min-p x the top probability")->capture_default_str();
    cmd->add_option("--repeat-penalty", sampling.repeatPenalty, "penalty for recent tokens (1 = off)")
        ->capture_default_str();
    cmd->add_option("--seed", sampling.seed, "sampling seed (0 to 2^64-1)")
        ->capture_default_str()
        ->check(CLI::Validator(
            [](std::string& text) {
                // CLI11 would wrap a negative number into a huge unsigned seed without a word.
                return text.find('-') != std::string::npos ? std::string("the seed cannot be negative") : std::string();
            },
            "SEED"));
    cmd->add_option("--ctx", ctx, "context length (0 = min(model context, 2048))")->capture_default_str();
    cmd->add_flag("--allow-ctx-overflow", allowCtxOverflow,
        "allow a --ctx above the model's trained context length (refused otherwise)");
}

void WorkloadOptions::checkBeforeLoad(const ModelChoice& model) const
{
    // Everything that does not need the model is checked here, before a model (up to 2 GB synthetic) is built.
    strategies();
    if (chat && raw)
        throw UsageError("give either --chat or --raw, not both");
    engine::RunRequest r;
    r.prompts = { "x" }; // the prompts themselves are read later; validate() wants one
    r.sampling = sampling;
    r.maxTokens = maxTokens;
    r.scheduler.threads = 1;
    asUsageError([&] { r.validate(); });
    if (ctx < 0 || ctx > (1 << 20))
        throw UsageError("--ctx must be between 0 (model default) and 1048576");
    if (const int trained = model.trainedContextBeforeLoad(); trained > 0)
        asUsageError([&] { engine::resolveContextLength(ctx, trained, allowCtxOverflow); });
}

void WorkloadOptions::addStrategy(CLI::App* cmd, bool list)
{
    cmd->add_option("--strategy,-s", strategy,
           list ? "comma-separated strategies: intra-op, request, hybrid, pipeline"
                : "how work is split: intra-op, request, hybrid or pipeline")
        ->capture_default_str();
}

std::vector<engine::Strategy> WorkloadOptions::strategies() const
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

engine::RunRequest WorkloadOptions::request(const engine::Model& model) const
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
    r.allowContextOverflow = allowCtxOverflow;
    r.strategy = strategies().front();
    asUsageError([&] {
        r.scheduler.threads = 1;
        r.validateFor(model.config().contextLength);
    });
    return r;
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

} // namespace cli
