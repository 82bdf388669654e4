// Prompt A/B: prompt variants compared fairly, each run with the same settings under the same several seeds.
//
// One run per seed holds every variant as a sequence (request-parallel by default: the variants are independent), so
// within a seed every variant sees the same sampling settings and the same seed. Every sample keeps the probability
// of each token it drew (drawnTokenProbability: under the final distribution after the sampler's penalty,
// truncations and temperature; greedy: the raw logits' softmax at temperature 1) and the figures below are computed
// from those numbers alone, so a reader can recompute them from the export.
#pragma once

#include "engine/run/run.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace engine {

struct PromptAbRequest {
    std::vector<std::string> variants; // the prompts compared
    int seeds = 5; // samples per variant: seeds firstSeed, firstSeed + 1, ...
    uint64_t firstSeed = 1;
    // Everything else of the runs: sampling (its seed is replaced), max tokens, chat and system prompt, strategy
    // (request by default), scheduler, context. Tracing is off: the figures are timed without it.
    RunRequest run;

    PromptAbRequest();
    void validate() const; // throws std::invalid_argument
};

// One variant under one seed.
struct PromptAbSample {
    int variant = 0; // index into the variants, from 0; the exports and tables number them from 1
    uint64_t seed = 0;
    std::string output;
    std::vector<int32_t> tokenIds;
    std::vector<double> tokenProbabilities; // of each generated token, as drawn
    StopReason stopReason = StopReason::MaxTokens;
    int tokens = 0; // generated tokens (the EOS that stopped a sample is not one: it has no probability here)
    double meanProbability = 0.0; // mean of tokenProbabilities (NaN without tokens)
    double perplexity = 0.0; // exp(-mean(ln p)) over tokenProbabilities (NaN without tokens)
    double timeToFirstTokenMs = 0.0; // from the run's start (request-parallel: the variants' prefills share cores)
    double tokensPerSecond = 0.0; // decode: tokens after the first over their time (GenerationStats)
};

// Per variant, over its seeds: lengths, times and rates averaged over the samples; probability and perplexity
// pooled over every token of every sample (a long sample weighs more than a short one, as in a corpus perplexity).
struct PromptAbVariant {
    std::string prompt;
    int samples = 0;
    int distinctOutputs = 0; // how many different texts the seeds gave
    double meanTokens = 0.0;
    double meanProbability = 0.0;
    double perplexity = 0.0;
    double meanTimeToFirstTokenMs = 0.0;
    double meanTokensPerSecond = 0.0;
};

struct PromptAbResult {
    std::vector<std::string> variants;
    std::vector<uint64_t> seeds;
    RunRequest run; // as run (the last seed in its sampling)
    std::string chatTemplate; // the template the prompts were formatted with ("none": raw completion)
    std::vector<PromptAbSample> samples; // variant-major: variant 0 under every seed, then variant 1 ...
    std::vector<PromptAbVariant> summary; // one per variant
    bool cancelled = false;
    double wallMs = 0.0;
};

// The per-sample figures from tokenProbabilities, and the summary from the samples.
void computeSampleFigures(PromptAbSample& sample);
std::vector<PromptAbVariant> summarizePromptAb(
    const std::vector<std::string>& variants, const std::vector<PromptAbSample>& samples);

// Progress after each seed's run (done runs of total); return false to stop before the next run.
using PromptAbProgress = std::function<bool(int done, int total)>;
PromptAbResult runPromptAb(
    std::shared_ptr<const Model> model, const PromptAbRequest& request, const PromptAbProgress& progress = {});

// Exports. CSV: one row per sample, then one per variant (kind "sample" / "variant"; a variant row leaves seed and
// output empty), RFC 4180 quoting, CRLF. JSON: { "settings": {...}, "variants": [summary...], "samples": [ {...,
// "tokenIds", "tokenProbabilities"} ] }; non-finite numbers are null.
extern const char* const kPromptAbCsvHeader;
std::string promptAbToCsv(const PromptAbResult& result);
nlohmann::json promptAbToJson(const PromptAbResult& result);

} // namespace engine
