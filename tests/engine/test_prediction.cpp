// Tests for engine/measure/prediction: the replay of a hand-built trace on P lanes, worked out by hand from the
// model written in prediction.h, for this machine (time-shared past the cores) and for a wider machine.
#include "engine/measure/prediction.h"
#include "engine/measure/sweep.h"
#include "engine/measure/sweepexport.h"
#include "engine/model/synthetic.h"
#include "handtrace.h"

#include <QtTest>

#include <cmath>

using namespace engine;

namespace {

TraceEvent ev(int worker, int64_t begin, int64_t end, Op op = Op::Other)
{
    return handtrace::event(worker, begin, end, op);
}

// Measured at 2 threads, one 500 ns prefill of 5 tokens:
//   lane 0: serial [0,100)  region [100,400) with a chunk [110,300)  serial [400,450); nothing [450,500)
//   lane 1:                 chunk [120,250)
// Outside the region: 200 ns kept. Region: work W = 320, longest chunk c = 190, overhead 300 − 190 = 110.
RunResult handRun(Op chunkOp = Op::Other)
{
    RunResult run;
    run.threads = 2;
    run.strategy = Strategy::IntraOp;
    run.trace = { ev(0, 0, 100, Op::Serial), ev(0, 110, 300, chunkOp), ev(1, 120, 250, chunkOp),
        ev(0, 100, 400, Op::Region), ev(0, 400, 450, Op::Serial) };
    run.metrics.prefillBeginNs = 0;
    run.metrics.prefillEndNs = 500;
    run.metrics.decodeEndNs = 500;
    run.metrics.wallNs = 500;
    run.metrics.promptTokens = 5;
    return run;
}

// Five regions at 2 threads, each after 50 ns of serial work: a region of 300 ns with chunks of 190 and 130 ns
// (work 320, overhead 110). `stretchNs` lengthens regions 1 and 3 (a preempted lane: wall far beyond the work)
// and moves everything after them.
RunResult fiveRegions(int64_t stretchNs)
{
    RunResult run;
    run.threads = 2;
    run.strategy = Strategy::IntraOp;
    int64_t t = 0;
    for (int k = 0; k < 5; ++k) {
        const int64_t stretch = k == 1 || k == 3 ? stretchNs : 0;
        run.trace.push_back(ev(0, t, t + 50, Op::Serial));
        run.trace.push_back(ev(0, t + 60, t + 250));
        run.trace.push_back(ev(1, t + 70, t + 200));
        run.trace.push_back(ev(0, t + 50, t + 350 + stretch, Op::Region));
        t += 350 + stretch;
    }
    run.metrics.prefillBeginNs = 0;
    run.metrics.prefillEndNs = t;
    run.metrics.decodeEndNs = t;
    run.metrics.wallNs = t;
    run.metrics.promptTokens = 5;
    return run;
}

MachinePeaks handPeaks() { return handtrace::peaks(); } // fork/join 1050 ns on two threads (log2)

const PredictionPoint& at(const ScalingPrediction& s, int threads)
{
    for (const PredictionPoint& p : s.points)
        if (p.threads == threads)
            return p;
    qFatal("no prediction point for %d threads", threads);
}

} // namespace

