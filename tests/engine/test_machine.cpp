// Tests for engine/measure/machine's CPU-time snapshots: other processes' load from /proc, on synthetic snapshots
// (exact values) and on this machine with a busy child process during a short sweep; and its read of given spans.
#include "engine/measure/machine.h"
#include "engine/measure/sweep.h"
#include "engine/measure/sweepexport.h"
#include "engine/model/synthetic.h"

#include <QtTest>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace engine;

namespace {

// /proc/stat with two CPUs: "cpu user nice system idle iowait irq softirq steal guest guest_nice".
std::string procStat(uint64_t user, uint64_t system, uint64_t idle, uint64_t iowait, uint64_t steal = 0)
{
    return "cpu  " + std::to_string(user) + " 0 " + std::to_string(system) + " " + std::to_string(idle) + " "
        + std::to_string(iowait) + " 0 0 " + std::to_string(steal) + " 7 0\n"
        + "cpu0 1 0 1 1 0 0 0 0 0 0\ncpu1 1 0 1 1 0 0 0 0 0 0\nintr 12345\nctxt 999\n";
}

// /proc/self/stat with utime (field 14) and stime (field 15); the command holds a space and a ')'.
std::string selfStat(uint64_t utime, uint64_t stime)
{
    return "4242 (odd) name) R 1 4242 4242 0 -1 4194304 100 0 0 0 " + std::to_string(utime) + " "
        + std::to_string(stime) + " 0 0 20 0 3 0 100 1000 50\n";
}

std::shared_ptr<const Model> tinyModel()
{
    static auto model = makeSyntheticModel("tiny");
    return model;
}

SweepRequest shortSweep(int repeat)
{
    SweepRequest s;
    s.workload.prompts = { "The quick brown fox", "jumps over the lazy dog" };
    s.workload.maxTokens = 48;
    s.workload.stopAtEos = false;
    s.workload.contextLength = 128;
    s.threads = { 1 };
    s.repeat = repeat;
    s.warmup = 0;
    return s;
}

} // namespace

