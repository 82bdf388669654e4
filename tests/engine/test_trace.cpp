// Tests for engine/trace: the per-slot recorder across chunk boundaries while a reader drains, reuse
// of pooled (previously written) chunks, slot clamping, and the trace clock against steady_clock.
#include "engine/parallel/trace.h"

#include <QtTest>

#include <atomic>
#include <chrono>
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

    void slotsOutsideTheRangeAreClamped()
    {
        TraceRecorder recorder(3);
        recorder.record(numbered(-4, 0));
        recorder.record(numbered(99, 0));
        const auto events = recorder.all();
        QCOMPARE(events.size(), size_t(2));
        QCOMPARE(events[0].worker, int16_t(0));
        QCOMPARE(events[1].worker, int16_t(2));
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
};

QTEST_GUILESS_MAIN(TestTrace)
#include "test_trace.moc"