class TestPrediction : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void forkJoinInterpolation()
    {
        const MachinePeaks p = handPeaks();
        QCOMPARE(forkJoinNs(p, 1, PredictionTarget::ThisMachine), 100.0);
        QCOMPARE(forkJoinNs(p, 2, PredictionTarget::ThisMachine), 1050.0);
        QCOMPARE(forkJoinNs(p, 4, PredictionTarget::ThisMachine), 2000.0);
        QCOMPARE(forkJoinNs(p, 8, PredictionTarget::ThisMachine), 4000.0); // time-shared: 2000 · 8 / 4
        QCOMPARE(forkJoinNs(p, 8, PredictionTarget::WiderMachine), 2950.0); // 100 + 1900 · 3 / 2
        // With the oversubscribed probe (16 threads on the 4 cores): log2 between it and the all-core figure, then
        // in proportion to the threads.
        MachinePeaks over = p;
        over.forkJoinNsOver = 6000;
        QCOMPARE(forkJoinNs(over, 4, PredictionTarget::ThisMachine), 2000.0);
        QCOMPARE(forkJoinNs(over, 8, PredictionTarget::ThisMachine), 4000.0); // 2000 + 4000 · log2(2) / 2
        QCOMPARE(forkJoinNs(over, 16, PredictionTarget::ThisMachine), 6000.0);
        QCOMPARE(forkJoinNs(over, 32, PredictionTarget::ThisMachine), 12000.0);
        QCOMPARE(forkJoinNs(over, 8, PredictionTarget::WiderMachine), 2950.0); // a wider machine: unchanged
    }

    void replayOnThisMachine()
    {
        static const auto model = makeSyntheticModel("tiny");
        const ScalingPrediction s
            = predictScaling(handRun(), *model, handPeaks(), { 1, 2, 4, 8 }, PredictionTarget::ThisMachine);
        QVERIFY2(s.available, s.reason.c_str());
        QCOMPARE(s.measuredThreads, 2);
        // The region's measured overhead (110 ns at p = 2, where fork/join costs 1050) scales with fork/join.
        // P = 1: max(320, 190) = 320; overhead 110 · 100 / 1050. Total 200 + 320 + that.
        QCOMPARE(at(s, 1).prefillMs, (200.0 + 320 + 110.0 * 100 / 1050) * 1e-6);
        // P = 2: max(160, 190) = 190, overhead 110: the measured 500 ns.
        QCOMPARE(at(s, 2).prefillMs, 500e-6);
        QCOMPARE(at(s, 2).prefillTokensPerSecond, 5 / 500e-9);
        QCOMPARE(at(s, 2).prefillSpeedup, (520.0 + 110.0 * 100 / 1050) / 500.0);
        // P = 4: max(80, 190) = 190, overhead 110 · 2000 / 1050.
        QCOMPARE(at(s, 4).prefillMs, (200.0 + 190 + 110.0 * 2000 / 1050) * 1e-6);
        QVERIFY(!at(s, 4).beyondCores);
        // P = 8 on 4 cores: work over the 4 cores (80), the chunk not stretched (work stealing gives the blocks to
        // the threads that run): 190; overhead 110 · 4000 / 1050 (fork/join time-shared: 2000 · 8 / 4).
        QCOMPARE(at(s, 8).prefillMs, (200.0 + 190 + 110.0 * 4000 / 1050) * 1e-6);
        QVERIFY(at(s, 8).beyondCores);
    }

    void replayOnAWiderMachine()
    {
        static const auto model = makeSyntheticModel("tiny");
        const ScalingPrediction s
            = predictScaling(handRun(), *model, handPeaks(), { 8 }, PredictionTarget::WiderMachine);
        QVERIFY(s.available);
        // P = 8 cores: max(40, 190) = 190; overhead 110 · 2950 / 1050.
        QCOMPARE(at(s, 8).prefillMs, (200.0 + 190 + 110.0 * 2950 / 1050) * 1e-6);
    }

    void memoryBoundRegionsMeetTheBandwidth()
    {
        // The same trace with both chunks one attn_q call of the tiny model (layer 0, one token): 128·128·4 +
        // 4·(128 + 128) = 66560 bytes. At 10 GB/s (one core) that is 6656 ns, far above the measured work.
        static const auto model = makeSyntheticModel("tiny");
        const ScalingPrediction s
            = predictScaling(handRun(Op::AttnQ), *model, handPeaks(), { 1, 2, 4 }, PredictionTarget::ThisMachine);
        QVERIFY(s.available);
        // With the bandwidth term in force the contention factor is not applied (it would count the sharing twice).
        QCOMPARE(at(s, 1).prefillMs, (200.0 + 6656.0 + 110.0 * 100 / 1050) * 1e-6);
        QCOMPARE(at(s, 2).prefillMs, (200.0 + 3328.0 + 110) * 1e-6); // 20 GB/s
        // Capped at the all-core 25 GB/s.
        QCOMPARE(at(s, 4).prefillMs, (200.0 + 66560.0 / 25 + 110.0 * 2000 / 1050) * 1e-6);
        QVERIFY(s.memoryCapped);

        // Weights that fit the largest cache are not read from memory: the regions are bounded by their work.
        MachinePeaks bigCache = handPeaks();
        bigCache.lastLevelCacheBytes = model->weightBytes() + 1;
        const ScalingPrediction cached
            = predictScaling(handRun(Op::AttnQ), *model, bigCache, { 1 }, PredictionTarget::ThisMachine);
        QVERIFY(!cached.memoryCapped);
        QCOMPARE(at(cached, 1).prefillMs, (200.0 + 320 + 110.0 * 100 / 1050) * 1e-6); // max(320, 190)

        // ... but memory-bound work (attn_q: 32768 FLOPs on 66560 bytes, below the ridge) slows down per core as
        // cores share the memory system: contention(n) = 10 GB/s · n / bandwidth(n): 1 on 1 and 2 cores (20 GB/s
        // is below the 25 GB/s cap), 40 / 25 = 1.6 on 4. In 4 blocks at P = 4 (relative to p = 2, factor 1):
        // max(320 · 1.6 / 4, 1 block of 320 · 1.6 / 4) = 128.
        RunResult blocks = handRun(Op::AttnQ);
        for (TraceEvent& e : blocks.trace)
            if (isRegionSpan(e.op))
                e.last = 4;
        const ScalingPrediction shared
            = predictScaling(blocks, *model, bigCache, { 2, 4 }, PredictionTarget::ThisMachine);
        QCOMPARE(at(shared, 2).prefillMs, (200.0 + 160 + 110) * 1e-6);
        QCOMPARE(at(shared, 4).prefillMs, (200.0 + 128 + 110.0 * 2000 / 1050) * 1e-6);
    }

    void blockCountBoundsTheGranularity()
    {
        // The hand run with its region split into 4 equal blocks of 80 ns (W = 320): at P lanes the busiest runs
        // ceil(4 / P) blocks. P = 1: 320; P = 2: 160; P = 4: 80 (then the longest chunk, 190, no longer bounds it).
        static const auto model = makeSyntheticModel("tiny");
        RunResult run = handRun();
        for (TraceEvent& e : run.trace)
            if (isRegionSpan(e.op))
                e.last = 4;
        const ScalingPrediction s
            = predictScaling(run, *model, handPeaks(), { 1, 2, 4, 8 }, PredictionTarget::WiderMachine);
        QVERIFY(s.available);
        QCOMPARE(at(s, 1).prefillMs, (200.0 + 320 + 110.0 * 100 / 1050) * 1e-6);
        QCOMPARE(at(s, 2).prefillMs, (200.0 + 160 + 110) * 1e-6);
        QCOMPARE(at(s, 4).prefillMs, (200.0 + 80 + 110.0 * 2000 / 1050) * 1e-6);
        // P = 8 on a wider machine: still one block each at most: 80; overhead 110 · 2950 / 1050.
        QCOMPARE(at(s, 8).prefillMs, (200.0 + 80 + 110.0 * 2950 / 1050) * 1e-6);
    }

    void sweepsPredictFromTheirTracedRun()
    {
        SweepRequest sweep;
        sweep.workload.prompts = { "once upon a time" };
        sweep.workload.maxTokens = 4;
        sweep.workload.sampling.temperature = 0;
        sweep.workload.stopAtEos = false;
        sweep.strategies = { Strategy::IntraOp, Strategy::Request };
        sweep.threads = { 1, 2, 3 };
        sweep.repeat = 1;
        sweep.warmup = 0;
        MachinePeaks peaks = handPeaks();
        peaks.cores = 2; // so p = 3 is past the cores and p = 2 is the run replayed
        sweep.predictWith = peaks;
        sweep.predictThreads = { 1, 4, 16 };
        const SweepResult r = runSweep(makeSyntheticModel("tiny"), sweep);
        const ScalingPrediction& intra = r.strategies.at(0).prediction;
        QVERIFY2(intra.available, intra.reason.c_str());
        QCOMPARE(intra.measuredThreads, 2);
        QCOMPARE(int(intra.points.size()), 3);
        QCOMPARE(intra.points[2].threads, 16);
        QVERIFY(!r.strategies.at(1).prediction.available); // request-parallel is not replayed
        const nlohmann::json j = sweepToJson(r);
        QCOMPARE(j["strategies"][0]["prediction"]["fromThreads"].get<int>(), 2);
        QCOMPARE(j["strategies"][0]["prediction"]["points"].size(), size_t(3));
        QVERIFY(j["strategies"][1]["prediction"].is_null());

        sweep.predictWith.reset();
        QVERIFY(!runSweep(makeSyntheticModel("tiny"), sweep).strategies.at(0).prediction.available);
    }

    void stretchedRegionsAreNotExtrapolated()
    {
        // Two regions stretched by 200 µs (against 110 ns of usual overhead): preemption, not fork/join. The
        // prediction must be the one of the undisturbed trace, and say that it left two regions' stretch out.
        const auto model = makeSyntheticModel("tiny");
        for (PredictionTarget target : { PredictionTarget::ThisMachine, PredictionTarget::WiderMachine }) {
            const ScalingPrediction plain = predictScaling(fiveRegions(0), *model, handPeaks(), { 1, 2, 4, 8 }, target);
            const ScalingPrediction stretched
                = predictScaling(fiveRegions(200'000), *model, handPeaks(), { 1, 2, 4, 8 }, target);
            QVERIFY(plain.available && stretched.available);
            QCOMPARE(plain.stretchedRegionsLeftOut, 0);
            QCOMPARE(stretched.stretchedRegionsLeftOut, 2);
            // One thread, by hand: 5 × 50 ns serial kept, each region max(320 / 1, 190) = 320 plus its 110 ns
            // overhead × fork/join(1) / fork/join(2) = 100 / 1050.
            const double oneNs = 5 * 50 + 5 * (320 + 110.0 * 100 / 1050);
            QVERIFY2(std::abs(at(stretched, 1).prefillMs * 1e6 - oneNs) < 1e-6,
                qPrintable(QString::number(at(stretched, 1).prefillMs * 1e6)));
            for (int p : { 1, 2, 4, 8 }) {
                QVERIFY(std::abs(at(stretched, p).prefillMs - at(plain, p).prefillMs) < 1e-12);
                QVERIFY(std::abs(at(stretched, p).prefillSpeedup - at(plain, p).prefillSpeedup) < 1e-12);
            }
        }
    }

    void refusesWhatItCannotReplay()
    {
        static const auto model = makeSyntheticModel("tiny");
        RunResult run = handRun();
        run.strategy = Strategy::Request;
        ScalingPrediction s = predictScaling(run, *model, handPeaks(), { 1 });
        QVERIFY(!s.available);
        QVERIFY(s.reason.find("request") != std::string::npos);
        run = handRun();
        run.trace.clear();
        QVERIFY(!predictScaling(run, *model, handPeaks(), { 1 }).available);
        QVERIFY(!predictScaling(handRun(), *model, MachinePeaks {}, { 1 }).available);
    }
};

QTEST_GUILESS_MAIN(TestPrediction)
#include "test_prediction.moc"
