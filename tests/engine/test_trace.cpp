// Tests for engine/trace: the per-slot recorder across chunk boundaries while a reader drains, reuse
// of pooled (previously written) chunks, refused slots, the trace clock against steady_clock, and the
// trace pump that ships a recorder's events to a sink, and what a traced Scheduler records.
#include "engine/parallel/scheduler.h"
#include "engine/parallel/trace.h"
#include "engine/parallel/tracepump.h"

#include <QtTest>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace engine;

namespace {

TraceEvent numbered(int worker, int64_t i)
{
    TraceEvent e;
    e.worker = int16_t(worker);
    e.beginNs = i;
    e.endNs = i + 1;
    e.first = uint32_t(i);
    e.last = uint32_t(i + 1);
    e.op = Op::FfnDown;
    return e;
}

// Checks that `events` holds, per slot, exactly beginNs = 0, 1, ..., perSlot - 1 in order.
void expectSequences(const std::vector<TraceEvent>& events, int slots, int64_t perSlot)
{
    std::vector<int64_t> next(size_t(slots), 0);
    for (const TraceEvent& e : events) {
        QVERIFY(e.worker >= 0 && e.worker < slots);
        QCOMPARE(e.beginNs, next[size_t(e.worker)]);
        QCOMPARE(e.endNs, e.beginNs + 1);
        QCOMPARE(e.first, uint32_t(e.beginNs));
        QCOMPARE(e.op, Op::FfnDown);
        ++next[size_t(e.worker)];
    }
    for (int s = 0; s < slots; ++s)
        QCOMPARE(next[size_t(s)], perSlot);
}

// Waits up to 10 s (a loaded machine) for `condition`.
template <typename Condition> bool waitFor(Condition condition)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

} // namespace

