// Tests for engine/measure/analysis: lane-time accounting on hand-built traces (every expected figure worked out by
// hand in the comments) and on real runs, and the region spans the scheduler records for it.
#include "engine/measure/analysis.h"
#include "engine/measure/analysisreport.h"
#include "engine/measure/sweep.h"
#include "engine/measure/sweepexport.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"
#include "engine/run/run.h"
#include "handtrace.h"

#include <QtTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace engine;

namespace {

TraceEvent ev(int worker, int64_t begin, int64_t end, Op op = Op::AttnQ)
{
    return handtrace::event(worker, begin, end, op);
}

// The parts add up: busy + idle = lanes × wall, and the wall splits into serial, parallel and untraced.
void checkSums(const TimeBreakdown& t, const char* what)
{
    QVERIFY2(t.busyNs + t.idle.total() == t.laneNs, what);
    QVERIFY2(t.serialNs + t.parallelNs + t.untracedNs == t.wallNs, what);
    QVERIFY2(t.idle.imbalance >= 0 && t.idle.overhead >= 0 && t.idle.serial >= 0 && t.idle.untraced >= 0
            && t.idle.disturbed >= 0,
        what);
}

// Two lanes, an intra-op shape: a serial section, one region, a serial section, then nothing.
//   lane 0: serial [0,100)   region span [100,400) with its chunk [110,300)   serial [400,450)
//   lane 1:                  chunk [120,250)
std::vector<TraceEvent> intraOpTrace()
{
    return {
        ev(0, 0, 100, Op::RmsNorm),
        ev(0, 110, 300),
        ev(1, 120, 250),
        ev(0, 100, 400, Op::Region),
        ev(0, 400, 450, Op::Serial),
    };
}

} // namespace

