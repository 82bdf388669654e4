#include "engine/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace engine {

namespace {

// Deterministic candidate order: higher logit first, then lower id, so ties never depend on the
// sort algorithm.
// A function object, not a function: passed to the std algorithms as a pointer, the comparison
// becomes an indirect call per comparison, which dominated the sampler's time.
constexpr auto ranksHigher = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
};

// Uniform in [0, 1) from the top 53 bits of one raw 64-bit draw: the same on every standard library,
// unlike std::uniform_real_distribution.
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// NaN means "impossible" (-inf); +inf would turn the softmax into NaN, so it becomes the largest float.
float sanitize(float logit)
{
    if (std::isnan(logit))
        return -std::numeric_limits<float>::infinity();
    if (logit == std::numeric_limits<float>::infinity())
        return std::numeric_limits<float>::max();
    return logit;
}

} // namespace

void SamplingParams::validate() const
{
    if (!std::isfinite(temperature) || temperature < 0.0f)
        throw std::invalid_argument(
            "temperature must be a finite number >= 0 (0 = greedy), got " + std::to_string(temperature));
    if (!(topP > 0.0f && topP <= 1.0f)) // also rejects NaN
        throw std::invalid_argument("top-p must be in (0, 1] (1 = off), got " + std::to_string(topP));
    if (!(minP >= 0.0f && minP <= 1.0f))
        throw std::invalid_argument("min-p must be in [0, 1] (0 = off), got " + std::to_string(minP));
    if (!std::isfinite(repeatPenalty) || repeatPenalty <= 0.0f)
        throw std::invalid_argument(
            "repeat penalty must be a finite number > 0 (1 = off), got " + std::to_string(repeatPenalty));
    if (repeatLastN < 0)
        throw std::invalid_argument("repeat-last-n must be >= 0 (0 = off), got " + std::to_string(repeatLastN));
}

Sampler::Sampler(const SamplingParams& params)
    : m_params(params)
    , m_rng(params.seed)
{
    m_params.validate();
}

