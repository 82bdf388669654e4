#include "engine/run/tokenprobability.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace engine {

double softmaxProbability(std::span<const float> logits, int32_t id)
{
    if (id < 0 || size_t(id) >= logits.size())
        throw std::out_of_range("token id " + std::to_string(id) + " outside the logits");
    const double top = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (float l : logits)
        sum += std::exp(double(l) - top);
    return std::exp(double(logits[size_t(id)]) - top) / sum;
}

double drawnTokenProbability(
    Sampler& sampler, std::span<const float> logits, std::span<const int32_t> history, int32_t id)
{
    if (sampler.params().temperature <= 0.0f)
        return softmaxProbability(logits, id);
    for (const auto& [candidate, p] : sampler.distribution(logits, history))
        if (candidate == id)
            return p;
    return 0.0; // not drawable: cannot happen for a token sample() just drew
}

} // namespace engine
