// Tests for engine/trace: the per-slot recorder across chunk boundaries while a reader drains, reuse
// of pooled (previously written) chunks, refused slots, the trace clock against steady_clock, and the
// trace pump that ships a recorder's events to a sink.
#include "engine/parallel/trace.h"
#include "engine/parallel/tracepump.h"

#include <QtTest>

#include <atomic>
#include <chrono>
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
