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
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace engine {

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

    SamplingParams m_params;
    std::mt19937_64 m_rng;
    std::vector<std::pair<float, int32_t>> m_candidates; // scratch: (logit, id)
    std::vector<double> m_probs; // scratch: candidate probabilities (temperature 1 for top-p, then at T)
    std::vector<uint8_t> m_penalized; // scratch: 1 for ids already penalised this call
    std::vector<int32_t> m_touched; // scratch: the ids set in m_penalized
};

} // namespace engine
