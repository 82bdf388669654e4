// Tests for engine::Sampler: greedy, determinism by seed, each stage of the chain (repetition penalty, top-k, top-p,
// min-p, temperature) alone and their order, repetition penalty, validation.
#include "engine/model/sampler.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <utility>
#include <vector>

using namespace engine;

namespace {

// Every filter off: plain softmax sampling at temperature 1.
SamplingParams plainParams(uint64_t seed = 1)
{
    SamplingParams p;
    p.temperature = 1.0f;
    p.topK = 0;
    p.topP = 1.0f;
    p.minP = 0.0f;
    p.repeatPenalty = 1.0f;
    p.repeatLastN = 0;
    p.seed = seed;
    return p;
}

std::vector<int32_t> draw(Sampler& sampler, const std::vector<float>& logits, int count)
{
    std::vector<int32_t> ids;
    for (int i = 0; i < count; ++i)
        ids.push_back(sampler.sample(logits, {}));
    return ids;
}

// Logits whose softmax at temperature 1 is exactly `probs`.
std::vector<float> logitsFor(const std::vector<double>& probs)
{
    std::vector<float> logits;
    for (double p : probs)
        logits.push_back(float(std::log(p)));
    return logits;
}

using Distribution = std::vector<std::pair<int32_t, double>>;

// Compares a distribution with the expected (id, probability) list, ids in order, probabilities to 1e-6 (the logits
// are floats, so probabilities built from them are off by about 1e-7 relative).
void compareDistribution(const Distribution& actual, const Distribution& expected)
{
    QCOMPARE(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i) {
        QCOMPARE(actual[i].first, expected[i].first);
        QVERIFY2(std::abs(actual[i].second - expected[i].second) < 1e-6,
            qPrintable(
                QStringLiteral("id %1: %2 vs %3").arg(actual[i].first).arg(actual[i].second).arg(expected[i].second)));
    }
}

std::vector<int32_t> keptIds(const Distribution& d)
{
    std::vector<int32_t> ids;
    for (const auto& [id, prob] : d)
        ids.push_back(id);
    return ids;
}

} // namespace