class TestAnalysis : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void intraOpTraceByHand()
    {
        const TimeBreakdown t = analyzeLaneTime(intraOpTrace(), 2, 0, 500);
        QCOMPARE(t.lanes, 2);
        QCOMPARE(t.wallNs, int64_t(500));
        QCOMPARE(t.laneNs, int64_t(1000));
        QCOMPARE(t.busyNs, int64_t(100 + 190 + 130 + 50));
        // Region: R = 300, w0 = 190, w1 = 130, busiest 190: imbalance 2·190 − 320 = 60, overhead 2·(300 − 190) = 220.
        QCOMPARE(t.idle.imbalance, int64_t(60));
        QCOMPARE(t.idle.overhead, int64_t(220));
        // Serial sections: 100 + 50 ns with lane 1 waiting.
        QCOMPARE(t.idle.serial, int64_t(150));
        // [450, 500): nobody, both lanes.
        QCOMPARE(t.idle.untraced, int64_t(100));
        QCOMPARE(t.serialNs, int64_t(150));
        QCOMPARE(t.parallelNs, int64_t(300));
        QCOMPARE(t.untracedNs, int64_t(50));
        QCOMPARE(t.parallelWorkNs, int64_t(320));
        QCOMPARE(t.regions, uint64_t(1));
        QCOMPARE(t.periods, uint64_t(1));
        QCOMPARE(t.serialFraction(), 150.0 / (150.0 + 320.0));
        QCOMPARE(t.overheadPerRegionNs(), 110.0);
        checkSums(t, "intra-op");
    }

    void windowClipsEvents()
    {
        // [150, 350) of the same trace: the region's part R = 200, w0 = 150, w1 = 100: imbalance 2·150 − 250 = 50,
        // overhead 2·(200 − 150) = 100; the region began before the window, so it is not counted as one in it.
        const TimeBreakdown t = analyzeLaneTime(intraOpTrace(), 2, 150, 350);
        QCOMPARE(t.busyNs, int64_t(250));
        QCOMPARE(t.idle.imbalance, int64_t(50));
        QCOMPARE(t.idle.overhead, int64_t(100));
        QCOMPARE(t.idle.serial, int64_t(0));
        QCOMPARE(t.parallelNs, int64_t(200));
        QCOMPARE(t.regions, uint64_t(0));
        checkSums(t, "clipped");
    }

    void requestParallelShapeWithoutRegions()
    {
        // Three lanes, no region spans: lane 0 works [0,300), lane 1 [0,100), lane 2 nothing.
        // [0,100): two lanes work: parallel 100, their work 200, lane 2 idle 100 (imbalance).
        // [100,300): one lane works: serial 200, lanes 1 and 2 wait 2·200 = 400.
        const TimeBreakdown t = analyzeLaneTime({ ev(0, 0, 300), ev(1, 0, 100) }, 3, 0, 300);
        QCOMPARE(t.busyNs, int64_t(400));
        QCOMPARE(t.idle.imbalance, int64_t(100));
        QCOMPARE(t.idle.serial, int64_t(400));
        QCOMPARE(t.idle.overhead, int64_t(0));
        QCOMPARE(t.parallelNs, int64_t(100));
        QCOMPARE(t.serialNs, int64_t(200));
        QCOMPARE(t.parallelWorkNs, int64_t(200));
        checkSums(t, "request");
    }

    void taskPeriodByHand()
    {
        // Two lanes, one task period [0,300) (a request-parallel phase), no region spans:
        //   lane 0 works [0,100) and [200,300), lane 1 [120,180).
        // Busy 260; busiest lane 0 with 200: imbalance 2·200 − 260 = 140. Lane 0 idle over [100,200): [100,120) and
        // [180,200) nobody works (untraced 2·40 = 80 lane-ns, 40 wall), [120,180) lane 1 works (waiting, counted as
        // overhead: 2·60 = 120). Nothing serial, though one lane works alone for 260 ns of the 300.
        const std::vector<TraceEvent> trace { ev(0, 0, 100), ev(0, 200, 300), ev(1, 120, 180) };
        const TimeBreakdown t = analyzeLaneTime(trace, 2, 0, 300, { { 0, 300 } });
        QCOMPARE(t.busyNs, int64_t(260));
        QCOMPARE(t.idle.imbalance, int64_t(140));
        QCOMPARE(t.idle.overhead, int64_t(120));
        QCOMPARE(t.idle.untraced, int64_t(80));
        QCOMPARE(t.idle.serial, int64_t(0));
        QCOMPARE(t.serialNs, int64_t(0));
        QCOMPARE(t.untracedNs, int64_t(40));
        QCOMPARE(t.parallelNs, int64_t(260));
        QCOMPARE(t.parallelWorkNs, int64_t(260));
        QCOMPARE(t.concurrentNs, int64_t(0));
        QCOMPARE(t.taskPeriods, uint64_t(1));
        QCOMPARE(t.serialFraction(), 0.0);
        checkSums(t, "task");

        // Outside the task period the usual reading: a window [0,400) with lane 0 alone over [300,400) is serial there.
        const TimeBreakdown w
            = analyzeLaneTime({ ev(0, 0, 100), ev(0, 200, 400), ev(1, 120, 180) }, 2, 0, 400, { { 0, 300 } });
        QCOMPARE(w.serialNs, int64_t(100));
        QCOMPARE(w.idle.serial, int64_t(100));
        QCOMPARE(w.idle.imbalance, int64_t(140));
        checkSums(w, "task and serial");

        // Two adjoining task periods stay two (prefill and decode): lane 1 is the busiest in the second.
        const TimeBreakdown two = analyzeLaneTime(
            { ev(0, 0, 100), ev(1, 100, 200), ev(0, 100, 120) }, 2, 0, 200, { { 0, 100 }, { 100, 200 } });
        // First: lane 0 100, lane 1 0: imbalance 100. Second: lane 1 100, lane 0 20: imbalance 80.
        QCOMPARE(two.idle.imbalance, int64_t(180));
        QCOMPARE(two.idle.overhead, int64_t(0));
        QCOMPARE(two.concurrentNs, int64_t(20));
        QCOMPARE(two.taskPeriods, uint64_t(2));
        checkSums(two, "two tasks");
    }

    void preemptedRegionsAreNotForkJoin()
    {
        // Two lanes, 20 regions 1 ms apart: region k spans [base, base + 105 µs + 2 µs·(k mod 5)), lane 0 works
        // [base+5, base+100) µs (95 µs, the busiest), lane 1 [base+5, base+95) µs. Overheads R − m: 10, 12, 14, 16,
        // 18 µs, four times each; median 14 µs; overhead lane-time 2 · 4 · (10+12+14+16+18) µs = 560 µs.
        std::vector<TraceEvent> trace;
        for (int k = 0; k < 20; ++k) {
            const int64_t base = 1'000'000 * int64_t(k);
            trace.push_back(ev(0, base, base + 105'000 + 2'000 * (k % 5), Op::Region));
            trace.push_back(ev(0, base + 5'000, base + 100'000));
            trace.push_back(ev(1, base + 5'000, base + 95'000));
        }
        const TimeBreakdown calm = analyzeLaneTime(trace, 2, 0, 30'000'000);
        QCOMPARE(calm.undisturbedPeriods, uint64_t(20));
        QCOMPARE(calm.disturbedPeriods, uint64_t(0));
        QCOMPARE(calm.forkJoinMedianNs, int64_t(14'000));
        QCOMPARE(calm.overheadPerRegionNs(), 14'000.0);
        QCOMPARE(calm.idle.overhead, int64_t(560'000));
        QCOMPARE(calm.idle.disturbed, int64_t(0));
        checkSums(calm, "calm");

        // Three regions a lane was preempted in: 500 µs spans around the same work (overhead 405 µs each).
        for (int64_t base : { 25'000'000, 26'000'000, 27'000'000 }) {
            trace.push_back(ev(0, base, base + 500'000, Op::Region));
            trace.push_back(ev(0, base + 5'000, base + 100'000));
            trace.push_back(ev(1, base + 5'000, base + 95'000));
        }
        const TimeBreakdown busy = analyzeLaneTime(trace, 2, 0, 30'000'000);
        // The fork/join figure does not move (a mean would: (560 + 2·3·405) / 2 / 23 = 77 µs); the stretched
        // regions are counted apart.
        QCOMPARE(busy.forkJoinMedianNs, int64_t(14'000));
        QCOMPARE(busy.overheadPerRegionNs(), 14'000.0);
        QCOMPARE(busy.undisturbedPeriods, uint64_t(20));
        QCOMPARE(busy.disturbedPeriods, uint64_t(3));
        QCOMPARE(busy.idle.overhead, int64_t(560'000));
        QCOMPARE(busy.idle.disturbed, int64_t(2 * 3 * 405'000));
        QCOMPARE(busy.regions, uint64_t(23));
        checkSums(busy, "preempted");

        // The reading names them apart and quotes the median with its count.
        RunReport report;
        report.analysis.valid = true;
        report.analysis.prefill = busy;
        const std::vector<std::string> lines = readRunReport(report);
        QVERIFY(!lines.empty());
        QVERIFY2(lines[0].find("a median 14.0 µs of fork/join each") != std::string::npos, lines[0].c_str());
        QVERIFY2(lines[0].find("(over 20 regions)") != std::string::npos, lines[0].c_str());
        QVERIFY2(lines[0].find("3 more were stretched far beyond their work") != std::string::npos, lines[0].c_str());

        // A report saved before disturbed regions were told apart (no period counts) reads as it did: the mean.
        TimeBreakdown old = calm;
        old.undisturbedPeriods = 0;
        old.forkJoinMedianNs = 0;
        report.analysis.prefill = old;
        const std::string line = readRunReport(report).at(0);
        // 560 µs of overhead lane-time over 2 lanes and 20 regions: 14.0 µs each.
        QVERIFY2(line.find("Its 20 parallel regions cost 14.0 µs of fork/join each on average") != std::string::npos,
            line.c_str());
    }

    void requestRunIsNotCalledSerial()
    {
        // A real request-parallel run: 2 threads, 2 prompts, each decoded whole on one lane.
        static const auto model = makeSyntheticModel("tiny");
        RunRequest request;
        request.prompts = { "once upon a time there was", "the little dog ran to the" };
        request.maxTokens = 24;
        request.sampling.temperature = 0;
        request.stopAtEos = false;
        request.strategy = Strategy::Request;
        request.scheduler.threads = 2;
        const RunResult run = executeRun(model, request);
        const RunAnalysis a = analyzeRun(run);
        QVERIFY(a.valid);
        const RunMetrics& m = run.metrics;
        // From the events, independently: each lane's work in the decode window, and the time both lanes worked.
        const int64_t b = m.prefillEndNs, e = m.decodeEndNs;
        std::vector<std::pair<int64_t, int64_t>> work[2]; // each lane's events, clipped, then merged
        for (const TraceEvent& ev : run.trace) {
            if (isMarker(ev.op) || ev.worker < 0)
                continue;
            QVERIFY(ev.worker < 2);
            const int64_t x = std::max(ev.beginNs, b), y = std::min(ev.endNs, e);
            if (x < y)
                work[ev.worker].push_back({ x, y });
        }
        int64_t lane[2] = { 0, 0 };
        std::vector<std::pair<int64_t, int>> edges; // (time, +1/-1) of each lane's merged intervals
        for (int l = 0; l < 2; ++l) {
            std::sort(work[l].begin(), work[l].end());
            int64_t x = -1, y = -1;
            auto flush = [&] {
                if (x < y) {
                    lane[l] += y - x;
                    edges.push_back({ x, +1 });
                    edges.push_back({ y, -1 });
                }
            };
            for (const auto& [i, j] : work[l]) {
                if (i > y) {
                    flush();
                    x = i;
                }
                y = std::max(y, j);
            }
            flush();
        }
        std::sort(edges.begin(), edges.end());
        int64_t both = 0;
        int busy = 0;
        int64_t at = b;
        for (const auto& [t, d] : edges) {
            if (busy >= 2)
                both += t - at;
            at = t;
            busy += d;
        }
        const TimeBreakdown& d = a.decode;
        QCOMPARE(d.busyNs, lane[0] + lane[1]);
        QCOMPARE(d.concurrentNs, both);
        // Imbalance from the lanes' busy totals: the lane with less work waited the difference.
        QCOMPARE(d.idle.imbalance, std::max(lane[0], lane[1]) - std::min(lane[0], lane[1]));
        // The concurrent sections are not serial: nothing here is a serial section, whatever ran alone.
        QCOMPARE(d.idle.serial, int64_t(0));
        QCOMPARE(d.serialNs, int64_t(0));
        if (2 * both > d.wallNs) // both lanes busy together most of the time
            QVERIFY(d.serialFraction() < 0.5);
        // Idle is the lanes' real idle: lane-time minus their work.
        QCOMPARE(d.idle.total(), d.laneNs - lane[0] - lane[1]);
        checkSums(d, "request decode");

        // The reading quotes no Amdahl limit and names no serial sections for it, and says why.
        RunReport report;
        report.analysis = a;
        report.strategy = run.strategy;
        report.threads = run.threads;
        report.sequences = 2;
        const std::vector<std::string> lines = readRunReport(report);
        QVERIFY(lines.size() >= 2);
        for (size_t i = 0; i < 2; ++i) {
            QVERIFY2(lines[i].find("Amdahl's law no thread count") == std::string::npos, lines[i].c_str());
            QVERIFY2(lines[i].find("serial sections") == std::string::npos, lines[i].c_str());
            QVERIFY2(
                lines[i].find("no serial fraction or Amdahl limit is given") != std::string::npos, lines[i].c_str());
            QVERIFY2(lines[i].find("at most 2 lane(s) can work at once") != std::string::npos, lines[i].c_str());
        }
    }

    void nestedEventsCountOnceAndOverlappingRegionsMerge()
    {
        // Lane 0: [0,100) with [10,20) nested in it (a serial section inside a request task). Two region spans
        // [0,60) and [50,100) overlap: one period [0,100). Lane 1 works [20,40).
        // Period R = 100: w0 = 100, w1 = 20: imbalance 2·100 − 120 = 80, overhead 0.
        const TimeBreakdown t = analyzeLaneTime({ ev(0, 0, 100), ev(0, 10, 20, Op::Serial), ev(1, 20, 40),
                                                    ev(0, 0, 60, Op::Region), ev(1, 50, 100, Op::Region) },
            2, 0, 100);
        QCOMPARE(t.busyNs, int64_t(120));
        QCOMPARE(t.periods, uint64_t(1));
        QCOMPARE(t.regions, uint64_t(2));
        QCOMPARE(t.idle.imbalance, int64_t(80));
        QCOMPARE(t.idle.overhead, int64_t(0));
        checkSums(t, "nested");
    }

    void lanesGrowToTheWorkersSeen()
    {
        // Asked for 1 lane, but worker 2 recorded work: 3 lanes are accounted.
        const TimeBreakdown t = analyzeLaneTime({ ev(2, 0, 10) }, 1, 0, 10);
        QCOMPARE(t.lanes, 3);
        QCOMPARE(t.laneNs, int64_t(30));
        QCOMPARE(t.idle.serial, int64_t(20));
        checkSums(t, "lanes");
    }

    void emptyWindow()
    {
        const TimeBreakdown t = analyzeLaneTime(intraOpTrace(), 2, 10, 10);
        QCOMPARE(t.wallNs, int64_t(0));
        QCOMPARE(t.busyNs, int64_t(0));
        QCOMPARE(t.serialFraction(), 0.0);
        checkSums(t, "empty");
    }

    void schedulerRecordsOneSpanPerRegionAroundItsChunks()
    {
        SchedulerOptions options;
        options.threads = 2;
        options.partitioner = Partitioner::Simple;
        Scheduler scheduler(options);
        TraceRecorder recorder(3);
        TraceRecorder::calibrateClock();
        recorder.start(TraceRecorder::Clock::now());
        scheduler.setTraceRecorder(&recorder);
        std::atomic<int> blocks { 0 };
        scheduler.execute([&] {
            scheduler.parallelFor(RegionInfo { .op = Op::FfnDown, .layer = 3 }, 16, [&](size_t b0, size_t b1) {
                blocks += int(b1 - b0);
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            });
        });
        scheduler.setTraceRecorder(nullptr);
        QCOMPARE(blocks.load(), 16);
        const std::vector<TraceEvent> events = recorder.all();
        std::vector<TraceEvent> spans, chunks;
        for (const TraceEvent& e : events) {
            if (isRegionSpan(e.op))
                spans.push_back(e);
            else if (!isMarker(e.op))
                chunks.push_back(e);
        }
        QCOMPARE(int(spans.size()), 1);
        QCOMPARE(int(spans[0].layer), 3);
        QCOMPARE(spans[0].last, uint32_t(16));
        QCOMPARE(int(spans[0].worker), 0);
        QVERIFY(!chunks.empty());
        for (const TraceEvent& c : chunks) {
            QVERIFY(c.beginNs >= spans[0].beginNs);
            QVERIFY(c.endNs <= spans[0].endNs);
        }
        // Inline regions (request-parallel tasks) fork nothing and record no span.
        scheduler.setTraceRecorder(&recorder);
        {
            Scheduler::InlineRegions inlineRegions;
            scheduler.parallelFor(RegionInfo { .op = Op::FfnDown }, 4, [](size_t, size_t) {});
        }
        scheduler.setTraceRecorder(nullptr);
        int spansAfter = 0;
        for (const TraceEvent& e : recorder.all())
            spansAfter += isRegionSpan(e.op);
        QCOMPARE(spansAfter, 1);
    }

    void sweepPointsCarryTheTracedSerialFraction()
    {
        SweepRequest sweep;
        sweep.workload.prompts = { "once upon a time" };
        sweep.workload.maxTokens = 4;
        sweep.workload.sampling.temperature = 0;
        sweep.workload.stopAtEos = false;
        sweep.threads = { 1, 2 };
        sweep.repeat = 1;
        sweep.warmup = 0;
        int calls = 0, lastDone = -1, lastTotal = -1;
        const SweepResult r = runSweep(makeSyntheticModel("tiny"), sweep, [&](int done, int total, const std::string&) {
            ++calls;
            lastDone = done;
            lastTotal = total;
            return true;
        });
        // Per point: one timed run and one traced run, then "done".
        QCOMPARE(lastTotal, 4);
        QCOMPARE(lastDone, 4);
        QCOMPARE(calls, 5);
        QCOMPARE(int(r.strategies.at(0).traced.size()), 2);
        const nlohmann::json j = sweepToJson(r);
        for (const char* phase : { "prefill", "decode", "total" })
            for (const auto& point : j["strategies"][0]["phases"][phase]["points"]) {
                QVERIFY2(point.contains("traceSerialFraction"), phase);
                const double f = point["traceSerialFraction"].get<double>();
                QVERIFY(f > 0.0 && f <= 1.0);
            }
        // Kept per thread count, in sweep order.
        const auto& traced = r.strategies.at(0).traced;
        QCOMPARE(traced[0].threads, 1);
        QCOMPARE(traced[1].threads, 2);

        sweep.traceSerialFraction = false;
        const SweepResult untraced = runSweep(makeSyntheticModel("tiny"), sweep);
        QVERIFY(untraced.strategies.at(0).traced.empty());
        QVERIFY(
            !sweepToJson(untraced)["strategies"][0]["phases"]["decode"]["points"][0].contains("traceSerialFraction"));
    }

    void realRunsAddUp_data()
    {
        QTest::addColumn<int>("threads");
        QTest::addColumn<QString>("strategy");
        QTest::newRow("intra-op 1") << 1 << "intra-op";
        QTest::newRow("intra-op 2") << 2 << "intra-op";
        QTest::newRow("request 2") << 2 << "request";
        QTest::newRow("hybrid 2") << 2 << "hybrid";
        QTest::newRow("pipeline 2") << 2 << "pipeline";
    }
    void realRunsAddUp()
    {
        QFETCH(int, threads);
        QFETCH(QString, strategy);
        static const auto model = makeSyntheticModel("tiny");
        RunRequest request;
        request.prompts = { "once upon a time", "the little dog" };
        request.maxTokens = 6;
        request.sampling.temperature = 0;
        request.stopAtEos = false;
        request.strategy = *strategyFromName(strategy.toStdString());
        request.scheduler.threads = threads;
        const RunResult run = executeRun(model, request);
        const RunAnalysis a = analyzeRun(run);
        QVERIFY(a.valid);
        const bool task = strategy == "request" || strategy == "pipeline";
        for (const TimeBreakdown* t : { &a.total, &a.prefill, &a.decode }) {
            checkSums(*t, qPrintable(strategy));
            QVERIFY(t->busyNs > 0);
            QVERIFY(t->concurrentNs <= t->wallNs);
            if (task && t != &a.total) {
                // A phase of these strategies is one fork of the sequences: no serial sections in it.
                QCOMPARE(t->taskPeriods, uint64_t(1));
                QCOMPARE(t->idle.serial, int64_t(0));
                QCOMPARE(t->serialFraction(), 0.0);
            } else {
                QVERIFY(t->serialFraction() > 0.0 && t->serialFraction() <= 1.0);
            }
        }
        QCOMPARE(a.total.wallNs, run.metrics.wallNs);
        QVERIFY(a.prefill.wallNs + a.decode.wallNs <= a.total.wallNs);
        // The busy time is the workers' summed event time (no nesting in these strategies' lanes ... except
        // hybrid and request, whose serial sections may nest in a task: never more than the sum).
        int64_t summed = 0;
        for (const WorkerStats& w : run.metrics.workers)
            summed += w.busyNs;
        QVERIFY(a.total.busyNs <= summed);
        if (strategy == "intra-op") {
            QCOMPARE(a.total.busyNs, summed);
            QVERIFY(a.total.regions > 0);
            QVERIFY(a.total.idle.overhead > 0); // a fork and join are never free
        }
        if (threads == 1) {
            // One lane is never imbalanced against itself, and nobody waits for a serial section.
            QCOMPARE(a.total.idle.imbalance, int64_t(0));
            QCOMPARE(a.total.idle.serial, int64_t(0));
        }
    }
};

QTEST_GUILESS_MAIN(TestAnalysis)
#include "test_analysis.moc"