class TestTrace : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Writers fill several 2 MiB chunks each while the reader drains: every event comes out exactly
    // once, in order, and all() agrees with the drained stream.
    void writersCrossChunksWhileReaderDrains()
    {
        constexpr int kWriters = 2;
        constexpr int64_t kPerSlot = 200'000; // about four chunks per slot
        TraceRecorder recorder(kWriters);
        std::atomic<int> done { 0 };
        std::vector<std::thread> writers;
        for (int w = 0; w < kWriters; ++w)
            writers.emplace_back([&, w] {
                for (int64_t i = 0; i < kPerSlot; ++i)
                    recorder.record(numbered(w, i));
                done.fetch_add(1);
            });
        std::vector<TraceEvent> drained;
        while (done.load() < kWriters) {
            auto batch = recorder.drain();
            drained.insert(drained.end(), batch.begin(), batch.end());
        }
        for (auto& t : writers)
            t.join();
        auto rest = recorder.drain();
        drained.insert(drained.end(), rest.begin(), rest.end());

        QCOMPARE(recorder.count(), uint64_t(kWriters * kPerSlot));
        QCOMPARE(drained.size(), size_t(kWriters * kPerSlot));
        // Batches interleave slots; each slot's events must still be complete and in order.
        expectSequences(drained, kWriters, kPerSlot);
        expectSequences(recorder.all(), kWriters, kPerSlot);
        QVERIFY(recorder.drain().empty());
    }

    // A new recorder may get chunks an old one wrote: it must show only its own events.
    void pooledChunksShowOnlyNewEvents()
    {
        {
            TraceRecorder old(1);
            for (int64_t i = 0; i < 70'000; ++i)
                old.record(numbered(0, 1'000'000 + i));
        }
        TraceRecorder fresh(1);
        QCOMPARE(fresh.count(), uint64_t(0));
        QVERIFY(fresh.all().empty());
        for (int64_t i = 0; i < 10; ++i)
            fresh.record(numbered(0, i));
        expectSequences(fresh.all(), 1, 10);
        expectSequences(fresh.drain(), 1, 10);
    }

    // A slot outside the recorder is refused and counted, never written into another slot (which would give that
    // slot a second writer).
    void slotsOutsideTheRangeAreRefusedAndCounted()
    {
        TraceRecorder recorder(3);
        recorder.record(numbered(1, 0));
        recorder.record(numbered(-4, 0));
        recorder.record(numbered(3, 0));
        recorder.record(numbered(99, 0));
        const auto events = recorder.all();
        QCOMPARE(events.size(), size_t(1));
        QCOMPARE(events[0].worker, int16_t(1));
        QCOMPARE(recorder.count(), uint64_t(1));
        QCOMPARE(recorder.dropped(), uint64_t(3));
    }

    // The trace clock (the time-stamp counter where there is one) never runs backwards and keeps
    // pace with steady_clock.
    void clockFollowsSteadyClock()
    {
        using Clock = TraceRecorder::Clock;
        TraceRecorder::calibrateClock();
        TraceRecorder recorder(1);
        const auto origin = Clock::now();
        recorder.start(origin);
        int64_t previous = recorder.nowNs();
        QVERIFY(previous >= 0 && previous < 5'000'000);
        for (int i = 0; i < 100'000; ++i) {
            const int64_t now = recorder.nowNs();
            QVERIFY(now >= previous);
            previous = now;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        auto sinceOrigin
            = [&] { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin).count(); };
        // Bracketed by two steady_clock reads, so a preemption between the reads cannot fail the test;
        // 1% of the interval is left for the calibrated rate's error (it is good to a few ppm).
        const int64_t before = sinceOrigin();
        const int64_t traced = recorder.nowNs();
        const int64_t after = sinceOrigin();
        const int64_t slack = after / 100 + 50'000;
        QVERIFY2(traced >= before - slack && traced <= after + slack,
            qPrintable(QString("trace clock %1 ns, steady clock %2..%3 ns").arg(traced).arg(before).arg(after)));
    }

    // A traced scheduler: every part's blocks are recorded exactly once under the part's op, each chunk lies inside
    // its region's span, each slot's work events follow one another in time, and regionStats() agrees exactly with
    // the recorded spans (both come from the same clock reads).
    void tracedRegionsAreCompleteAndConsistent()
    {
        SchedulerOptions options;
        options.threads = 2;
        Scheduler scheduler(options);
        TraceRecorder::calibrateClock();
        TraceRecorder recorder(options.threads + 1);
        recorder.start(TraceRecorder::Clock::now());
        scheduler.setTraceRecorder(&recorder);
        scheduler.resetRegionStats();
        const std::array<RegionInfo, 3> parts { RegionInfo {
                                                    .op = Op::AttnQ, .layer = 2, .unitsPerBlock = 4, .units = 50 },
            RegionInfo { .op = Op::AttnK, .layer = 2, .unitsPerBlock = 4, .units = 9 },
            RegionInfo { .op = Op::AttnV, .layer = 2, .unitsPerBlock = 4, .units = 9 } };
        const std::array<size_t, 3> blocks { 13, 3, 3 };
        constexpr int kRegions = 40;
        std::atomic<uint64_t> sink { 0 };
        scheduler.execute([&] {
            for (int r = 0; r < kRegions; ++r) {
                scheduler.parallelForParts(parts, blocks, [&](size_t p, size_t b0, size_t b1) {
                    uint64_t x = p;
                    for (size_t i = 0; i < (b1 - b0) * 2000; ++i)
                        x = x * 6364136223846793005ull + 1442695040888963407ull;
                    sink.fetch_add(x, std::memory_order_relaxed);
                });
                scheduler.serial(RegionInfo { .op = Op::Serial, .layer = 2 }, [] {});
            }
        });
        scheduler.setTraceRecorder(nullptr);
        const std::vector<TraceEvent> events = recorder.all();
        QCOMPARE(recorder.dropped(), uint64_t(0));

        std::vector<TraceEvent> spans;
        std::map<Op, std::vector<uint32_t>> rowsCovered; // per op, how often each row was recorded
        for (size_t p = 0; p < parts.size(); ++p)
            rowsCovered[parts[p].op].assign(parts[p].units, 0);
        int serials = 0;
        for (const TraceEvent& e : events) {
            QVERIFY(e.endNs >= e.beginNs);
            if (e.op == Op::Region)
                spans.push_back(e);
            else if (e.op == Op::Serial)
                ++serials;
            else if (rowsCovered.count(e.op)) {
                QCOMPARE(e.layer, int16_t(2));
                QVERIFY(e.first < e.last && e.last <= rowsCovered[e.op].size());
                for (uint32_t row = e.first; row < e.last; ++row)
                    ++rowsCovered[e.op][row];
            }
        }
        for (const auto& [op, rows] : rowsCovered)
            for (uint32_t n : rows)
                QCOMPARE(n, uint32_t(kRegions));
        QCOMPARE(serials, kRegions);
        QCOMPARE(spans.size(), size_t(kRegions));

        // Regions run one after another: each chunk lies inside one span. The counter read is not ordered with the
        // loads around it (no fence: it would cost every read), so a read after the join may run a few ns early.
        constexpr int64_t kSlackNs = 200;
        std::sort(
            spans.begin(), spans.end(), [](const TraceEvent& a, const TraceEvent& b) { return a.beginNs < b.beginNs; });
        int64_t spanSum = 0;
        for (size_t i = 0; i < spans.size(); ++i) {
            spanSum += spans[i].durationNs();
            QCOMPARE(spans[i].last, uint32_t(13 + 3 + 3));
            if (i > 0)
                QVERIFY(spans[i].beginNs >= spans[i - 1].endNs); // both read by the calling thread
        }
        for (const TraceEvent& e : events) {
            if (isMarker(e.op) || e.op == Op::Serial)
                continue;
            const auto it = std::find_if(spans.begin(), spans.end(), [&](const TraceEvent& s) {
                return e.beginNs >= s.beginNs - kSlackNs && e.endNs <= s.endNs + kSlackNs;
            });
            QVERIFY2(it != spans.end(),
                qPrintable(QString("chunk %1..%2 ns outside every region").arg(e.beginNs).arg(e.endNs)));
        }
        // Per slot, in recording order, work events (chunks and serial sections) never overlap or go back in time.
        std::map<int, int64_t> lastEnd;
        for (const TraceEvent& e : events) {
            if (isMarker(e.op))
                continue;
            auto [it, fresh] = lastEnd.try_emplace(e.worker, e.endNs);
            if (!fresh) {
                QVERIFY(e.beginNs >= it->second);
                it->second = e.endNs;
            }
        }
        const Scheduler::RegionStats stats = scheduler.regionStats();
        QCOMPARE(stats.regions, uint64_t(kRegions));
        QCOMPARE(stats.totalNs, spanSum);
    }

    // The pump's helper sends batches while events are recorded, finish() sends what is left: every
    // event arrives once, in order, one batch at a time, the first ones from the helper's thread.
    void pumpShipsEveryEventOnce()
    {
        TraceRecorder recorder(1);
        std::mutex mutex;
        std::vector<TraceEvent> received;
        std::vector<std::thread::id> senders;
        std::atomic<bool> inSink { false };
        std::atomic<bool> overlapped { false };
        TracePump pump(recorder, [&](std::vector<TraceEvent>&& batch) {
            if (inSink.exchange(true))
                overlapped = true;
            {
                std::lock_guard lock(mutex);
                received.insert(received.end(), batch.begin(), batch.end());
                senders.push_back(std::this_thread::get_id());
            }
            inSink = false;
        });
        int64_t recorded = 0;
        for (; recorded < 1000; ++recorded)
            recorder.record(numbered(0, recorded));
        QVERIFY(waitFor([&] {
            std::lock_guard lock(mutex);
            return !received.empty();
        }));
        for (; recorded < 2000; ++recorded)
            recorder.record(numbered(0, recorded));
        pump.finish();
        QVERIFY(!overlapped);
        QVERIFY(!pump.failed());
        expectSequences(received, 1, recorded);
        QVERIFY(senders.front() != std::this_thread::get_id());
    }

    // A sink that throws on the helper: failed() turns true, nothing more is sent, and finish()
    // rethrows the exception on the calling thread.
    void pumpFailureIsRethrownByFinish()
    {
        TraceRecorder recorder(1);
        std::atomic<int> batches { 0 };
        TracePump pump(recorder, [&](std::vector<TraceEvent>&&) {
            ++batches;
            throw std::runtime_error("sink failed");
        });
        recorder.record(numbered(0, 0));
        QVERIFY(waitFor([&] { return pump.failed(); }));
        recorder.record(numbered(0, 1));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, pump.finish());
        QCOMPARE(batches.load(), 1);
    }
};

QTEST_GUILESS_MAIN(TestTrace)
#include "test_trace.moc"
