// Picks the next token from logits: greedy at temperature 0, else repetition penalty, top-k, top-p, min-p, temperature.
#pragma once

#include <cstdint>
#include <random>
#include <span>
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

    const SamplingParams& params() const { return m_params; }

private:
    SamplingParams m_params;
    std::mt19937_64 m_rng;
    std::vector<std::pair<float, int32_t>> m_candidates; // scratch: (logit, id)
    std::vector<double> m_probs; // scratch: candidate probabilities
    std::vector<uint8_t> m_penalized; // scratch: 1 for ids already penalised this call
    std::vector<int32_t> m_touched; // scratch: the ids set in m_penalized
};

} // namespace engine
