// Strategies, tracing and run metrics: same tokens for every strategy and thread count, and a
// trace whose every chunk is accounted for.
#include "engine/model/inferencecontext.h"
#include "engine/model/synthetic.h"
#include "engine/run/run.h"

#include <QtTest>

#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include <sched.h>

using namespace engine;

namespace {

std::shared_ptr<const Model> tinyModel()
{
    static auto model = makeSyntheticModel("tiny");
    return model;
}

RunRequest baseRequest(Strategy strategy, int threads, Partitioner partitioner = Partitioner::Auto)
{
    RunRequest r;
    r.prompts = { "The quick brown fox", "jumps over", "the lazy dog and keeps on running far away" };
    r.sampling.temperature = 0.8f;
    r.sampling.seed = 77;
    r.maxTokens = 12;
    r.stopAtEos = false;
    r.strategy = strategy;
    r.scheduler = { threads, partitioner, 1 };
    r.contextLength = 128;
    return r;
}

// A region instance: the chunks of one parallelFor call share these fields.
using RegionKey = std::tuple<int, int, int, int>; // op, layer, sequence, position

} // namespace

class TestRun : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void tokensIdenticalAcrossStrategiesAndThreadCounts()
    {
        const auto baseline = executeRun(tinyModel(), baseRequest(Strategy::IntraOp, 1));
        QCOMPARE(int(baseline.sequences.size()), 3);
        for (Strategy s : allStrategies())
            for (int threads : { 1, 2, 3, 8 })
                for (Partitioner p : { Partitioner::Auto, Partitioner::Static }) {
                    const auto r = executeRun(tinyModel(), baseRequest(s, threads, p));
                    for (size_t i = 0; i < 3; ++i) {
                        QCOMPARE(int(r.sequences[i].tokenIds.size()), 12);
                        QVERIFY2(r.sequences[i].tokenIds == baseline.sequences[i].tokenIds,
                            qPrintable(QStringLiteral("%1, %2 threads, sequence %3")
                                           .arg(strategyName(s))
                                           .arg(threads)
                                           .arg(i)));
                    }
                }
    }

    void eachSequencesDecodeTimeIsItsOwn_data()
    {
        QTest::addColumn<int>("strategy");
        QTest::addColumn<int>("threads");
        QTest::newRow("intra-op, 1 thread") << int(Strategy::IntraOp) << 1;
        QTest::newRow("intra-op, 2 threads") << int(Strategy::IntraOp) << 2;
        QTest::newRow("request, 1 thread") << int(Strategy::Request) << 1;
    }

    void eachSequencesDecodeTimeIsItsOwn()
    {
        // Three prompts decoded one after another: each one's decode time must be its own steps, so together they
        // fit in the run's decode phase. Timed from its first token to the run's end, each one would span nearly
        // the whole phase and their sum about three times it.
        QFETCH(int, strategy);
        QFETCH(int, threads);
        auto req = baseRequest(Strategy(strategy), threads);
        req.maxTokens = 24;
        const auto r = executeRun(tinyModel(), req);
        QCOMPARE(int(r.sequences.size()), 3);
        double sum = 0;
        for (const GenerationResult& g : r.sequences) {
            QCOMPARE(g.stats.generatedTokens, 24);
            QVERIFY(g.stats.decodeMs > 0);
            sum += g.stats.decodeMs;
        }
        QVERIFY2(sum <= r.metrics.decodeMs * 1.05 + 0.5,
            qPrintable(QString("sequences' decode %1 ms, the phase %2 ms").arg(sum).arg(r.metrics.decodeMs)));
    }

    void eachSequencesPrefillIsItsOwn()
    {
        // An output pane's "this prompt: prefill N tok/s" is its own prompt's tokens over its own prompt pass:
        // prompts of different lengths keep their own counts, and one after another (intra-op) their times fit
        // in the run's prefill phase together.
        const auto r = executeRun(tinyModel(), baseRequest(Strategy::IntraOp, 2));
        QCOMPARE(int(r.sequences.size()), 3);
        double sum = 0;
        int tokens = 0;
        for (const GenerationResult& g : r.sequences) {
            QCOMPARE(g.stats.promptTokens, int(g.promptIds.size()));
            QVERIFY(g.stats.prefillMs > 0);
            sum += g.stats.prefillMs;
            tokens += g.stats.promptTokens;
        }
        QVERIFY(r.sequences[2].stats.promptTokens > r.sequences[1].stats.promptTokens);
        QCOMPARE(tokens, r.metrics.promptTokens);
        QVERIFY2(sum <= r.metrics.prefillMs * 1.05 + 0.5,
            qPrintable(QString("sequences' prefill %1 ms, the phase %2 ms").arg(sum).arg(r.metrics.prefillMs)));
    }

    void oneSequenceRunEqualsGenerate()
    {
        auto req = baseRequest(Strategy::IntraOp, 2);
        req.prompts = { "jumps over" };
        const auto r = executeRun(tinyModel(), req);
        Scheduler scheduler({ 1, Partitioner::Auto, 1 });
        GenerationRequest g;
        g.prompt = "jumps over";
        g.sampling = req.sampling;
        g.maxTokens = req.maxTokens;
        g.stopAtEos = false;
        QCOMPARE(r.sequences[0].tokenIds, generate(tinyModel(), scheduler, g, 128).tokenIds);
    }

    void traceInvariantsHoldForEveryStrategy_data()
    {
        QTest::addColumn<int>("strategy");
        QTest::addColumn<int>("threads");
        QTest::addColumn<int>("partitioner");
        for (Strategy s : allStrategies())
            for (int t : { 1, 2, 3 })
                for (Partitioner p : { Partitioner::Simple, Partitioner::Static, Partitioner::Affinity })
                    QTest::addRow("%s %d threads %s", strategyName(s), t, partitionerName(p)) << int(s) << t << int(p);
    }
    void traceInvariantsHoldForEveryStrategy()
    {
        QFETCH(int, strategy);
        QFETCH(int, threads);
        QFETCH(int, partitioner);
        auto req = baseRequest(Strategy(strategy), threads, Partitioner(partitioner));
        req.maxTokens = 5;
        const auto r = executeRun(tinyModel(), req);
        const int64_t wallNs = int64_t(r.metrics.wallMs * 1e6);
        QVERIFY(!r.trace.empty());

        std::map<int, std::vector<std::pair<int64_t, int64_t>>> lanes;
        std::map<RegionKey, std::vector<std::pair<uint32_t, uint32_t>>> regions;
        std::set<std::tuple<int, int, int, int>> seen; // sequence, position, layer, op
        for (const TraceEvent& e : r.trace) {
            QVERIFY(e.worker >= 0 && e.worker < threads); // slot ids below the thread count
            QVERIFY(e.beginNs >= 0 && e.endNs <= wallNs && e.beginNs <= e.endNs); // inside the run window
            if (isMarker(e.op))
                continue;
            lanes[e.worker].push_back({ e.beginNs, e.endNs });
            // (norms and residual adds run twice per layer, quantisations up to four times: not one region a key)
            if (e.op != Op::Serial && e.op != Op::RmsNorm && e.op != Op::Rope && e.op != Op::Embed
                && e.op != Op::Sampling && e.op != Op::Tokenize && e.op != Op::Residual && e.op != Op::Quantize)
                regions[{ int(e.op), e.layer, e.sequence, e.position }].push_back({ e.first, e.last });
            if (e.layer >= 0)
                for (int t = 0; t < e.tokens; ++t)
                    seen.insert({ e.sequence, e.position + t, e.layer, int(e.op) });
        }
        // No two slices on a lane overlap.
        for (auto& [worker, slices] : lanes) {
            std::sort(slices.begin(), slices.end());
            for (size_t i = 1; i < slices.size(); ++i)
                QVERIFY2(slices[i].first >= slices[i - 1].second,
                    qPrintable(QStringLiteral("overlap on lane %1").arg(worker)));
        }
        // Every region's chunks cover its rows (heads) exactly once: nothing lost, nothing done twice.
        const ModelConfig& c = tinyModel()->config();
        for (auto& [key, chunks] : regions) {
            std::sort(chunks.begin(), chunks.end());
            QCOMPARE(chunks.front().first, 0u);
            for (size_t i = 1; i < chunks.size(); ++i)
                QCOMPARE(chunks[i].first, chunks[i - 1].second);
            const Op op = Op(std::get<0>(key));
            const uint32_t units = op == Op::Attention ? uint32_t(c.heads)
                : op == Op::AttnQ || op == Op::AttnOut ? uint32_t(c.dim)
                : op == Op::AttnK || op == Op::AttnV   ? uint32_t(c.kvDim())
                : op == Op::FfnGateUp                  ? uint32_t(c.hidden)
                : op == Op::FfnDown                    ? uint32_t(c.dim)
                : op == Op::Logits                     ? uint32_t(c.vocab)
                                                       : 0u;
            QCOMPARE(chunks.back().second, units);
            // The simple partitioner with grain 1 runs one block per chunk when decoding.
            if (Partitioner(partitioner) == Partitioner::Simple && Strategy(strategy) != Strategy::Request
                && Strategy(strategy) != Strategy::Pipeline && op != Op::Attention && std::get<3>(key) > 0) {
                const LayerWeights& L = tinyModel()->layers()[0];
                const WeightMatrix& w = op == Op::AttnQ ? L.wq
                    : op == Op::AttnK                   ? L.wk
                    : op == Op::AttnV                   ? L.wv
                    : op == Op::AttnOut                 ? L.wo
                    : op == Op::FfnGateUp               ? L.gate
                    : op == Op::FfnDown                 ? L.down
                                                        : tinyModel()->output();
                const uint32_t per = uint32_t(decodeRowsPerBlock(w));
                for (size_t i = 0; i < chunks.size(); ++i) {
                    const uint32_t rows = chunks[i].second - chunks[i].first;
                    QVERIFY(rows == per || (i + 1 == chunks.size() && rows < per));
                }
            }
        }
        // Every op of the forward pass appears for every layer of every token of every sequence.
        for (int seq = 0; seq < 3; ++seq) {
            const int tokens
                = int(r.sequences[size_t(seq)].promptIds.size() + r.sequences[size_t(seq)].tokenIds.size()) - 1;
            for (int pos = 0; pos < tokens; ++pos)
                for (int layer = 0; layer < c.layers; ++layer)
                    for (Op op : { Op::RmsNorm, Op::AttnQ, Op::AttnK, Op::AttnV, Op::Rope, Op::Attention, Op::AttnOut,
                             Op::Residual, Op::FfnGateUp, Op::FfnDown })
                        QVERIFY2(seen.count({ seq, pos, layer, int(op) }),
                            qPrintable(QStringLiteral("missing %1 for seq %2 pos %3 layer %4")
                                           .arg(opName(op))
                                           .arg(seq)
                                           .arg(pos)
                                           .arg(layer)));
        }
        // Request-parallel and pipeline stages never split a sequence's matmuls: one chunk per region.
        if (Strategy(strategy) == Strategy::Request || Strategy(strategy) == Strategy::Pipeline)
            for (auto& [key, chunks] : regions)
                QCOMPARE(int(chunks.size()), 1);
        // Metrics agree with the trace.
        int64_t busy = 0;
        for (const TraceEvent& e : r.trace)
            if (!isMarker(e.op))
                busy += e.durationNs();
        int64_t summed = 0;
        for (const WorkerStats& w : r.metrics.workers)
            summed += w.busyNs;
        QCOMPARE(summed, busy);
        QVERIFY(r.metrics.loadImbalance >= 1.0 && r.metrics.loadImbalance <= double(threads) + 1e-9);
        QCOMPARE(r.metrics.generatedTokens, 15);
    }

    void listenerReceivesTokensAndEveryTraceEvent()
    {
        struct Listener : RunListener {
            std::mutex mutex;
            std::map<int, std::string> text;
            size_t events = 0;
            std::vector<std::string> phases;
            int done = 0;
            void onToken(int seq, int32_t, std::string_view t) override
            {
                std::lock_guard lock(mutex);
                text[seq] += t;
            }
            void onTraceBatch(std::vector<TraceEvent>&& batch) override { events += batch.size(); }
            void onPhase(Phase p) override { phases.push_back(phaseName(p)); }
            void onSequenceDone(int, const GenerationResult&) override { ++done; }
        } listener;
        const auto r = executeRun(tinyModel(), baseRequest(Strategy::Hybrid, 2), &listener);
        QCOMPARE(listener.events, r.trace.size());
        QCOMPARE(listener.done, 3);
        QCOMPARE(listener.phases, (std::vector<std::string> { "prefill", "decode" }));
        for (int i = 0; i < 3; ++i)
            QCOMPARE(listener.text[i], r.sequences[size_t(i)].text);
    }

    void stopTakesEffectWithinOneToken_data()
    {
        QTest::addColumn<int>("strategy");
        for (Strategy s : allStrategies())
            QTest::addRow("%s", strategyName(s)) << int(s);
    }
    void stopTakesEffectWithinOneToken()
    {
        struct Stopper : RunListener {
            std::atomic<int> tokens { 0 };
            void onToken(int, int32_t id, std::string_view) override
            {
                if (id >= 0)
                    ++tokens;
            }
            bool shouldStop() override { return tokens.load() >= 4; }
        } stopper;
        QFETCH(int, strategy);
        auto req = baseRequest(Strategy(strategy), 2);
        req.maxTokens = 200;
        const auto r = executeRun(tinyModel(), req, &stopper);
        QVERIFY(r.cancelled);
        // Each sequence may finish the token it was on when the stop was seen, no more.
        QVERIFY2(r.metrics.generatedTokens <= 4 + 3, qPrintable(QString::number(r.metrics.generatedTokens)));
    }

    void badRequestsAreRefused()
    {
        auto req = baseRequest(Strategy::IntraOp, 1);
        req.prompts.clear();
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, executeRun(tinyModel(), req));
        req = baseRequest(Strategy::IntraOp, 0);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, executeRun(tinyModel(), req));
        req = baseRequest(Strategy::IntraOp, 1);
        req.maxTokens = -1;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, executeRun(tinyModel(), req));
        QVERIFY(!strategyFromName("bogus"));
        QCOMPARE(*strategyFromName("hybrid"), Strategy::Hybrid);
    }

    // A context above the model's trained length (tiny: 512) is refused before anything runs, with
    // both lengths and the way to allow it in the message; allowed, it runs and the context is
    // as long as asked. The default context never overflows.
    void contextAboveTheTrainedLengthIsRefusedUnlessAllowed()
    {
        QCOMPARE(tinyModel()->config().contextLength, 512);
        auto req = baseRequest(Strategy::IntraOp, 1);
        req.prompts = { "jumps over" };
        req.maxTokens = 2;
        req.contextLength = 4096;
        try {
            executeRun(tinyModel(), req);
            QFAIL("a context of 4096 tokens on a 512-token model ran");
        } catch (const ContextOverflowError& e) {
            QCOMPARE(e.requested, 4096);
            QCOMPARE(e.trained, 512);
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(QStringLiteral("4096")) && message.contains(QStringLiteral("512"))
                    && message.contains(QStringLiteral("--allow-ctx-overflow")),
                qPrintable(message));
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, req.validateFor(512)); // the same check, no model needed
        req.validateFor(4096);

        req.allowContextOverflow = true;
        const auto r = executeRun(tinyModel(), req);
        QCOMPARE(r.sequences.front().stats.generatedTokens, 2);

        QCOMPARE(resolveContextLength(0, 512, false), 512);
        QCOMPARE(resolveContextLength(0, 1 << 20, false), kDefaultContextCap);
        QCOMPARE(resolveContextLength(512, 512, false), 512);
        QCOMPARE(resolveContextLength(513, 512, true), 513);
        QVERIFY_THROWS_EXCEPTION(ContextOverflowError, resolveContextLength(513, 512, false));
    }

    // A listener that throws from a trace batch fails the run with its exception; it must not end
    // the process (batches are delivered from a helper thread while the run goes on).
    void throwingTraceListenerFailsTheRun()
    {
        struct Throwing : RunListener {
            std::atomic<int> batches { 0 }, tokens { 0 };
            std::thread::id thread;
            void onToken(int, int32_t, std::string_view) override
            {
                ++tokens;
                std::this_thread::sleep_for(std::chrono::milliseconds(1)); // long enough for the helper to run
            }
            void onTraceBatch(std::vector<TraceEvent>&&) override
            {
                if (batches++ == 0)
                    thread = std::this_thread::get_id();
                throw std::runtime_error("the listener failed");
            }
        } listener;
        auto req = baseRequest(Strategy::IntraOp, 2);
        req.trace = true;
        req.maxTokens = 40;
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, executeRun(tinyModel(), req, &listener));
        QCOMPARE(listener.batches.load(), 1); // no batch after the failure
        QVERIFY(listener.thread != std::this_thread::get_id()); // it came from the helper thread
        QVERIFY(listener.tokens.load() < 3 * 40); // and the run stopped early, not after every token
    }

    // With pinThreads, every chunk runs on its slot's CPU (the affinity mask inside the chunk is that
    // one CPU), both slots take part, and the caller gets its own mask back after leaving the arena.
    void pinnedSlotsRunOnTheirOwnCores()
    {
        const std::vector<int> cpus = Scheduler::allowedCpus();
        if (cpus.size() < 2)
            QSKIP("needs two CPUs");
        cpu_set_t before;
        QCOMPARE(sched_getaffinity(0, sizeof(before), &before), 0);

        SchedulerOptions options { 2, Partitioner::Simple, 1 };
        options.pinThreads = true;
        Scheduler scheduler(options);
        QVERIFY(scheduler.pinned());
        std::mutex mutex;
        std::vector<std::pair<int, cpu_set_t>> seen; // (slot, mask inside the chunk)
        RegionInfo region;
        region.op = Op::FfnDown;
        scheduler.execute([&] {
            for (int rep = 0; rep < 40; ++rep)
                scheduler.parallelFor(region, 32, [&](size_t, size_t) {
                    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
                    while (std::chrono::steady_clock::now() < until) { } // long enough for the worker to steal
                    cpu_set_t mask;
                    sched_getaffinity(0, sizeof(mask), &mask);
                    std::lock_guard lock(mutex);
                    seen.emplace_back(tbb::this_task_arena::current_thread_index(), mask);
                });
        });
        std::set<int> slots;
        for (const auto& [slot, mask] : seen) {
            QVERIFY(slot == 0 || slot == 1);
            slots.insert(slot);
            QCOMPARE(CPU_COUNT(&mask), 1);
            QVERIFY2(CPU_ISSET(cpus[size_t(slot)], &mask),
                qPrintable(QString("slot %1 not on CPU %2").arg(slot).arg(cpus[size_t(slot)])));
        }
        QCOMPARE(slots.size(), size_t(2));
        cpu_set_t after;
        QCOMPARE(sched_getaffinity(0, sizeof(after), &after), 0);
        QVERIFY(CPU_EQUAL(&before, &after));

        // More threads than CPUs: pinning would only decide who shares a core, so it is not applied.
        SchedulerOptions over = options;
        over.threads = int(cpus.size()) + 1;
        QVERIFY(!Scheduler(over).pinned());
        // And results do not depend on it: the same tokens pinned and not.
        auto req = baseRequest(Strategy::Hybrid, 2);
        const auto plain = executeRun(tinyModel(), req);
        req.scheduler.pinThreads = true;
        const auto pinned = executeRun(tinyModel(), req);
        for (size_t i = 0; i < plain.sequences.size(); ++i)
            QCOMPARE(pinned.sequences[i].tokenIds, plain.sequences[i].tokenIds);
    }
};

QTEST_APPLESS_MAIN(TestRun)
#include "test_run.moc"
