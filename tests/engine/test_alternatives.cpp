// Alternatives per token and forced tokens in whole generations: keeping alternatives changes no token, forcing a
// run's own tokens reproduces it, and a branch (a prefix then another token) equals a hand-written loop that forces
// the same tokens while drawing from the sampler at every step.
#include "engine/model/inferencecontext.h"
#include "engine/model/synthetic.h"
#include "engine/run/run.h"

#include <QtTest>

#include <stdexcept>

using namespace engine;

namespace {

std::shared_ptr<const Model> tinyModel()
{
    static auto model = makeSyntheticModel("tiny");
    return model;
}

RunRequest baseRequest(Strategy strategy = Strategy::IntraOp, int threads = 1)
{
    RunRequest r;
    r.prompts = { "The quick brown fox", "jumps over" };
    r.sampling.temperature = 0.9f;
    r.sampling.seed = 21;
    r.maxTokens = 10;
    r.stopAtEos = false;
    r.strategy = strategy;
    r.scheduler = { threads, Partitioner::Auto, 1 };
    r.contextLength = 64;
    r.trace = false;
    return r;
}

// The semantics of forcing written out by hand: sample at every step (the RNG advances), take the forced token
// where there is one.
std::vector<int32_t> forcedByHand(
    const RunRequest& request, const std::vector<int32_t>& promptIds, const std::vector<int32_t>& forced)
{
    Scheduler scheduler({ 1, Partitioner::Auto, 1 });
    InferenceContext context(tinyModel(), request.contextLength);
    Sampler sampler(request.sampling);
    std::vector<int32_t> history = promptIds;
    std::vector<int32_t> out;
    std::vector<float> logits;
    auto l = context.eval(scheduler, promptIds);
    logits.assign(l.begin(), l.end());
    for (int i = 0; i < request.maxTokens; ++i) {
        int32_t id = sampler.sample(logits, history);
        if (size_t(i) < forced.size())
            id = forced[size_t(i)];
        out.push_back(id);
        history.push_back(id);
        l = context.eval(scheduler, std::span<const int32_t>(&id, 1));
        logits.assign(l.begin(), l.end());
    }
    return out;
}

} // namespace

class TestAlternatives : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void keepingAlternativesChangesNoToken_data()
    {
        QTest::addColumn<int>("strategy");
        QTest::addColumn<float>("temperature");
        QTest::newRow("intra-op") << int(Strategy::IntraOp) << 0.9f;
        QTest::newRow("request, 2 threads") << int(Strategy::Request) << 0.9f;
        QTest::newRow("greedy") << int(Strategy::IntraOp) << 0.0f;
    }

    void keepingAlternativesChangesNoToken()
    {
        QFETCH(int, strategy);
        QFETCH(float, temperature);
        RunRequest off = baseRequest(Strategy(strategy), strategy == int(Strategy::Request) ? 2 : 1);
        off.sampling.temperature = temperature;
        RunRequest on = off;
        on.topAlternatives = 5;
        const RunResult a = executeRun(tinyModel(), off);
        const RunResult b = executeRun(tinyModel(), on);
        for (size_t s = 0; s < a.sequences.size(); ++s) {
            const GenerationResult& x = a.sequences[s];
            const GenerationResult& y = b.sequences[s];
            QCOMPARE(y.tokenIds, x.tokenIds);
            QCOMPARE(QString::fromStdString(y.text), QString::fromStdString(x.text));
            QVERIFY(x.alternatives.empty());
            QCOMPARE(y.alternatives.size(), y.tokenIds.size());
            for (size_t i = 0; i < y.tokenIds.size(); ++i) {
                const TokenAlternatives& alt = y.alternatives[i];
                QCOMPARE(alt.chosen, y.tokenIds[i]);
                QCOMPARE(alt.sampled, y.tokenIds[i]);
                QVERIFY(!alt.forced);
                QCOMPARE(alt.greedy, temperature == 0.0f);
                QVERIFY(alt.candidates.size() >= 5);
                const TokenAlternative* chosen = alt.find(alt.chosen);
                QVERIFY(chosen);
                QVERIFY(chosen->finalProbability > 0.0);
            }
        }
    }

    void forcingARunsOwnTokensReproducesIt()
    {
        RunRequest request = baseRequest();
        const RunResult baseline = executeRun(tinyModel(), request);
        for (size_t s = 0; s < baseline.sequences.size(); ++s) {
            const auto& ids = baseline.sequences[s].tokenIds;
            request.forcedTokens.push_back(std::vector<int32_t>(ids.begin(), ids.begin() + 4));
        }
        const RunResult again = executeRun(tinyModel(), request);
        for (size_t s = 0; s < baseline.sequences.size(); ++s)
            QCOMPARE(again.sequences[s].tokenIds, baseline.sequences[s].tokenIds);
    }

    void branchEqualsAForcedLoopByHand_data()
    {
        QTest::addColumn<int>("strategy");
        QTest::addColumn<int>("threads");
        QTest::newRow("intra-op") << int(Strategy::IntraOp) << 1;
        QTest::newRow("request") << int(Strategy::Request) << 2;
        QTest::newRow("pipeline") << int(Strategy::Pipeline) << 2;
    }

    void branchEqualsAForcedLoopByHand()
    {
        QFETCH(int, strategy);
        QFETCH(int, threads);
        RunRequest request = baseRequest(Strategy(strategy), threads);
        request.topAlternatives = 4;
        const RunResult baseline = executeRun(tinyModel(), request);
        const GenerationResult& first = baseline.sequences[0];
        // Branch at the fourth token: its best listed candidate that was not drawn.
        const size_t at = 3;
        int32_t other = -1;
        for (const TokenAlternative& c : first.alternatives[at].candidates)
            if (c.id != first.tokenIds[at]) {
                other = c.id;
                break;
            }
        QVERIFY(other >= 0);
        const std::vector<int32_t> forced = branchTokens(first.tokenIds, at, other);
        QCOMPARE(forced.size(), at + 1);
        request.forcedTokens = { forced };
        const RunResult branch = executeRun(tinyModel(), request);
        const GenerationResult& b = branch.sequences[0];
        QCOMPARE(b.tokenIds, forcedByHand(request, first.promptIds, forced));
        QCOMPARE(b.tokenIds[at], other);
        QVERIFY(std::equal(first.tokenIds.begin(), first.tokenIds.begin() + ptrdiff_t(at), b.tokenIds.begin()));
        QVERIFY(b.alternatives[at].forced);
        QCOMPARE(b.alternatives[at].chosen, other);
        QCOMPARE(b.alternatives[at].sampled, first.tokenIds[at]); // the draw itself is the original run's
        QVERIFY(b.alternatives[at].find(other));
        // The other sequence forced nothing: unchanged.
        QCOMPARE(branch.sequences[1].tokenIds, baseline.sequences[1].tokenIds);
    }

    void forcedTokensOutsideTheVocabularyAreRefused()
    {
        RunRequest request = baseRequest();
        request.forcedTokens = { { 1, tinyModel()->config().vocab } };
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, executeRun(tinyModel(), request));
        request.forcedTokens = { {}, {}, { 1 } }; // three lists for two prompts
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, executeRun(tinyModel(), request));
        request.forcedTokens.clear();
        request.topAlternatives = kMaxTopAlternatives + 1;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, executeRun(tinyModel(), request));
    }
};

QTEST_APPLESS_MAIN(TestAlternatives)
#include "test_alternatives.moc"
