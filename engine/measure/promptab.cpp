#include "engine/measure/promptab.h"

#include "engine/measure/sweepexport.h"
#include "engine/run/runsettings.h"
#include "engine/text/chattemplate.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace engine {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

PromptAbRequest::PromptAbRequest() { run.strategy = Strategy::Request; }

void PromptAbRequest::validate() const
{
    if (variants.empty())
        throw std::invalid_argument("an A/B comparison needs at least one prompt variant");
    if (seeds < 1 || seeds > 1000)
        throw std::invalid_argument("seeds per variant must be between 1 and 1000, got " + std::to_string(seeds));
    RunRequest r = run;
    r.prompts = variants;
    r.validate();
}

void computeSampleFigures(PromptAbSample& s)
{
    s.tokens = int(s.tokenIds.size());
    if (s.tokenProbabilities.empty()) {
        s.meanProbability = kNaN;
        s.perplexity = kNaN;
        return;
    }
    double sum = 0.0, logSum = 0.0;
    for (double p : s.tokenProbabilities) {
        sum += p;
        logSum += std::log(p);
    }
    const double n = double(s.tokenProbabilities.size());
    s.meanProbability = sum / n;
    s.perplexity = std::exp(-logSum / n);
}

std::vector<PromptAbVariant> summarizePromptAb(
    const std::vector<std::string>& variants, const std::vector<PromptAbSample>& samples)
{
    std::vector<PromptAbVariant> out(variants.size());
    std::vector<double> probSum(variants.size()), logSum(variants.size());
    std::vector<size_t> tokenCount(variants.size());
    std::vector<std::set<std::string>> texts(variants.size());
    for (size_t v = 0; v < variants.size(); ++v)
        out[v].prompt = variants[v];
    for (const PromptAbSample& s : samples) {
        if (s.variant < 0 || size_t(s.variant) >= variants.size())
            throw std::out_of_range("A/B sample of variant " + std::to_string(s.variant) + " outside the variants");
        const size_t v = size_t(s.variant);
        PromptAbVariant& a = out[v];
        ++a.samples;
        a.meanTokens += s.tokens;
        a.meanTimeToFirstTokenMs += s.timeToFirstTokenMs;
        a.meanTokensPerSecond += s.tokensPerSecond;
        texts[v].insert(s.output);
        for (double p : s.tokenProbabilities) {
            probSum[v] += p;
            logSum[v] += std::log(p);
        }
        tokenCount[v] += s.tokenProbabilities.size();
    }
    for (size_t v = 0; v < out.size(); ++v) {
        PromptAbVariant& a = out[v];
        a.distinctOutputs = int(texts[v].size());
        const double n = a.samples > 0 ? double(a.samples) : kNaN;
        a.meanTokens /= n;
        a.meanTimeToFirstTokenMs /= n;
        a.meanTokensPerSecond /= n;
        const double t = tokenCount[v] > 0 ? double(tokenCount[v]) : kNaN;
        a.meanProbability = probSum[v] / t;
        a.perplexity = std::exp(-logSum[v] / t);
    }
    return out;
}

PromptAbResult runPromptAb(
    std::shared_ptr<const Model> model, const PromptAbRequest& request, const PromptAbProgress& progress)
{
    request.validate();
    const auto start = std::chrono::steady_clock::now();
    PromptAbResult result;
    result.variants = request.variants;
    RunRequest run = request.run;
    run.prompts = request.variants;
    run.trace = false;
    run.recordTokenProbabilities = true;
    const ChatTemplate family = run.chat ? detectChatTemplate(model->tokenizer().vocab()) : ChatTemplate::None;
    result.chatTemplate = chatTemplateName(family);

    std::vector<std::vector<PromptAbSample>> byVariant(request.variants.size());
    Scheduler scheduler(run.scheduler); // one arena for every seed, as sweeps reuse theirs
    for (int k = 0; k < request.seeds; ++k) {
        run.sampling.seed = request.firstSeed + uint64_t(k);
        const RunResult r = executeRun(model, run, scheduler);
        result.seeds.push_back(run.sampling.seed);
        for (size_t v = 0; v < r.sequences.size(); ++v) {
            const GenerationResult& g = r.sequences[v];
            PromptAbSample s;
            s.variant = int(v);
            s.seed = run.sampling.seed;
            s.output = g.text;
            s.tokenIds = g.tokenIds;
            s.tokenProbabilities = g.tokenProbabilities;
            s.stopReason = g.stats.stopReason;
            s.timeToFirstTokenMs = g.stats.timeToFirstTokenMs;
            s.tokensPerSecond = g.stats.decodeTokensPerSecond();
            computeSampleFigures(s);
            byVariant[v].push_back(std::move(s));
        }
        if (progress && !progress(k + 1, request.seeds) && k + 1 < request.seeds) {
            result.cancelled = true;
            break;
        }
    }
    for (auto& samples : byVariant)
        for (auto& s : samples)
            result.samples.push_back(std::move(s));
    result.summary = summarizePromptAb(result.variants, result.samples);
    result.run = run;
    result.wallMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return result;
}

