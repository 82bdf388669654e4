// Picks the next token from logits.
//
// Temperature 0 is greedy: the argmax of the raw logits (lowest id on ties), no penalty, no RNG draw.
// Otherwise the logits go through llama.cpp's default sampler chain (common_params_sampling::samplers; typical-p,
// top-n-sigma, XTC and DRY are off there by default and not built here), in this order:
//   1. repetition penalty  over the last repeatLastN tokens of the history, once per distinct token
//   2. top-k               the k highest logits (<= 0: off)
//   3. top-p               softmax at temperature 1 over what top-k left; the smallest prefix whose cumulative
//                          probability reaches topP (>=), at least one token (>= 1: off)
//   4. min-p               of what top-p left, the tokens with p >= minP * p_max, p at temperature 1 (0: off)
//   5. temperature         the survivors' logits divided by T
//   6. draw                from the survivors' softmax, with one uniform draw from the seeded generator
// Truncation (2-4) therefore never depends on the temperature: T only reshapes the kept tokens' probabilities.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace engine {

// A step of the chain. Sampler::chain() lists the ones it applies, in its order.
enum class SamplerStage : uint8_t {
    RepetitionPenalty,
    TopK,
    TopP,
    MinP,
    Temperature,
    Greedy, // temperature 0: the argmax alone, instead of the whole chain
};
const char* samplerStageName(SamplerStage stage); // "repetition_penalty", "top_k", "top_p", "min_p", "temperature", ...
struct SamplingParams;
// The stages Sampler applies for these params, in its order: {Greedy} at temperature 0, else the whole chain
// (stages switched off by their value are listed too: they keep everything).
std::span<const SamplerStage> samplerChain(const SamplingParams& params);

// One candidate for a generated token, seen through the chain. Probabilities are at temperature 1 until the
// temperature stage; each truncation's figure is the softmax over what that stage kept (0 once removed).
struct TokenAlternative {
    int32_t id = -1;
    std::string text; // what the token stands for; filled by the generation (the sampler has no tokenizer)
    float logit = 0.0f; // raw, as the model gave it
    float penalizedLogit = 0.0f; // after the repetition penalty
    bool penalized = false; // the repetition penalty changed its logit
    double rawProbability = 0.0; // softmax of the raw logits over the whole vocabulary
    double penalizedProbability = 0.0; // softmax over the whole vocabulary after the repetition penalty
    double afterTopK = 0.0;
    double afterTopP = 0.0;
    double afterMinP = 0.0;
    double finalProbability = 0.0; // what the draw used (after the temperature); 0 when removed
    std::optional<SamplerStage> removedBy; // TopK, TopP, MinP or Greedy; empty: it survived to the draw

    // Its probability once `stage` has been applied (Greedy, Temperature: the final one).
    double probabilityAfter(SamplerStage stage) const;
};

// What the sampler saw and did for one token.
struct TokenAlternatives {
    int32_t sampled = -1; // what the draw gave
    int32_t chosen = -1; // what the sequence took: the sampled token, or the one the caller forced
    bool forced = false;
    bool greedy = false; // temperature 0: the final distribution is one-hot on the argmax
    double rawEntropyBits = 0.0; // of the raw softmax over the whole vocabulary
    double finalEntropyBits = 0.0; // of the distribution drawn from (0 when greedy)
    int32_t vocabulary = 0;
    // How many candidates each truncation left (greedy: 1 each).
    int32_t keptAfterTopK = 0;
    int32_t keptAfterTopP = 0;
    int32_t keptAfterMinP = 0;
    // The best `topN` by logit after the penalty (the chain's own order, so the truncations cut this list from the
    // bottom), then the sampled token and any asked-for extra id when they are not among them.
    std::vector<TokenAlternative> candidates;

    const TokenAlternative* find(int32_t id) const; // nullptr when not listed
};

struct SamplingParams {
    float temperature = 0.8f; // 0 = greedy: argmax of the raw logits (ties -> lowest id), no penalty, no RNG draw
    int32_t topK = 40; // <= 0: off
    float topP = 0.95f; // >= 1: off
    float minP = 0.05f; // <= 0: off
    float repeatPenalty = 1.1f; // 1: off; applied to the last repeatLastN tokens (llama.cpp's rule)
    int32_t repeatLastN = 64;
    uint64_t seed = 42;

    // Throws std::invalid_argument with a readable message for out-of-range values
    // (negative or non-finite temperature, topP outside (0,1], minP outside [0,1], penalty <= 0 ...).
    void validate() const;
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& params);

    // `logits` is one row of vocabulary size (copied, not modified). `history` holds the tokens so
    // far (prompt and generated) for the repetition penalty. Same params + seed + inputs => same output.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
    // The same draw (same result, same RNG advance), and `out` describes it: the best `topN` candidates, the sampled
    // one, and `alsoInclude` (>= 0, e.g. a token the caller will force) with their probabilities at every stage.
    // Costs a few passes over the vocabulary on top of sample().
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history, int topN, TokenAlternatives& out,
        int32_t alsoInclude = -1);

    std::span<const SamplerStage> chain() const { return samplerChain(m_params); } // in the order sample() applies

    // What sample() draws from for these inputs: (id, probability) of every token the chain keeps, best first,
    // probabilities summing to 1. At temperature 0 the single greedy token with 1. Does not advance the RNG.
    std::vector<std::pair<int32_t, double>> distribution(
        std::span<const float> logits, std::span<const int32_t> history);

    const SamplingParams& params() const { return m_params; }

private:
    // Steps 1-5 of the chain: leaves the survivors, best first, in m_candidates[0, count) and their unnormalised
    // probabilities at the temperature in m_probs[0, count); returns count (>= 1).
    size_t applyChain(std::span<const float> logits, std::span<const int32_t> history);
    static int32_t greedy(std::span<const float> logits);
    int32_t draw(size_t count); // one RNG draw from m_probs[0, count)
    void explainChain(std::span<const float> logits, size_t count, int topN, int32_t sampled, int32_t alsoInclude,
        TokenAlternatives& out);
    void explainGreedy(
        std::span<const float> logits, int topN, int32_t sampled, int32_t alsoInclude, TokenAlternatives& out);

    SamplingParams m_params;
    std::mt19937_64 m_rng;
    std::vector<std::pair<float, int32_t>> m_candidates; // scratch: (logit, id)
    std::vector<double> m_probs; // scratch: candidate probabilities (temperature 1 for top-p, then at T)
    std::vector<uint8_t> m_penalized; // scratch: 1 for ids already penalised this call
    std::vector<int32_t> m_touched; // scratch: the ids the penalty changed this call
    std::vector<float> m_touchedLogits; // scratch: their logits after the penalty
    size_t m_keptAfterTopK = 0; // candidates left by each truncation of the last applyChain
    size_t m_keptAfterTopP = 0;
};

} // namespace engine
