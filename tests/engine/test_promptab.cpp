// Tests for prompt A/B: the same seed gives the same samples, every recorded token probability is the sampler's own
// probability of the drawn token (replayed here step by step), and every figure of the table is recomputed here from
// the raw per-token probabilities and outputs; the exports carry one row per sample and per variant.
#include "engine/measure/promptab.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/synthetic.h"
#include "engine/run/tokenprobability.h"

#include <QtTest>

#include <cmath>
#include <set>

using namespace engine;

namespace {

std::shared_ptr<const Model> tinyModel()
{
    static auto model = makeSyntheticModel("tiny");
    return model;
}

PromptAbRequest smallRequest(float temperature)
{
    PromptAbRequest r;
    r.variants = { "In the beginning", "And the earth, \"void\"" };
    r.seeds = 3;
    r.firstSeed = 7;
    r.run.maxTokens = 8;
    r.run.stopAtEos = false;
    r.run.sampling.temperature = temperature;
    r.run.scheduler.threads = 2;
    return r;
}

// Replays one sample on its own: prefill, then token by token, asking a sampler of the same seed for its distribution
// before each draw. Returns the probability the distribution gave each drawn token, checking the draws agree.
std::vector<double> replay(const Model& modelRef, const std::shared_ptr<const Model>& model, const std::string& prompt,
    SamplingParams params, const std::vector<int32_t>& expectedIds)
{
    const Tokenizer& tok = modelRef.tokenizer();
    std::vector<int32_t> history = tok.encode(prompt, tok.vocab().addBos);
    Scheduler scheduler({ 1, Partitioner::Auto, 1 });
    InferenceContext ctx(model);
    Sampler sampler(params);
    std::vector<double> probs;
    std::span<const float> logits = ctx.eval(scheduler, history);
    for (size_t i = 0; i < expectedIds.size(); ++i) {
        const std::vector<float> row(logits.begin(), logits.end());
        double p = -1.0;
        if (params.temperature > 0) {
            for (const auto& [id, q] : sampler.distribution(row, history))
                if (id == expectedIds[i])
                    p = q;
        } else {
            // Greedy: the softmax of the raw logits at temperature 1, computed here by hand.
            double top = row[0], sum = 0.0;
            for (float l : row)
                top = std::max(top, double(l));
            for (float l : row)
                sum += std::exp(double(l) - top);
            p = std::exp(double(row[size_t(expectedIds[i])]) - top) / sum;
        }
        const int32_t id = sampler.sample(row, history);
        if (id != expectedIds[i])
            return {};
        probs.push_back(p);
        history.push_back(id);
        logits = ctx.eval(scheduler, std::span<const int32_t>(&id, 1));
    }
    return probs;
}

} // namespace