class TestMachine : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void spansReadCountsEveryBytePreparesEachThreadOnce()
    {
        // Spans that start and end off the 64-byte lines, one empty and one shorter than a line.
        std::vector<uint8_t> buffer((4 << 20) + 300, 1);
        const std::vector<ReadSpan> spans { { buffer.data() + 3, 1 << 20 }, { buffer.data() + (1 << 20) + 70, 0 },
            { buffer.data() + (1 << 20) + 100, 10 }, { buffer.data() + (2 << 20) + 17, (2 << 20) + 250 } };
        const uint64_t total = (1 << 20) + 0 + 10 + (2 << 20) + 250;
        for (int threads : { 1, 2, 3 }) {
            std::mutex m;
            std::vector<std::pair<size_t, size_t>> calls;
            const BandwidthResult r = measureSpansRead(threads, spans, 2, [&](size_t part, size_t parts) {
                std::lock_guard lock(m);
                calls.emplace_back(part, parts);
            });
            QCOMPARE(r.threads, threads);
            QCOMPARE(r.bufferBytes, total);
            QVERIFY(r.medianGBps > 0 && r.maxGBps >= r.medianGBps);
            std::sort(calls.begin(), calls.end());
            QCOMPARE(int(calls.size()), threads);
            for (int k = 0; k < threads; ++k)
                QCOMPARE(calls[size_t(k)], std::make_pair(size_t(k), size_t(threads)));
        }
    }

    void parsesProcStatAndSelfStat()
    {
        const CpuTimes t = parseCpuTimes(procStat(100, 50, 800, 50, 5), selfStat(30, 10));
        QVERIFY(t.valid);
        QCOMPARE(t.cpus, 2);
        QCOMPARE(t.machineBusy, uint64_t(100 + 50 + 5)); // guest (7) is inside user already: not added
        QCOMPARE(t.machineTotal, uint64_t(155 + 800 + 50));
        QCOMPARE(t.process, uint64_t(40));
        QVERIFY(!parseCpuTimes("", selfStat(1, 1)).valid);
        QVERIFY(!parseCpuTimes(procStat(1, 1, 1, 1), "garbage").valid);
    }

    void otherProcessesLoadFromSyntheticSnapshots()
    {
        // Between the snapshots: all CPUs 450 ticks, busy 250, this process 100, so others used 150 ticks:
        // a third of the machine, 2/3 of a CPU on two CPUs.
        const CpuTimes before = parseCpuTimes(procStat(100, 50, 800, 50), selfStat(30, 10));
        const CpuTimes after = parseCpuTimes(procStat(300, 100, 1000, 50), selfStat(110, 30));
        const BackgroundLoad load = backgroundLoadBetween(before, after);
        QVERIFY(load.measured);
        QCOMPARE(load.cpus, 2);
        QVERIFY(std::abs(load.otherShare - 150.0 / 450.0) < 1e-12);
        QVERIFY(std::abs(load.otherCores - 2.0 / 3.0) < 1e-12);
        QVERIFY(std::abs(load.seconds - 450.0 / 2 / double(sysconf(_SC_CLK_TCK))) < 1e-12);
        QVERIFY(load.significant());
        const nlohmann::json j = toJson(load);
        QVERIFY(j["significant"].get<bool>());
        QVERIFY(std::abs(j["other_cores"].get<double>() - 2.0 / 3.0) < 1e-12);
    }

    void idleSnapshotsAreNotFlagged()
    {
        // The machine's busy time is all this process's (plus a tick of sampling skew the other way): others 0.
        const CpuTimes before = parseCpuTimes(procStat(100, 50, 800, 50), selfStat(30, 10));
        const CpuTimes after = parseCpuTimes(procStat(180, 70, 1000, 50), selfStat(131, 10));
        const BackgroundLoad load = backgroundLoadBetween(before, after);
        QVERIFY(load.measured);
        QCOMPARE(load.otherCores, 0.0); // 100 busy − 101 own is clamped to 0
        QVERIFY(!load.significant());
        // A little background (10 of 300 ticks on 2 CPUs: 0.067 CPUs) stays under the threshold.
        const CpuTimes quiet = parseCpuTimes(procStat(200, 80, 1270, 50), selfStat(151, 10));
        const BackgroundLoad small = backgroundLoadBetween(after, quiet);
        QVERIFY(std::abs(small.otherCores - 2.0 * 10.0 / 300.0) < 1e-12);
        QVERIFY(!small.significant());
        // Snapshots out of order or unreadable are not a measurement.
        QVERIFY(!backgroundLoadBetween(after, before).measured);
        QVERIFY(!backgroundLoadBetween(CpuTimes {}, after).measured);
    }

    void busyChildProcessDuringASweepIsDetected()
    {
        if (!readCpuTimes().valid)
            QSKIP("/proc is not readable here");
        // Make the sweep last about half a second, so 10 ms ticks (50 per CPU) resolve the load well.
        const auto t0 = std::chrono::steady_clock::now();
        runSweep(tinyModel(), shortSweep(1));
        const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const int repeat = std::clamp(int(0.5 / std::max(once, 1e-3)) + 1, 2, 1000);

        const pid_t child = fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            // A busy loop in another process: exactly what the warning is for.
            volatile unsigned long spins = 0;
            for (;;)
                spins = spins + 1;
        }
        const SweepResult r = runSweep(tinyModel(), shortSweep(repeat));
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);

        // The child alone can keep a CPU busy (half of one when there is a single CPU to share with the sweep);
        // on a shared machine others only add to it.
        QVERIFY2(r.backgroundLoad.measured, "no load measured");
        const double expected = std::min(0.5, 0.35 * r.backgroundLoad.cpus);
        qInfo("one run %.1f ms; %d runs; other processes %.2f of %d CPUs over %.2f s", once * 1e3, repeat,
            r.backgroundLoad.otherCores, r.backgroundLoad.cpus, r.backgroundLoad.seconds);
        QVERIFY2(r.backgroundLoad.otherCores >= expected,
            qPrintable(QStringLiteral("other processes: %1 CPUs over %2 s")
                           .arg(r.backgroundLoad.otherCores)
                           .arg(r.backgroundLoad.seconds)));
        QVERIFY(r.backgroundLoad.significant());
        QCOMPARE(r.strategies.size(), size_t(1));
        QCOMPARE(r.strategies[0].backgroundLoads.size(), size_t(1));
        QCOMPARE(r.strategies[0].backgroundLoads[0].threads, 1);
        QVERIFY(r.strategies[0].backgroundLoads[0].load.otherCores >= expected);
        // The JSON export carries it.
        const nlohmann::json j = sweepToJson(r);
        QVERIFY(j["backgroundLoad"]["significant"].get<bool>());
        QVERIFY(j["strategies"][0]["backgroundLoad"][0]["other_cores"].get<double>() >= expected);
    }
};

QTEST_APPLESS_MAIN(TestMachine)
#include "test_machine.moc"