class TestSampler : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void greedyPicksArgmax()
    {
        SamplingParams p = plainParams();
        p.temperature = 0.0f;
        Sampler sampler(p);
        const std::vector<float> logits = { 0.5f, -1.0f, 3.25f, 3.0f, 2.0f };
        QCOMPARE(sampler.sample(logits, {}), 2);
    }

    void greedyTiesGoToLowestId()
    {
        SamplingParams p = plainParams();
        p.temperature = 0.0f;
        Sampler sampler(p);
        const std::vector<float> logits = { 1.0f, 7.0f, 2.0f, 7.0f, 7.0f };
        QCOMPARE(sampler.sample(logits, {}), 1);
    }

    void greedyTreatsNanAsImpossible()
    {
        SamplingParams p = plainParams();
        p.temperature = 0.0f;
        Sampler sampler(p);
        const float nan = std::numeric_limits<float>::quiet_NaN();
        const std::vector<float> logits = { nan, -5.0f, nan, -4.0f };
        QCOMPARE(sampler.sample(logits, {}), 3);
    }

    void allLogitsUnusableThrows_data()
    {
        QTest::addColumn<float>("temperature");
        QTest::newRow("greedy") << 0.0f;
        QTest::newRow("sampling") << 0.8f;
    }

    void allLogitsUnusableThrows()
    {
        // Decision: a row of NaN / -inf means the model is broken; say so instead of inventing token 0.
        QFETCH(float, temperature);
        SamplingParams p = plainParams();
        p.temperature = temperature;
        Sampler sampler(p);
        const float nan = std::numeric_limits<float>::quiet_NaN();
        const float ninf = -std::numeric_limits<float>::infinity();
        const std::vector<float> logits = { nan, ninf, nan };
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, sampler.sample(logits, {}));
    }

    void neverPicksNanOrMinusInfinity()
    {
        Sampler sampler(plainParams(3));
        const float nan = std::numeric_limits<float>::quiet_NaN();
        const float ninf = -std::numeric_limits<float>::infinity();
        const std::vector<float> logits = { nan, 0.0f, ninf, 0.0f, nan };
        for (int32_t id : draw(sampler, logits, 500))
            QVERIFY2(id == 1 || id == 3, qPrintable(QString::number(id)));
    }

    void positiveInfinityIsTheCertainChoice()
    {
        // +inf would make the softmax NaN; it is treated as the largest float, so it always wins.
        Sampler sampler(plainParams(4));
        const float inf = std::numeric_limits<float>::infinity();
        const std::vector<float> logits = { 3.0f, inf, 2.0f, 100.0f };
        for (int32_t id : draw(sampler, logits, 200))
            QCOMPARE(id, 1);
    }

    void topKKeepsOnlyTheKBest()
    {
        SamplingParams p = plainParams(12);
        p.topK = 2;
        Sampler sampler(p);
        // ids 4 and 1 are the two best; id 2 is a close third and must never appear.
        const std::vector<float> logits = { 0.0f, 1.0f, 0.9f, -1.0f, 1.2f };
        std::vector<int> counts(5, 0);
        for (int32_t id : draw(sampler, logits, 3000))
            ++counts[size_t(id)];
        QCOMPARE(counts[0] + counts[2] + counts[3], 0);
        // Renormalised over {4, 1}: p(4) = 1 / (1 + e^-0.2) = 0.55.
        QVERIFY(std::abs(counts[4] / 3000.0 - 1.0 / (1.0 + std::exp(-0.2))) < 0.03);
    }

    // Top-k selection against the definition: the same draws as with every logit outside the k best
    // (by logit, then lower id on ties) set to -inf, over vocabularies full of ties.
    void topKEqualsMaskingAllButTheKBest()
    {
        std::mt19937 rng(5);
        std::uniform_int_distribution<int> level(0, 60); // few distinct values: many ties
        for (int k : { 1, 7, 40, 199 }) {
            SamplingParams p = plainParams(uint64_t(k));
            p.topK = k;
            p.topP = 0.9f;
            p.minP = 0.01f;
            SamplingParams q = p;
            q.topK = 0;
            Sampler withTopK(p), masked(q);
            for (int draw = 0; draw < 300; ++draw) {
                std::vector<float> logits(4096);
                for (float& l : logits)
                    l = float(level(rng)) * 0.25f;
                std::vector<int32_t> order(logits.size());
                std::iota(order.begin(), order.end(), 0);
                std::stable_sort(order.begin(), order.end(),
                    [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
                std::vector<float> kept(logits.size(), -std::numeric_limits<float>::infinity());
                for (int i = 0; i < k; ++i)
                    kept[size_t(order[size_t(i)])] = logits[size_t(order[size_t(i)])];
                QCOMPARE(withTopK.sample(logits, {}), masked.sample(kept, {}));
            }
        }
    }

    void sameSeedGivesSameSequence()
    {
        const std::vector<float> logits(100, 0.0f);
        Sampler a(plainParams(1234));
        Sampler b(plainParams(1234));
        QCOMPARE(draw(a, logits, 300), draw(b, logits, 300));
    }

    void differentSeedGivesDifferentSequence()
    {
        const std::vector<float> logits(100, 0.0f);
        Sampler a(plainParams(1234));
        Sampler b(plainParams(1235));
        const auto x = draw(a, logits, 300);
        const auto y = draw(b, logits, 300);
        int same = 0;
        for (size_t i = 0; i < x.size(); ++i)
            same += x[i] == y[i];
        // Independent uniform draws over 100 ids agree about 3 times in 300; a seed that is ignored agrees 300.
        QVERIFY2(same < 30, qPrintable(QString::number(same)));
    }

    void samplingUsesMoreThanOneToken()
    {
        // Guards the tests above: a sampler that always returned argmax would pass "same seed, same sequence".
        Sampler sampler(plainParams(5));
        const std::vector<float> logits(10, 0.0f);
        std::vector<int> counts(10, 0);
        for (int32_t id : draw(sampler, logits, 2000))
            ++counts[size_t(id)];
        for (int c : counts)
            QVERIFY2(c > 120 && c < 280, qPrintable(QString::number(c))); // expected 200 each
    }

    void topKOneEqualsGreedy_data()
    {
        QTest::addColumn<float>("temperature");
        QTest::newRow("T=0.1") << 0.1f;
        QTest::newRow("T=1") << 1.0f;
        QTest::newRow("T=5") << 5.0f;
        QTest::newRow("T=100") << 100.0f;
    }

    void topKOneEqualsGreedy()
    {
        QFETCH(float, temperature);
        SamplingParams p = plainParams(99);
        p.temperature = temperature;
        p.topK = 1;
        Sampler sampler(p);
        std::mt19937_64 gen(17);
        for (int round = 0; round < 50; ++round) {
            std::vector<float> logits(64);
            for (float& l : logits)
                l = float(double(gen() >> 11) * 0x1.0p-53 * 4.0 - 2.0);
            const auto best = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
            QCOMPARE(sampler.sample(logits, {}), best);
        }
    }

    void tinyTopPEqualsGreedy()
    {
        SamplingParams p = plainParams(11);
        p.temperature = 2.0f;
        p.topP = 1e-6f;
        Sampler sampler(p);
        const std::vector<float> logits = { 0.1f, 0.3f, 0.2f, 0.29f, -1.0f };
        for (int32_t id : draw(sampler, logits, 300))
            QCOMPARE(id, 1);
    }

    void topPKeepsSmallestSetReachingP()
    {
        // p = 0.4, 0.3, 0.2, 0.1; topP 0.65 keeps {0, 1} (0.4 < 0.65 <= 0.7), renormalised to 4/7, 3/7.
        SamplingParams p = plainParams(21);
        p.topP = 0.65f;
        Sampler sampler(p);
        const auto logits = logitsFor({ 0.4, 0.3, 0.2, 0.1 });
        std::vector<int> counts(4, 0);
        const int draws = 20000;
        for (int32_t id : draw(sampler, logits, draws))
            ++counts[size_t(id)];
        QCOMPARE(counts[2], 0);
        QCOMPARE(counts[3], 0);
        QVERIFY(std::abs(counts[0] / double(draws) - 4.0 / 7.0) < 0.015);
    }

    void minPRemovesUnlikelyTokens()
    {
        // p = 0.5, 0.3, 0.15, 0.05; minP 0.2 -> threshold 0.1 drops id 3 and leaves 0.5 : 0.3 : 0.15 of 0.95.
        SamplingParams p = plainParams(2024);
        p.minP = 0.2f;
        Sampler sampler(p);
        const auto logits = logitsFor({ 0.5, 0.3, 0.15, 0.05 });
        std::vector<int> counts(4, 0);
        const int draws = 20000;
        for (int32_t id : draw(sampler, logits, draws))
            ++counts[size_t(id)];
        QCOMPARE(counts[3], 0);
        const double expected[3] = { 0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95 };
        for (int i = 0; i < 3; ++i) {
            const double freq = counts[size_t(i)] / double(draws);
            QVERIFY2(std::abs(freq - expected[i]) < 0.015,
                qPrintable(QStringLiteral("id %1: %2 vs %3").arg(i).arg(freq).arg(expected[i])));
        }
    }

    void withoutFiltersFrequenciesFollowSoftmax()
    {
        // The same logits with min-p off: id 3 appears at about 5 %, so the test above really measures min-p.
        Sampler sampler(plainParams(2024));
        const auto logits = logitsFor({ 0.5, 0.3, 0.15, 0.05 });
        std::vector<int> counts(4, 0);
        const int draws = 20000;
        for (int32_t id : draw(sampler, logits, draws))
            ++counts[size_t(id)];
        const double expected[4] = { 0.5, 0.3, 0.15, 0.05 };
        for (int i = 0; i < 4; ++i)
            QVERIFY(std::abs(counts[size_t(i)] / double(draws) - expected[i]) < 0.015);
    }

    void temperatureSharpensDistribution()
    {
        // At T=0.25 the ratio between ids 0 and 1 becomes (0.5/0.3)^4 ~ 7.7 instead of 1.67.
        SamplingParams p = plainParams(8);
        p.temperature = 0.25f;
        Sampler sampler(p);
        const auto logits = logitsFor({ 0.5, 0.3, 0.2 });
        std::vector<int> counts(3, 0);
        for (int32_t id : draw(sampler, logits, 20000))
            ++counts[size_t(id)];
        const double w0 = std::pow(0.5, 4), w1 = std::pow(0.3, 4), w2 = std::pow(0.2, 4);
        QVERIFY(std::abs(counts[0] / 20000.0 - w0 / (w0 + w1 + w2)) < 0.015);
    }

    // --- each stage of the chain alone, observed through distribution() (what sample() draws from) ---

    void distributionIsPlainSoftmaxWithEveryStageOff()
    {
        Sampler sampler(plainParams());
        compareDistribution(sampler.distribution(logitsFor({ 0.5, 0.3, 0.15, 0.05 }), {}),
            { { 0, 0.5 }, { 1, 0.3 }, { 2, 0.15 }, { 3, 0.05 } });
    }

    void greedyDistributionIsTheArgmaxAlone()
    {
        SamplingParams p = plainParams();
        p.temperature = 0.0f;
        Sampler sampler(p);
        compareDistribution(sampler.distribution(std::vector<float> { 0.5f, 3.0f, 1.0f }, {}), { { 1, 1.0 } });
    }

    void stageRepetitionPenaltyAlone()
    {
        // Penalty 2 on ids 0 and 3: 2.0 / 2 = 1.0, -1.0 * 2 = -2.0; logits {1.0, 1.5, 0.0, -2.0}. Softmax by numpy:
        // exp(l - 1.5) / sum.
        SamplingParams p = plainParams();
        p.repeatPenalty = 2.0f;
        p.repeatLastN = 64;
        Sampler sampler(p);
        const std::vector<float> logits = { 2.0f, 1.5f, 0.0f, -1.0f };
        const std::vector<int32_t> history = { 0, 3 };
        compareDistribution(sampler.distribution(logits, history),
            { { 1, 0.5376753981753052 }, { 0, 0.3261166139665207 }, { 2, 0.11997159770272661 },
                { 3, 0.01623639015544746 } });
    }

    void stageTopKAlone()
    {
        // The two best logits 1.2 (id 4) and 1.0 (id 1); numpy: exp({1.2, 1.0} - 1.2) / sum.
        SamplingParams p = plainParams();
        p.topK = 2;
        Sampler sampler(p);
        compareDistribution(sampler.distribution(std::vector<float> { 0.0f, 1.0f, 0.9f, -1.0f, 1.2f }, {}),
            { { 4, 0.5498339973124778 }, { 1, 0.4501660026875221 } });
    }

    void stageTopPBoundaryIsInclusive_data()
    {
        QTest::addColumn<float>("topP");
        QTest::addColumn<int>("kept");
        // Four equal logits: every probability is exactly 0.25 and the cumulative sums 0.25, 0.5, 0.75, 1 are exact,
        // so topP equal to a cumulative sum stops there (llama.cpp: cum_sum >= p), one above it takes one more.
        QTest::newRow("0.25 reached by the first") << 0.25f << 1;
        QTest::newRow("0.5 reached exactly by two") << 0.5f << 2;
        QTest::newRow("just above 0.5 needs three") << std::nextafter(0.5f, 1.0f) << 3;
        QTest::newRow("0.75 reached exactly by three") << 0.75f << 3;
        QTest::newRow("1 is off") << 1.0f << 4;
    }

    void stageTopPBoundaryIsInclusive()
    {
        QFETCH(float, topP);
        QFETCH(int, kept);
        SamplingParams p = plainParams();
        p.topP = topP;
        Sampler sampler(p);
        const Distribution d = sampler.distribution(std::vector<float>(4, 0.0f), {});
        Distribution expected;
        for (int i = 0; i < kept; ++i)
            expected.emplace_back(i, 1.0 / kept); // ties rank by lower id
        compareDistribution(d, expected);
    }

    void stageMinPBoundaryIsInclusive()
    {
        // llama.cpp keeps l_i >= l_max + logf(min_p): a token at exactly min_p * p_max stays, one a float step lower
        // goes. With minP 0.5 and l_max 0 the boundary logit is logf(0.5f) itself.
        SamplingParams p = plainParams();
        p.minP = 0.5f;
        Sampler sampler(p);
        const float boundary = std::log(0.5f);
        const std::vector<float> logits = { 0.0f, boundary, std::nextafter(boundary, -1.0f), -3.0f };
        const Distribution d = sampler.distribution(logits, {});
        QCOMPARE(keptIds(d), (std::vector<int32_t> { 0, 1 }));
        // Survivors renormalised at temperature 1: 1 : 0.5.
        compareDistribution(d, { { 0, 2.0 / 3.0 }, { 1, 1.0 / 3.0 } });
    }

    void stageTemperatureAlone()
    {
        // T = 2 with every filter off; numpy: softmax({1, 0, -1, -3} / 2).
        SamplingParams p = plainParams();
        p.temperature = 2.0f;
        Sampler sampler(p);
        compareDistribution(sampler.distribution(std::vector<float> { 1.0f, 0.0f, -1.0f, -3.0f }, {}),
            { { 0, 0.47399084625407806 }, { 1, 0.2874899806762354 }, { 2, 0.17437148764032928 },
                { 3, 0.06414768542935738 } });
    }

    // --- the order: truncation (top-k, top-p, min-p) at temperature 1, then temperature ---

    void truncationComesBeforeTemperature_data()
    {
        QTest::addColumn<float>("temperature");
        QTest::addColumn<float>("topP");
        QTest::addColumn<float>("minP");
        QTest::addColumn<Distribution>("expected");
        // p = 0.5, 0.3, 0.15, 0.05 at T = 1. Expected values by numpy: p_kept^(1/T) / sum.
        // Top-p 0.9 at T = 1: cumulative 0.5, 0.8, 0.95 keeps ids {0, 1, 2}. Temperature 2 first would flatten p to
        // 0.379, 0.294, 0.208, 0.120 (cumulative 0.880 < 0.9) and keep all four.
        QTest::newRow("top-p, T=2 would keep more")
            << 2.0f << 0.9f << 0.0f
            << Distribution { { 0, 0.4306040222561934 }, { 1, 0.3335444414016329 }, { 2, 0.23585153634217368 } };
        // Temperature 0.5 first would sharpen p to 0.685, 0.247, 0.062, 0.007 (cumulative 0.932 >= 0.9 after two)
        // and keep only {0, 1}.
        QTest::newRow("top-p, T=0.5 would keep fewer")
            << 0.5f << 0.9f << 0.0f
            << Distribution { { 0, 0.6896551724137931 }, { 1, 0.2482758620689655 }, { 2, 0.06206896551724138 } };
        // Min-p 0.2 at T = 1: threshold 0.1 drops id 3 (0.05). At T = 2 first id 3 would be sqrt(0.05 / 0.5) = 0.316
        // of the best, above 0.2, and stay.
        QTest::newRow("min-p, T=2 would keep more")
            << 2.0f << 1.0f << 0.2f
            << Distribution { { 0, 0.4306040222561934 }, { 1, 0.3335444414016329 }, { 2, 0.23585153634217368 } };
    }

    void truncationComesBeforeTemperature()
    {
        QFETCH(float, temperature);
        QFETCH(float, topP);
        QFETCH(float, minP);
        QFETCH(Distribution, expected);
        SamplingParams p = plainParams(77);
        p.temperature = temperature;
        p.topP = topP;
        p.minP = minP;
        Sampler sampler(p);
        const auto logits = logitsFor({ 0.5, 0.3, 0.15, 0.05 });
        compareDistribution(sampler.distribution(logits, {}), expected);
        if (QTest::currentTestFailed())
            return;

        // sample() draws from exactly that: no removed token ever, frequencies within 5 binomial sigmas.
        const int draws = 20000;
        std::vector<int> counts(4, 0);
        for (int32_t id : draw(sampler, logits, draws))
            ++counts[size_t(id)];
        std::vector<double> expectedProb(4, 0.0);
        for (const auto& [id, prob] : expected)
            expectedProb[size_t(id)] = prob;
        for (size_t id = 0; id < 4; ++id) {
            const double q = expectedProb[id];
            if (q == 0.0) {
                QCOMPARE(counts[id], 0);
                continue;
            }
            const double sigma = std::sqrt(q * (1.0 - q) / draws);
            const double freq = counts[id] / double(draws);
            QVERIFY2(std::abs(freq - q) < 5.0 * sigma,
                qPrintable(QStringLiteral("id %1: %2 vs %3").arg(id).arg(freq).arg(q)));
        }
    }

    void topKComesBeforeTopP()
    {
        // Top-p's softmax is over what top-k left: with top-k 2 the two survivors of p = 0.5, 0.3 are renormalised
        // to 0.625, 0.375, so top-p 0.6 keeps only id 0 (0.625 >= 0.6). Over all four tokens it would keep two.
        SamplingParams p = plainParams();
        p.topK = 2;
        p.topP = 0.6f;
        Sampler sampler(p);
        QCOMPARE(keptIds(sampler.distribution(logitsFor({ 0.5, 0.3, 0.15, 0.05 }), {})), (std::vector<int32_t> { 0 }));
    }

    void topPComesBeforeMinP()
    {
        // p = 0.4, 0.3, 0.2, 0.1. Top-p 0.75 first: cumulative 0.4, 0.7, 0.9 keeps {0, 1, 2}; min-p 0.3 (threshold
        // 0.12) then keeps all three. Min-p first would drop id 3 and renormalise to 0.444, 0.333, 0.222, and top-p
        // would then stop at 0.777 with {0, 1}.
        SamplingParams p = plainParams();
        p.topP = 0.75f;
        p.minP = 0.3f;
        Sampler sampler(p);
        QCOMPARE(
            keptIds(sampler.distribution(logitsFor({ 0.4, 0.3, 0.2, 0.1 }), {})), (std::vector<int32_t> { 0, 1, 2 }));
    }

    void repetitionPenaltyComesBeforeTopK()
    {
        // The penalty moves id 0 (2.0 -> 1.0) below id 1 (1.5), so top-k 1 keeps id 1.
        SamplingParams p = plainParams();
        p.topK = 1;
        p.repeatPenalty = 2.0f;
        p.repeatLastN = 8;
        Sampler sampler(p);
        const std::vector<int32_t> history = { 0 };
        QCOMPARE(keptIds(sampler.distribution(std::vector<float> { 2.0f, 1.5f, 0.0f }, history)),
            (std::vector<int32_t> { 1 }));
    }

    void distributionDoesNotAdvanceTheGenerator()
    {
        const std::vector<float> logits(50, 0.0f);
        Sampler a(plainParams(31));
        Sampler b(plainParams(31));
        (void)a.distribution(logits, {});
        QCOMPARE(draw(a, logits, 50), draw(b, logits, 50));
    }

    void repetitionPenaltyChangesArgmax_data()
    {
        QTest::addColumn<std::vector<float>>("logits");
        QTest::addColumn<std::vector<int32_t>>("history");
        QTest::addColumn<int>("window");
        QTest::addColumn<int>("expected");
        // 2.0 / 1.5 = 1.33 < 1.5: the repeated favourite loses.
        QTest::newRow("positive logit divided")
            << std::vector<float> { 2.0f, 1.5f, 0.0f } << std::vector<int32_t> { 0 } << 64 << 1;
        // Negative logits are multiplied: -1 * 1.5 = -1.5 < -1.2.
        QTest::newRow("negative logit multiplied")
            << std::vector<float> { -1.0f, -1.2f, -3.0f } << std::vector<int32_t> { 0 } << 64 << 1;
        // Repeated many times, still penalised once: 2.0 / 1.5 = 1.33 > 1.3 keeps id 0.
        QTest::newRow("penalty once per distinct token")
            << std::vector<float> { 2.0f, 1.3f } << std::vector<int32_t> { 0, 0, 0, 0 } << 64 << 0;
        // Token 0 was seen, but before the window of the last 2 tokens.
        QTest::newRow("outside the window")
            << std::vector<float> { 2.0f, 1.5f, 0.0f } << std::vector<int32_t> { 0, 2, 2 } << 2 << 0;
        QTest::newRow("window 0 is off") << std::vector<float> { 2.0f, 1.5f } << std::vector<int32_t> { 0 } << 0 << 0;
    }

    void repetitionPenaltyChangesArgmax()
    {
        QFETCH(std::vector<float>, logits);
        QFETCH(std::vector<int32_t>, history);
        QFETCH(int, window);
        QFETCH(int, expected);
        SamplingParams p = plainParams(5);
        p.topK = 1; // deterministic pick of the best penalised logit
        p.repeatPenalty = 1.5f;
        p.repeatLastN = window;
        Sampler sampler(p);
        QCOMPARE(sampler.sample(logits, history), expected);
    }

    // --- Alternatives: what sample(..., topN, out) reports ---

    void alternativesFollowTheChainStageByStage()
    {
        // Hand-worked (Python's math module, offline): raw logits below, token 1 in the history with penalty 2
        // (1.5 -> 0.75), so the chain's order is 0, 2, 1, 3, 4, 5, 6, 7. Top-k 6 removes 6 and 7; top-p 0.85 over
        // the six (cumulative 0.477, 0.653, 0.790, 0.896) keeps four, removing 4 and 5; min-p 0.25 (logit >=
        // 2 + ln 0.25 = 0.614) removes 3 (0.5); temperature 0.5 reshapes 0, 2, 1.
        SamplingParams p = plainParams(3);
        p.temperature = 0.5f;
        p.topK = 6;
        p.topP = 0.85f;
        p.minP = 0.25f;
        p.repeatPenalty = 2.0f;
        p.repeatLastN = 8;
        Sampler sampler(p);
        const std::vector<float> logits = { 2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -3.0f };
        const std::vector<int32_t> history = { 1 };
        TokenAlternatives out;
        const int32_t id = sampler.sample(logits, history, 8, out);

        struct Expected {
            int32_t id;
            double raw, penalized, topK, topP, minP, final;
            std::optional<SamplerStage> removedBy;
        };
        const std::vector<Expected> expected = {
            { 0, 0.4046149477, 0.4648007128, 0.477341852, 0.5326190846, 0.6044545016, 0.8214090195, std::nullopt },
            { 2, 0.1488495209, 0.1709906265, 0.1756042538, 0.1959396112, 0.2223663843, 0.1111656223, std::nullopt },
            { 1, 0.2454113712, 0.1331676338, 0.1367607303, 0.1525979226, 0.1731791142, 0.0674253582, std::nullopt },
            { 3, 0.0902817981, 0.1037110575, 0.1065093639, 0.1188433816, 0, 0, SamplerStage::MinP },
            { 4, 0.0547586786, 0.0629039361, 0.0646011947, 0, 0, 0, SamplerStage::TopP },
            { 5, 0.0332128174, 0.0381531659, 0.0391826053, 0, 0, 0, SamplerStage::TopP },
            { 6, 0.0201445921, 0.0231410649, 0, 0, 0, 0, SamplerStage::TopK },
            { 7, 0.0027262741, 0.0031318026, 0, 0, 0, 0, SamplerStage::TopK },
        };
        QCOMPARE(out.candidates.size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            const TokenAlternative& a = out.candidates[i];
            const Expected& e = expected[i];
            QCOMPARE(a.id, e.id);
            QVERIFY(std::abs(a.rawProbability - e.raw) < 1e-6);
            QVERIFY(std::abs(a.penalizedProbability - e.penalized) < 1e-6);
            QVERIFY(std::abs(a.afterTopK - e.topK) < 1e-6);
            QVERIFY(std::abs(a.afterTopP - e.topP) < 1e-6);
            QVERIFY(std::abs(a.afterMinP - e.minP) < 1e-6);
            QVERIFY2(std::abs(a.finalProbability - e.final) < 1e-6, qPrintable(QString::number(a.finalProbability)));
            QCOMPARE(a.removedBy, e.removedBy);
            QCOMPARE(a.penalized, a.id == 1);
        }
        QCOMPARE(out.keptAfterTopK, 6);
        QCOMPARE(out.keptAfterTopP, 4);
        QCOMPARE(out.keptAfterMinP, 3);
        QCOMPARE(out.vocabulary, 8);
        QVERIFY(std::abs(out.rawEntropyBits - 2.277166964733567) < 1e-6);
        QVERIFY(std::abs(out.finalEntropyBits - 0.8477690649060816) < 1e-6);
        QVERIFY(!out.greedy);
        QCOMPARE(out.sampled, id);
        QCOMPARE(out.chosen, id);
        QVERIFY(id == 0 || id == 2 || id == 1);
    }

    void alternativesListTheSampledAndTheAskedForTokens()
    {
        // Only the best one listed, yet the sampled token and an extra id (7: removed by top-k) are there too.
        SamplingParams p = plainParams(11);
        p.topK = 6;
        p.temperature = 5.0f; // flat enough that ids other than 0 get drawn
        Sampler sampler(p);
        const std::vector<float> logits = { 2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -3.0f };
        bool sawOther = false;
        for (int i = 0; i < 50; ++i) {
            TokenAlternatives out;
            const int32_t id = sampler.sample(logits, {}, 1, out, 7);
            QCOMPARE(out.candidates.front().id, 0);
            const TokenAlternative* drawn = out.find(id);
            QVERIFY(drawn);
            QVERIFY(!drawn->removedBy);
            QVERIFY(drawn->finalProbability > 0.0);
            const TokenAlternative* extra = out.find(7);
            QVERIFY(extra);
            QCOMPARE(extra->removedBy, std::optional<SamplerStage>(SamplerStage::TopK));
            QCOMPARE(extra->finalProbability, 0.0);
            QVERIFY(std::abs(extra->rawProbability - 0.0027262741) < 1e-6); // Python, as above
            QCOMPARE(out.candidates.size(), size_t(id == 0 ? 2 : 3));
            sawOther = sawOther || id != 0;
        }
        QVERIFY(sawOther);
    }

    void alternativesMatchTheDistributionAndLeaveTheDrawsUnchanged()
    {
        // Random logits, every stage on, a history: the explained sampler draws exactly what the plain one does
        // (same seed), its final probabilities are Sampler::distribution's, and sum to at most 1.
        std::mt19937 rng(5);
        std::normal_distribution<float> normal(0.0f, 2.0f);
        SamplingParams p;
        p.temperature = 0.9f;
        p.topK = 20;
        p.topP = 0.9f;
        p.minP = 0.02f;
        p.repeatPenalty = 1.3f;
        p.repeatLastN = 16;
        p.seed = 99;
        Sampler plain(p), explained(p), reference(p);
        std::vector<int32_t> history = { 3, 5, 7 };
        for (int step = 0; step < 200; ++step) {
            std::vector<float> logits(64);
            for (float& l : logits)
                l = normal(rng);
            const auto distribution = reference.distribution(logits, history);
            TokenAlternatives out;
            const int32_t a = plain.sample(logits, history);
            const int32_t b = explained.sample(logits, history, 10, out);
            QCOMPARE(b, a);
            QVERIFY(out.find(a));
            double sum = 0.0;
            for (const TokenAlternative& c : out.candidates) {
                sum += c.finalProbability;
                const auto it = std::find_if(
                    distribution.begin(), distribution.end(), [&](const auto& d) { return d.first == c.id; });
                if (it == distribution.end()) {
                    QCOMPARE(c.finalProbability, 0.0);
                    QVERIFY(c.removedBy.has_value());
                } else {
                    QVERIFY(std::abs(c.finalProbability - it->second) < 1e-12);
                    QVERIFY(!c.removedBy);
                }
                // The stage marked as the remover is the first whose figure is 0.
                if (c.removedBy == SamplerStage::TopK)
                    QVERIFY(c.afterTopK == 0.0 && c.penalizedProbability > 0.0);
                if (c.removedBy == SamplerStage::TopP)
                    QVERIFY(c.afterTopP == 0.0 && c.afterTopK > 0.0);
                if (c.removedBy == SamplerStage::MinP)
                    QVERIFY(c.afterMinP == 0.0 && c.afterTopP > 0.0);
            }
            QVERIFY(sum <= 1.0 + 1e-12);
            QCOMPARE(out.keptAfterMinP, int32_t(distribution.size()));
            history.push_back(a);
        }
    }

    void greedyAlternativesAreOneHotOnTheArgmax()
    {
        // Logits 1, 3, 2, 3: argmax 1 (lowest id of the tie). Raw softmax by hand: e^-2, 1, e^-1, 1 over their sum
        // 2.50321...: 0.0540646, 0.3994863, 0.1469628, 0.3994863 (Python).
        SamplingParams p = plainParams();
        p.temperature = 0.0f;
        p.repeatPenalty = 2.0f; // greedy ignores it
        p.repeatLastN = 4;
        Sampler sampler(p);
        const std::vector<float> logits = { 1.0f, 3.0f, 2.0f, 3.0f };
        const std::vector<int32_t> history = { 1 };
        TokenAlternatives out;
        QCOMPARE(sampler.sample(logits, history, 3, out), 1);
        QVERIFY(out.greedy);
        QCOMPARE(out.finalEntropyBits, 0.0);
        QCOMPARE(out.candidates.size(), size_t(3));
        const std::vector<int32_t> ids = { 1, 3, 2 };
        const std::vector<double> raw = { 0.3994863, 0.3994863, 0.1469628 };
        for (size_t i = 0; i < 3; ++i) {
            const TokenAlternative& a = out.candidates[i];
            QCOMPARE(a.id, ids[i]);
            QVERIFY(std::abs(a.rawProbability - raw[i]) < 1e-6);
            QCOMPARE(a.finalProbability, i == 0 ? 1.0 : 0.0);
            QCOMPARE(a.removedBy, i == 0 ? std::nullopt : std::optional<SamplerStage>(SamplerStage::Greedy));
            QVERIFY(!a.penalized);
        }
        QCOMPARE(std::vector<SamplerStage>(sampler.chain().begin(), sampler.chain().end()),
            std::vector<SamplerStage> { SamplerStage::Greedy });
    }

    void validateRejectsBadValues_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<double>("value");
        QTest::addColumn<QString>("messagePart");
        const double inf = std::numeric_limits<double>::infinity();
        const double nan = std::numeric_limits<double>::quiet_NaN();
        QTest::newRow("negative temperature") << "temperature" << -0.1 << "temperature";
        QTest::newRow("infinite temperature") << "temperature" << inf << "temperature";
        QTest::newRow("NaN temperature") << "temperature" << nan << "temperature";
        QTest::newRow("top-p zero") << "topP" << 0.0 << "top-p";
        QTest::newRow("top-p negative") << "topP" << -0.5 << "top-p";
        QTest::newRow("top-p above one") << "topP" << 1.01 << "top-p";
        QTest::newRow("top-p NaN") << "topP" << nan << "top-p";
        QTest::newRow("min-p negative") << "minP" << -0.01 << "min-p";
        QTest::newRow("min-p above one") << "minP" << 1.5 << "min-p";
        QTest::newRow("penalty zero") << "repeatPenalty" << 0.0 << "repeat penalty";
        QTest::newRow("penalty negative") << "repeatPenalty" << -1.0 << "repeat penalty";
        QTest::newRow("penalty infinite") << "repeatPenalty" << inf << "repeat penalty";
        QTest::newRow("repeat-last-n negative") << "repeatLastN" << -1.0 << "repeat-last-n";
    }

    void validateRejectsBadValues()
    {
        QFETCH(QString, field);
        QFETCH(double, value);
        QFETCH(QString, messagePart);
        SamplingParams p;
        p.validate(); // the defaults are valid
        if (field == QLatin1String("temperature"))
            p.temperature = float(value);
        else if (field == QLatin1String("topP"))
            p.topP = float(value);
        else if (field == QLatin1String("minP"))
            p.minP = float(value);
        else if (field == QLatin1String("repeatPenalty"))
            p.repeatPenalty = float(value);
        else if (field == QLatin1String("repeatLastN"))
            p.repeatLastN = int32_t(value);
        try {
            p.validate();
            QFAIL("validate() accepted a bad value");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(messagePart), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Sampler { p });
    }

    void validateAcceptsBoundaryValues()
    {
        SamplingParams p;
        p.temperature = 0.0f;
        p.topP = 1.0f;
        p.minP = 0.0f;
        p.repeatPenalty = 1.0f;
        p.repeatLastN = 0;
        p.topK = 0;
        p.validate();
        p.minP = 1.0f;
        p.topK = -5; // <= 0 means off
        p.validate();
    }
};

QTEST_APPLESS_MAIN(TestSampler)
#include "test_sampler.moc"
