// Tests for engine/measure/prediction: the replay of a hand-built trace on P lanes, worked out by hand from the
// model written in prediction.h, for this machine (time-shared past the cores) and for a wider machine.
#include "engine/measure/prediction.h"
#include "engine/measure/sweep.h"
#include "engine/measure/sweepexport.h"
#include "engine/model/synthetic.h"
#include "handtrace.h"

#include <QtTest>

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
    }

    void replayOnThisMachine()
    {
        static const auto model = makeSyntheticModel("tiny");
        const ScalingPrediction s
            = predictScaling(handRun(), *model, handPeaks(), { 1, 2, 4, 8 }, PredictionTarget::ThisMachine);
        QVERIFY2(s.available, s.reason.c_str());
        QCOMPARE(s.measuredThreads, 2);
        // P = 1: max(320, 190) = 320; overhead 110 + (100 − 1050) < 0 → 0. Total 200 + 320.
        QCOMPARE(at(s, 1).prefillMs, 520e-6);
        // P = 2: max(160, 190) = 190, overhead 110: the measured 500 ns.
        QCOMPARE(at(s, 2).prefillMs, 500e-6);
        QCOMPARE(at(s, 2).prefillTokensPerSecond, 5 / 500e-9);
        QCOMPARE(at(s, 2).prefillSpeedup, 520.0 / 500.0);
        // P = 4: max(80, 190) = 190, overhead 110 + (2000 − 1050) = 1060. Total 200 + 1250.
        QCOMPARE(at(s, 4).prefillMs, 1450e-6);
        QVERIFY(!at(s, 4).beyondCores);
        // P = 8 on 4 cores: work over 4 cores (80), the chunk stretched 8/4 (380); overhead 110 + 4000 − 1050.
        QCOMPARE(at(s, 8).prefillMs, (200.0 + 380 + 3060) * 1e-6);
        QVERIFY(at(s, 8).beyondCores);
    }

    void replayOnAWiderMachine()
    {
        static const auto model = makeSyntheticModel("tiny");
        const ScalingPrediction s
            = predictScaling(handRun(), *model, handPeaks(), { 8 }, PredictionTarget::WiderMachine);
        QVERIFY(s.available);
        // P = 8 cores: max(40, 190) = 190; overhead 110 + (2950 − 1050) = 2010. Total 200 + 2200.
        QCOMPARE(at(s, 8).prefillMs, 2400e-6);
    }

    void memoryBoundRegionsMeetTheBandwidth()
    {
        // The same trace with both chunks one attn_q call of the tiny model (layer 0, one token): 128·128·4 +
        // 4·(128 + 128) = 66560 bytes. At 10 GB/s (one core) that is 6656 ns, far above the measured work.
        static const auto model = makeSyntheticModel("tiny");
        const ScalingPrediction s
            = predictScaling(handRun(Op::AttnQ), *model, handPeaks(), { 1, 2, 4 }, PredictionTarget::ThisMachine);
        QVERIFY(s.available);
        QCOMPARE(at(s, 1).prefillMs, (200.0 + 6656.0 + 0) * 1e-6);
        QCOMPARE(at(s, 2).prefillMs, (200.0 + 3328.0 + 110) * 1e-6); // 20 GB/s
        QCOMPARE(at(s, 4).prefillMs, (200.0 + 66560.0 / 25 + 1060) * 1e-6); // capped at the all-core 25 GB/s
        QVERIFY(s.memoryCapped);

        // Weights that fit the largest cache are not read from memory: the regions are bounded by their work.
        MachinePeaks bigCache = handPeaks();
        bigCache.lastLevelCacheBytes = model->weightBytes() + 1;
        const ScalingPrediction cached
            = predictScaling(handRun(Op::AttnQ), *model, bigCache, { 1 }, PredictionTarget::ThisMachine);
        QVERIFY(!cached.memoryCapped);
        QCOMPARE(at(cached, 1).prefillMs, 520e-6); // as with unmodelled ops: max(320, 190)
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
        QCOMPARE(at(s, 1).prefillMs, (200.0 + 320 + 0) * 1e-6); // overhead 110 + 100 − 1050 < 0
        QCOMPARE(at(s, 2).prefillMs, (200.0 + 160 + 110) * 1e-6);
        QCOMPARE(at(s, 4).prefillMs, (200.0 + 80 + 1060) * 1e-6);
        // P = 8 on a wider machine: still one block each at most: 80; overhead 110 + (2950 − 1050).
        QCOMPARE(at(s, 8).prefillMs, (200.0 + 80 + 2010) * 1e-6);
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
