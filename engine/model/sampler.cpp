#include "engine/model/sampler.h"

#include <algorithm>
#include <array>
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

// Softmax statistics of a set of logits: max, sum of exp(l - max), and sum of exp(l - max) * (l - max), from
// which the entropy follows without a second pass: H = ln S - T / S (nats).
struct SoftmaxSums {
    double max = -std::numeric_limits<double>::infinity();
    double sum = 0.0;
    double weighted = 0.0;
    double probability(double logit) const { return std::exp(logit - max) / sum; }
    double entropyBits() const { return (std::log(sum) - weighted / sum) / std::log(2.0); }
};

template <typename LogitOf> SoftmaxSums softmaxSums(size_t n, LogitOf&& logitOf)
{
    SoftmaxSums s;
    for (size_t i = 0; i < n; ++i)
        s.max = std::max(s.max, double(logitOf(i)));
    for (size_t i = 0; i < n; ++i) {
        const double d = double(logitOf(i)) - s.max;
        if (!std::isfinite(d))
            continue; // -inf: probability 0, and 0 * -inf must not make the entropy NaN
        const double e = std::exp(d);
        s.sum += e;
        s.weighted += e * d;
    }
    return s;
}

constexpr std::array<SamplerStage, 5> kChain { SamplerStage::RepetitionPenalty, SamplerStage::TopK, SamplerStage::TopP,
    SamplerStage::MinP, SamplerStage::Temperature };
constexpr std::array<SamplerStage, 1> kGreedyChain { SamplerStage::Greedy };

} // namespace

const char* samplerStageName(SamplerStage stage)
{
    switch (stage) {
    case SamplerStage::RepetitionPenalty:
        return "repetition_penalty";
    case SamplerStage::TopK:
        return "top_k";
    case SamplerStage::TopP:
        return "top_p";
    case SamplerStage::MinP:
        return "min_p";
    case SamplerStage::Temperature:
        return "temperature";
    case SamplerStage::Greedy:
        return "greedy";
    }
    return "?";
}

double TokenAlternative::probabilityAfter(SamplerStage stage) const
{
    switch (stage) {
    case SamplerStage::RepetitionPenalty:
        return penalizedProbability;
    case SamplerStage::TopK:
        return afterTopK;
    case SamplerStage::TopP:
        return afterTopP;
    case SamplerStage::MinP:
        return afterMinP;
    case SamplerStage::Temperature:
    case SamplerStage::Greedy:
        return finalProbability;
    }
    return 0.0;
}

const TokenAlternative* TokenAlternatives::find(int32_t id) const
{
    for (const TokenAlternative& c : candidates)
        if (c.id == id)
            return &c;
    return nullptr;
}

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
    m_touched.clear();
    m_touchedLogits.clear();
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
        for (int32_t id : history.subspan(history.size() - window)) {
            if (id < 0 || id >= n || m_penalized[size_t(id)])
                continue;
            m_penalized[size_t(id)] = 1;
            m_touched.push_back(id);
            float& l = m_candidates[size_t(id)].first;
            l = l > 0.0f ? l / m_params.repeatPenalty : l * m_params.repeatPenalty;
            m_touchedLogits.push_back(l);
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
    m_keptAfterTopK = count;
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

    m_keptAfterTopP = count;

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
    return draw(applyChain(logits, history));
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history, int topN,
    TokenAlternatives& out, int32_t alsoInclude)
{
    if (m_params.temperature == 0.0f) {
        const int32_t id = greedy(logits);
        explainGreedy(logits, topN, id, alsoInclude, out);
        return id;
    }
    const size_t count = applyChain(logits, history);
    const int32_t id = draw(count);
    explainChain(logits, count, topN, id, alsoInclude, out);
    return id;
}

std::span<const SamplerStage> samplerChain(const SamplingParams& params)
{
    if (params.temperature == 0.0f)
        return kGreedyChain;
    return kChain;
}