// Variants are numbered from 1 in the exports, as in the window and the CLI's table (PromptAbSample::variant is an
// index from 0).
const char* const kPromptAbCsvHeader = "kind,variant,prompt,seed,samples,tokens,mean_probability,perplexity,"
                                       "time_to_first_token_ms,tokens_per_second,distinct_outputs,stop,output";

std::string promptAbToCsv(const PromptAbResult& result)
{
    std::string csv = std::string(kPromptAbCsvHeader) + "\r\n";
    auto row = [&csv](const std::vector<std::string>& fields) {
        for (size_t i = 0; i < fields.size(); ++i) {
            if (i > 0)
                csv += ',';
            csv += fields[i];
        }
        csv += "\r\n";
    };
    for (const PromptAbSample& s : result.samples)
        row({ "sample", std::to_string(s.variant + 1), csvField(result.variants[size_t(s.variant)]),
            std::to_string(s.seed), "1", std::to_string(s.tokens), csvNumber(s.meanProbability),
            csvNumber(s.perplexity), csvNumber(s.timeToFirstTokenMs), csvNumber(s.tokensPerSecond), "",
            stopReasonName(s.stopReason), csvField(s.output) });
    for (size_t v = 0; v < result.summary.size(); ++v) {
        const PromptAbVariant& a = result.summary[v];
        row({ "variant", std::to_string(v + 1), csvField(a.prompt), "", std::to_string(a.samples),
            csvNumber(a.meanTokens), csvNumber(a.meanProbability), csvNumber(a.perplexity),
            csvNumber(a.meanTimeToFirstTokenMs), csvNumber(a.meanTokensPerSecond), std::to_string(a.distinctOutputs),
            "", "" });
    }
    return csv;
}

nlohmann::json promptAbToJson(const PromptAbResult& result)
{
    nlohmann::json settings = toJson(result.run);
    settings.erase("prompts");
    settings["seeds"] = result.seeds;
    settings["chatTemplate"] = result.chatTemplate;
    settings["probability"] = result.run.sampling.temperature > 0.0f
        ? "under the final distribution each token was drawn from (after penalty, top-k, top-p, min-p, temperature)"
        : "greedy: under the softmax of the raw logits at temperature 1";
    nlohmann::json variants = nlohmann::json::array();
    for (size_t v = 0; v < result.summary.size(); ++v) {
        const PromptAbVariant& a = result.summary[v];
        variants.push_back({ { "variant", v + 1 }, { "prompt", a.prompt }, { "samples", a.samples },
            { "distinctOutputs", a.distinctOutputs }, { "meanTokens", jsonNumber(a.meanTokens) },
            { "meanProbability", jsonNumber(a.meanProbability) }, { "perplexity", jsonNumber(a.perplexity) },
            { "meanTimeToFirstTokenMs", jsonNumber(a.meanTimeToFirstTokenMs) },
            { "meanTokensPerSecond", jsonNumber(a.meanTokensPerSecond) } });
    }
    nlohmann::json samples = nlohmann::json::array();
    for (const PromptAbSample& s : result.samples)
        samples.push_back(
            { { "variant", s.variant + 1 }, { "seed", s.seed }, { "output", s.output }, { "tokens", s.tokens },
                { "stop", stopReasonName(s.stopReason) }, { "meanProbability", jsonNumber(s.meanProbability) },
                { "perplexity", jsonNumber(s.perplexity) }, { "timeToFirstTokenMs", jsonNumber(s.timeToFirstTokenMs) },
                { "tokensPerSecond", jsonNumber(s.tokensPerSecond) }, { "tokenIds", s.tokenIds },
                { "tokenProbabilities", s.tokenProbabilities } });
    return { { "settings", settings }, { "variants", variants }, { "samples", samples },
        { "cancelled", result.cancelled }, { "wallMs", result.wallMs } };
}

} // namespace engine