size_t Sampler::applyChain(std::span<const float> logits, std::span<const int32_t> history)
{
    if (logits.empty())
        throw std::invalid_argument("sampler: empty logits");
    const auto n = int32_t(logits.size());

    m_candidates.resize(size_t(n));
    bool anyFinite = false;
    for (int32_t i = 0; i < n; ++i) {
        const float l = sanitize(logits[size_t(i)]);
        anyFinite = anyFinite || l > -std::numeric_limits<float>::infinity();
        m_candidates[size_t(i)] = { l, i };
    }
    if (!anyFinite)
        throw std::runtime_error("sampler: every logit is NaN or -inf (the model produced no usable output)");

    // 1. Repetition penalty (llama.cpp's rule, once per distinct token of the window): shrink positive logits,
    //    push negative ones further down.
    if (m_params.repeatPenalty != 1.0f && m_params.repeatLastN > 0 && !history.empty()) {
        const size_t window = std::min(history.size(), size_t(m_params.repeatLastN));
        m_penalized.resize(size_t(n), 0); // a flag per id, cleared again below: no allocation per call
        m_touched.clear();
        for (int32_t id : history.subspan(history.size() - window)) {
            if (id < 0 || id >= n || m_penalized[size_t(id)])
                continue;
            m_penalized[size_t(id)] = 1;
            m_touched.push_back(id);
            float& l = m_candidates[size_t(id)].first;
            l = l > 0.0f ? l / m_params.repeatPenalty : l * m_params.repeatPenalty;
        }
        for (int32_t id : m_touched)
            m_penalized[size_t(id)] = 0;
    }

    // 2. Top-k: only the k best need ordering, which matters with 32k-150k vocabularies.
    size_t count = m_candidates.size();
    if (m_params.topK > 0 && size_t(m_params.topK) < count) {
        count = size_t(m_params.topK);
        // The k best in one pass with a k-element heap whose top is the worst kept (most candidates
        // lose one comparison against it), then only those sorted. ranksHigher is a strict total
        // order, so the set and its order are exactly what sorting everything would give.
        auto heapEnd = m_candidates.begin() + ptrdiff_t(count);
        std::make_heap(m_candidates.begin(), heapEnd, ranksHigher);
        for (auto it = heapEnd; it != m_candidates.end(); ++it) {
            if (ranksHigher(*it, m_candidates.front())) {
                std::pop_heap(m_candidates.begin(), heapEnd, ranksHigher);
                *(heapEnd - 1) = *it;
                std::push_heap(m_candidates.begin(), heapEnd, ranksHigher);
            }
        }
        std::sort_heap(m_candidates.begin(), heapEnd, ranksHigher);
    } else {
        std::sort(m_candidates.begin(), m_candidates.end(), ranksHigher);
    }
    // From here on the first `count` candidates are the survivors, best first; m_candidates[0] holds the maximum.
    const float maxLogit = m_candidates[0].first;
    std::vector<double>& probs = m_probs;

    // 3. Top-p (llama_sampler_top_p_apply): the softmax at temperature 1 over the candidates left by top-k; keep
    //    the smallest prefix whose cumulative probability reaches topP (>=, so reaching it exactly stops there),
    //    at least one token. Compared unnormalised: cumulative >= topP * sum.
    if (m_params.topP < 1.0f) {
        probs.resize(count);
        double sum = 0.0;
        for (size_t i = 0; i < count; ++i) {
            probs[i] = std::exp(double(m_candidates[i].first) - double(maxLogit));
            sum += probs[i];
        }
        const double target = double(m_params.topP) * sum;
        double cumulative = 0.0;
        for (size_t i = 0; i < count; ++i) {
            cumulative += probs[i];
            if (cumulative >= target) {
                count = i + 1;
                break;
            }
        }
    }

    // 4. Min-p (llama_sampler_min_p_apply): keep the tokens whose temperature-1 probability is at least minP times
    //    the best one's, p_i >= minP * p_max, written as llama.cpp writes it on logits, in float:
    //    l_i >= l_max + logf(minP). The best token always stays; the candidates are sorted, so the kept ones are a
    //    prefix.
    if (m_params.minP > 0.0f) {
        const float minLogit = maxLogit + std::log(m_params.minP);
        size_t keep = 1;
        while (keep < count && m_candidates[keep].first >= minLogit)
            ++keep;
        count = keep;
    }

    // 5. Temperature, last: the survivors' logits divided by T, their softmax is what the draw uses. Kept
    //    unnormalised (p_i = exp((l_i - l_max) / T)); the caller normalises by the sum.
    probs.resize(count);
    const double temperature = double(m_params.temperature);
    for (size_t i = 0; i < count; ++i)
        probs[i] = std::exp((double(m_candidates[i].first) - double(maxLogit)) / temperature);
    return count;
}

int32_t Sampler::greedy(std::span<const float> logits)
{
    if (logits.empty())
        throw std::invalid_argument("sampler: empty logits");
    // The argmax of the raw logits, lowest id on ties (strict > keeps the first).
    int32_t best = -1;
    float bestLogit = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < logits.size(); ++i) {
        const float l = sanitize(logits[i]);
        if (l > bestLogit) {
            bestLogit = l;
            best = int32_t(i);
        }
    }
    if (best < 0)
        throw std::runtime_error("sampler: every logit is NaN or -inf (the model produced no usable output)");
    return best;
}

std::vector<std::pair<int32_t, double>> Sampler::distribution(
    std::span<const float> logits, std::span<const int32_t> history)
{
    if (m_params.temperature == 0.0f)
        return { { greedy(logits), 1.0 } };
    const size_t count = applyChain(logits, history);
    double sum = 0.0;
    for (size_t i = 0; i < count; ++i)
        sum += m_probs[i];
    std::vector<std::pair<int32_t, double>> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i)
        out.emplace_back(m_candidates[i].second, m_probs[i] / sum);
    return out;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history)
{
    // Greedy: no RNG draw, and no repetition penalty: temperature 0 means "the model's own most likely token".
    if (m_params.temperature == 0.0f)
        return greedy(logits);

    const size_t count = applyChain(logits, history);

    // Draw from the survivors' softmax. Exactly one RNG draw per call, whatever survived, so the random stream
    // advances the same way for every setting.
    double sum = 0.0;
    for (size_t i = 0; i < count; ++i)
        sum += m_probs[i];
    const double u = uniform01(m_rng) * sum;
    double cumulative = 0.0;
    for (size_t i = 0; i < count; ++i) {
        cumulative += m_probs[i];
        if (u < cumulative)
            return m_candidates[i].second;
    }
    return m_candidates[count - 1].second; // u within rounding of the total
}

} // namespace engine