int32_t Sampler::draw(size_t count)
{
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

void Sampler::explainChain(
    std::span<const float> logits, size_t count, int topN, int32_t sampled, int32_t alsoInclude, TokenAlternatives& out)
{
    // applyChain left m_candidates as (logit after the penalty, id): the first m_keptAfterTopK sorted best first,
    // the rest (what top-k removed) in no order; the survivors of top-p and min-p are prefixes of the sorted part.
    const size_t n = m_candidates.size();
    const size_t keptK = m_keptAfterTopK;
    const size_t keptP = m_keptAfterTopP;
    const size_t keptM = count;
    const size_t listed = std::min(n, size_t(std::max(topN, 0)));
    if (listed > keptK) // the best of what top-k removed, ranked like the rest
        std::partial_sort(m_candidates.begin() + ptrdiff_t(keptK), m_candidates.begin() + ptrdiff_t(listed),
            m_candidates.end(), ranksHigher);

    const SoftmaxSums raw = softmaxSums(n, [&](size_t i) { return sanitize(logits[i]); });
    // The penalty changed only the touched ids: their terms swapped in the raw sum, instead of a second pass of
    // exponentials over the vocabulary (the raw maximum stays a valid reference).
    SoftmaxSums penalized = raw;
    for (size_t t = 0; t < m_touched.size(); ++t) {
        const double before = double(sanitize(logits[size_t(m_touched[t])])) - raw.max;
        const double after = double(m_touchedLogits[t]) - raw.max;
        penalized.sum
            += (std::isfinite(after) ? std::exp(after) : 0.0) - (std::isfinite(before) ? std::exp(before) : 0.0);
    }
    // Sums over each truncation's survivors at temperature 1, and of the draw's weights.
    const double maxLogit = m_candidates[0].first;
    double sumK = 0.0, sumP = 0.0, sumM = 0.0;
    for (size_t i = 0; i < keptK; ++i) {
        const double e = std::exp(double(m_candidates[i].first) - maxLogit);
        sumK += e;
        if (i < keptP)
            sumP += e;
        if (i < keptM)
            sumM += e;
    }
    SoftmaxSums drawn;
    drawn.max = 0.0;
    for (size_t i = 0; i < keptM; ++i)
        drawn.sum += m_probs[i];
    for (size_t i = 0; i < keptM; ++i)
        if (m_probs[i] > 0.0)
            drawn.weighted += m_probs[i] * std::log(m_probs[i]);

    out = TokenAlternatives {};
    out.sampled = sampled;
    out.chosen = sampled;
    out.rawEntropyBits = raw.entropyBits();
    out.finalEntropyBits = std::max(0.0, drawn.entropyBits());
    out.vocabulary = int32_t(n);
    out.keptAfterTopK = int32_t(keptK);
    out.keptAfterTopP = int32_t(keptP);
    out.keptAfterMinP = int32_t(keptM);

    auto describe = [&](size_t rank) {
        const auto [logit, id] = m_candidates[rank];
        TokenAlternative a;
        a.id = id;
        a.logit = sanitize(logits[size_t(id)]);
        a.penalizedLogit = logit;
        a.penalized = std::find(m_touched.begin(), m_touched.end(), id) != m_touched.end();
        a.rawProbability = raw.probability(a.logit);
        a.penalizedProbability = penalized.probability(logit);
        const double e = std::exp(double(logit) - maxLogit);
        if (rank >= keptK) {
            a.removedBy = SamplerStage::TopK;
            return a;
        }
        a.afterTopK = e / sumK;
        if (rank >= keptP) {
            a.removedBy = SamplerStage::TopP;
            return a;
        }
        a.afterTopP = e / sumP;
        if (rank >= keptM) {
            a.removedBy = SamplerStage::MinP;
            return a;
        }
        a.afterMinP = e / sumM;
        a.finalProbability = m_probs[rank] / drawn.sum;
        return a;
    };
    for (size_t rank = 0; rank < listed; ++rank)
        out.candidates.push_back(describe(rank));
    for (int32_t extra : { sampled, alsoInclude }) {
        if (extra < 0 || extra >= int32_t(n) || out.find(extra))
            continue;
        // Not among the best listed: find its rank (the sampled one is within the survivors; a forced one may be
        // anywhere, and past keptK its rank only matters as "removed by top-k").
        for (size_t rank = 0; rank < n; ++rank)
            if (m_candidates[rank].second == extra) {
                out.candidates.push_back(describe(rank));
                break;
            }
    }
}

void Sampler::explainGreedy(
    std::span<const float> logits, int topN, int32_t sampled, int32_t alsoInclude, TokenAlternatives& out)
{
    // Greedy applies no penalty and no truncation: the raw order, the argmax taken with probability 1.
    const size_t n = logits.size();
    m_candidates.resize(n);
    for (size_t i = 0; i < n; ++i)
        m_candidates[i] = { sanitize(logits[i]), int32_t(i) };
    const size_t listed = std::min(n, size_t(std::max(topN, 0)));
    std::partial_sort(m_candidates.begin(), m_candidates.begin() + ptrdiff_t(listed), m_candidates.end(), ranksHigher);
    const SoftmaxSums raw = softmaxSums(n, [&](size_t i) { return m_candidates[i].first; });

    out = TokenAlternatives {};
    out.sampled = sampled;
    out.chosen = sampled;
    out.greedy = true;
    out.rawEntropyBits = raw.entropyBits();
    out.finalEntropyBits = 0.0;
    out.vocabulary = int32_t(n);
    out.keptAfterTopK = out.keptAfterTopP = out.keptAfterMinP = 1;
    auto describe = [&](int32_t id) {
        TokenAlternative a;
        a.id = id;
        a.logit = a.penalizedLogit = sanitize(logits[size_t(id)]);
        a.rawProbability = a.penalizedProbability = raw.probability(a.logit);
        if (id == sampled)
            a.afterTopK = a.afterTopP = a.afterMinP = a.finalProbability = 1.0;
        else
            a.removedBy = SamplerStage::Greedy;
        return a;
    };
    for (size_t rank = 0; rank < listed; ++rank)
        out.candidates.push_back(describe(m_candidates[rank].second));
    for (int32_t extra : { sampled, alsoInclude })
        if (extra >= 0 && extra < int32_t(n) && !out.find(extra))
            out.candidates.push_back(describe(extra));
}

} // namespace engine