class TestPromptAb : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void sameSeedSameSamples()
    {
        const PromptAbResult a = runPromptAb(tinyModel(), smallRequest(0.9f));
        const PromptAbResult b = runPromptAb(tinyModel(), smallRequest(0.9f));
        QCOMPARE(a.samples.size(), size_t(6));
        QCOMPARE(a.seeds, (std::vector<uint64_t> { 7, 8, 9 }));
        for (size_t i = 0; i < a.samples.size(); ++i) {
            QCOMPARE(a.samples[i].variant, int(i / 3));
            QCOMPARE(a.samples[i].seed, uint64_t(7 + i % 3));
            QCOMPARE(a.samples[i].tokenIds, b.samples[i].tokenIds);
            QCOMPARE(a.samples[i].output, b.samples[i].output);
            QCOMPARE(a.samples[i].tokenProbabilities, b.samples[i].tokenProbabilities);
        }
    }

    void probabilitiesAreTheSamplersOwn_data()
    {
        QTest::addColumn<float>("temperature");
        QTest::newRow("sampled") << 0.9f;
        QTest::newRow("greedy") << 0.0f;
    }

    void probabilitiesAreTheSamplersOwn()
    {
        QFETCH(float, temperature);
        PromptAbRequest req = smallRequest(temperature);
        req.run.strategy = Strategy::IntraOp;
        req.run.scheduler.threads = 1;
        const PromptAbResult r = runPromptAb(tinyModel(), req);
        for (const PromptAbSample& s : r.samples) {
            SamplingParams params = req.run.sampling;
            params.seed = s.seed;
            const std::vector<double> expected
                = replay(*tinyModel(), tinyModel(), req.variants[size_t(s.variant)], params, s.tokenIds);
            QCOMPARE(expected.size(), s.tokenIds.size()); // the replay drew the same tokens
            QCOMPARE(s.tokenProbabilities.size(), expected.size());
            for (size_t i = 0; i < expected.size(); ++i) {
                QVERIFY(expected[i] > 0.0 && expected[i] <= 1.0);
                QVERIFY2(std::abs(s.tokenProbabilities[i] - expected[i]) < 1e-12,
                    qPrintable(QString("token %1: %2 vs %3").arg(i).arg(s.tokenProbabilities[i]).arg(expected[i])));
            }
        }
    }

    void figuresRecomputedFromTheRawOutputs()
    {
        const PromptAbRequest req = smallRequest(0.9f);
        const PromptAbResult r = runPromptAb(tinyModel(), req);
        QCOMPARE(r.summary.size(), req.variants.size());
        for (size_t v = 0; v < req.variants.size(); ++v) {
            double probSum = 0.0, logSum = 0.0, tokens = 0.0, ttft = 0.0, rate = 0.0;
            size_t count = 0;
            int samples = 0;
            std::set<std::string> outputs;
            for (const PromptAbSample& s : r.samples) {
                if (s.variant != int(v))
                    continue;
                double sp = 0.0, sl = 0.0;
                for (double p : s.tokenProbabilities) {
                    sp += p;
                    sl += std::log(p);
                }
                const double n = double(s.tokenProbabilities.size());
                QCOMPARE(s.tokens, int(s.tokenIds.size()));
                QCOMPARE(s.tokenProbabilities.size(), s.tokenIds.size());
                QVERIFY(std::abs(s.meanProbability - sp / n) < 1e-12);
                QVERIFY(std::abs(s.perplexity - std::exp(-sl / n)) < 1e-9 * s.perplexity);
                QVERIFY(s.perplexity >= 1.0);
                probSum += sp;
                logSum += sl;
                count += s.tokenProbabilities.size();
                tokens += s.tokens;
                ttft += s.timeToFirstTokenMs;
                rate += s.tokensPerSecond;
                outputs.insert(s.output);
                ++samples;
            }
            const PromptAbVariant& a = r.summary[v];
            QCOMPARE(a.prompt, req.variants[v]);
            QCOMPARE(a.samples, req.seeds);
            QCOMPARE(samples, req.seeds);
            QCOMPARE(a.distinctOutputs, int(outputs.size()));
            QVERIFY(std::abs(a.meanTokens - tokens / samples) < 1e-12);
            QVERIFY(std::abs(a.meanProbability - probSum / double(count)) < 1e-12);
            QVERIFY(std::abs(a.perplexity - std::exp(-logSum / double(count))) < 1e-9 * a.perplexity);
            QVERIFY(std::abs(a.meanTimeToFirstTokenMs - ttft / samples) < 1e-9);
            QVERIFY(std::abs(a.meanTokensPerSecond - rate / samples) < 1e-9);
        }
    }

    void exportsHoldEverySampleAndVariant()
    {
        const PromptAbResult r = runPromptAb(tinyModel(), smallRequest(0.9f));
        const std::string csv = promptAbToCsv(r);
        QCOMPARE(csv.substr(0, csv.find("\r\n")), std::string(kPromptAbCsvHeader));
        int sampleRows = 0, variantRows = 0;
        for (size_t at = csv.find("\r\nsample,"); at != std::string::npos; at = csv.find("\r\nsample,", at + 1))
            ++sampleRows;
        for (size_t at = csv.find("\r\nvariant,"); at != std::string::npos; at = csv.find("\r\nvariant,", at + 1))
            ++variantRows;
        QCOMPARE(sampleRows, 6);
        QCOMPARE(variantRows, 2);
        QVERIFY(csv.find("\"And the earth, \"\"void\"\"\"") != std::string::npos); // RFC 4180 quoting
        const nlohmann::json json = promptAbToJson(r);
        QCOMPARE(json["samples"].size(), size_t(6));
        QCOMPARE(json["variants"].size(), size_t(2));
        QCOMPARE(json["samples"][0]["tokenProbabilities"].get<std::vector<double>>(), r.samples[0].tokenProbabilities);
        QCOMPARE(json["settings"]["seeds"].get<std::vector<uint64_t>>(), r.seeds);
        // Variants are numbered 1..N, as the window does: 3 seeds each, variant-major.
        for (size_t i = 0; i < 6; ++i)
            QCOMPARE(json["samples"][i]["variant"].get<int>(), int(i / 3) + 1);
        QCOMPARE(json["variants"][0]["variant"].get<int>(), 1);
        QCOMPARE(json["variants"][1]["variant"].get<int>(), 2);
        QVERIFY(csv.find("\r\nsample,1,") != std::string::npos);
        QVERIFY(csv.find("\r\nsample,2,") != std::string::npos);
        QVERIFY(csv.find("\r\nvariant,1,") != std::string::npos);
        QVERIFY(csv.find("\r\nvariant,2,") != std::string::npos);
        QVERIFY(csv.find("\r\nsample,0,") == std::string::npos && csv.find("\r\nvariant,0,") == std::string::npos);
    }

    void badRequestsAreRefused()
    {
        PromptAbRequest none = smallRequest(0.9f);
        none.variants.clear();
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, runPromptAb(tinyModel(), none));
        PromptAbRequest zero = smallRequest(0.9f);
        zero.seeds = 0;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, runPromptAb(tinyModel(), zero));
    }
};

QTEST_GUILESS_MAIN(TestPromptAb)
#include "test_promptab.moc"
