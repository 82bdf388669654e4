// How sure the sampler was of the token it drew: the figure behind mean token probability and perplexity.
#pragma once

#include "engine/model/sampler.h"

#include <cstdint>
#include <span>

namespace engine {

// The probability of `id` under the final distribution the sampler drew it from: after the repetition penalty,
// top-k, top-p, min-p and the temperature (Sampler::distribution), so a token the truncations made certain has 1.
// Greedy sampling (temperature 0) draws from no distribution (the argmax is certain), so for it this is the
// token's probability under the softmax of the raw logits at temperature 1, without penalty or truncation. Call it
// with the logits and history sample() was given; it does not advance the sampler's generator.
double drawnTokenProbability(
    Sampler& sampler, std::span<const float> logits, std::span<const int32_t> history, int32_t id);

// The softmax of the raw logits at temperature 1, at `id` (computed in double, max subtracted).
double softmaxProbability(std::span<const float> logits, int32_t id);

} // namespace engine
