// The GUI's engine driver: results stream through queued signals, stop keeps what was measured, bad files
// keep the old model.
#include "testsupport.h"
#include "ui/runcontroller.h"

#include "engine/format/gguffile.h"
#include "engine/model/contextmemory.h"
#include "engine/model/synthetic.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QSignalSpy>
#include <QtTest>

#include <cstring>
#include <limits>

using namespace ui;

namespace {

RunSettings settings(QStringList prompts, int maxTokens, int threads = 2)
{
    RunSettings s;
    s.chat = true; // as the window sends it
    for (const QString& p : prompts)
        s.prompts.push_back(p.toStdString());
    s.maxTokens = maxTokens;
    s.sampling.temperature = 0.7f;
    s.sampling.seed = 5;
    s.scheduler.threads = threads;
    s.contextLength = 512;
    return s;
}

bool loadTiny(RunController& c)
{
    QSignalSpy loaded(&c, &RunController::modelLoaded);
    c.loadSynthetic(QStringLiteral("tiny"));
    return loaded.wait(20000) && c.model() != nullptr;
}

} // namespace

class TestRunController : public QObject {
    Q_OBJECT

    QTemporaryDir m_cache;

private Q_SLOTS:
    void initTestCase()
    {
        // Controllers without injected ceilings read these instead of measuring the machine after each run.
        QVERIFY(m_cache.isValid());
        testsupport::writeFakeRooflineCache(m_cache.path());
        qputenv("XDG_CACHE_HOME", m_cache.path().toLocal8Bit());
    }

    void aTracedRunsReportFollowsItsSummary()
    {
        RunController c;
        engine::MachinePeaks peaks = testsupport::fakeMachinePeaks();
        peaks.bandwidthGBps1 = 7.25; // told apart from the cache's figures
        c.setMachinePeaks(peaks);
        QVERIFY(loadTiny(c));
        QSignalSpy finished(&c, &RunController::runFinished);
        QSignalSpy analysing(&c, &RunController::analysisStarted);
        QSignalSpy reports(&c, &RunController::reportReady);
        const int id = c.startRun(settings({ QStringLiteral("The quick brown fox") }, 12));
        QVERIFY(id > 0);
        QTRY_COMPARE_WITH_TIMEOUT(reports.count(), 1, 30000);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(analysing.count(), 1);
        QCOMPARE(analysing.at(0).at(1).toBool(), false); // injected: nothing to measure
        QCOMPARE(reports.at(0).at(0).toInt(), id);
        const RunReportPtr report = reports.at(0).at(1).value<RunReportPtr>();
        QVERIFY(report);
        QVERIFY(report->analysis.valid);
        QCOMPARE(report->threads, 2);
        QCOMPARE(report->machine.bandwidthGBps1, 7.25);
        QVERIFY(!report->ops.empty());
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QCOMPARE(report->prefillTokens, summary.metrics.promptTokens);
        QCOMPARE(report->analysis.total.wallNs, summary.metrics.wallNs);
    }

    void anUntracedRunHasNoReport()
    {
        RunController c;
        c.setMachinePeaks(testsupport::fakeMachinePeaks());
        QVERIFY(loadTiny(c));
        QSignalSpy finished(&c, &RunController::runFinished);
        QSignalSpy reports(&c, &RunController::reportReady);
        RunSettings s = settings({ QStringLiteral("The quick brown fox") }, 8);
        s.trace = false;
        QVERIFY(c.startRun(s) > 0);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QTest::qWait(200);
        QCOMPARE(reports.count(), 0);
    }

    void withoutInjectedCeilingsTheCacheIsRead()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        QSignalSpy reports(&c, &RunController::reportReady);
        QVERIFY(c.startRun(settings({ QStringLiteral("fox") }, 4)) > 0);
        QTRY_COMPARE_WITH_TIMEOUT(reports.count(), 1, 30000);
        const RunReportPtr report = reports.at(0).at(1).value<RunReportPtr>();
        QVERIFY(report);
        QVERIFY(report->machine.fromCache);
        QCOMPARE(report->machine.bandwidthGBps1, testsupport::fakeMachinePeaks().bandwidthGBps1);
    }

    void tokensAndTraceBatchesStreamThenTheRunFinishes()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        QSignalSpy tokens(&c, &RunController::tokensReady);
        QSignalSpy trace(&c, &RunController::traceReady);
        QSignalSpy finished(&c, &RunController::runFinished);
        const int id = c.startRun(settings({ QStringLiteral("The quick brown fox"), QStringLiteral("jumps") }, 60));
        QVERIFY(id > 0);
        QVERIFY(c.isBusy());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QVERIFY(!c.isBusy());
        QVERIFY(tokens.count() >= 1);
        QVERIFY(trace.count() >= 1);
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QCOMPARE(int(summary.sequences.size()), 2);
        // The streamed pieces add up to each sequence's final text, and every event arrived.
        QString streamed[2];
        int tokenCount[2] = { 0, 0 };
        for (const auto& args : tokens) {
            QCOMPARE(args.at(0).toInt(), id);
            for (const TokenPiece& p : args.at(1).value<QVector<TokenPiece>>()) {
                streamed[p.sequence] += p.text;
                if (p.id >= 0) {
                    // The position of the forward pass that produced it: the prompt's last, then one more each.
                    QCOMPARE(p.position,
                        int(summary.sequences[size_t(p.sequence)].promptIds.size()) - 1 + tokenCount[p.sequence]);
                    ++tokenCount[p.sequence];
                }
            }
        }
        size_t events = 0;
        for (const auto& args : trace)
            events += args.at(1).value<TraceBatch>()->size();
        QCOMPARE(events, size_t(summary.metrics.traceEvents));
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(streamed[i], QString::fromStdString(summary.sequences[size_t(i)].text));
            QCOMPARE(tokenCount[i], int(summary.sequences[size_t(i)].tokenIds.size()));
        }
    }

    void updatesAreBatchedToAtMostAboutThirtyPerSecond()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        QSignalSpy tokens(&c, &RunController::tokensReady);
        QSignalSpy finished(&c, &RunController::runFinished);
        QElapsedTimer timer;
        timer.start();
        c.startRun(settings({ QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c") }, 400));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        const double seconds = double(timer.elapsed()) / 1000.0;
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QVERIFY(summary.metrics.generatedTokens > 100);
        // Hundreds of tokens, but no more batches than the 33 ms cadence allows (+ the final flush).
        QVERIFY2(tokens.count() <= int(seconds * 31.0) + 3,
            qPrintable(QStringLiteral("%1 batches in %2 s for %3 tokens")
                           .arg(tokens.count())
                           .arg(seconds)
                           .arg(summary.metrics.generatedTokens)));
    }

    void stopKeepsWhatWasMeasuredAndMarksItStopped()
    {
        RunController c;
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadSynthetic(QStringLiteral("15M"));
        QVERIFY(loaded.wait(60000));
        QSignalSpy tokens(&c, &RunController::tokensReady);
        QSignalSpy trace(&c, &RunController::traceReady);
        QSignalSpy finished(&c, &RunController::runFinished);
        auto s = settings({ QStringLiteral("Once upon a time") }, 200, 1);
        s.contextLength = 256;
        const int id = c.startRun(s);
        QTRY_VERIFY_WITH_TIMEOUT(tokens.count() >= 1, 30000);
        c.stop();
        QVERIFY(!c.isBusy()); // ready at once
        QCOMPARE(c.currentRunId(), 0);
        QCOMPARE(c.stoppedRunId(), id);
        // What it measured up to the stop arrives once, marked cancelled, within about one token.
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
        QCOMPARE(finished.at(0).at(0).toInt(), id);
        QCOMPARE(c.stoppedRunId(), 0);
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QVERIFY(summary.cancelled);
        QCOMPARE(int(summary.sequences.size()), 1);
        const engine::GenerationStats& st = summary.sequences[0].stats;
        QCOMPARE(st.stopReason, engine::StopReason::Cancelled);
        QVERIFY(st.generatedTokens >= 1 && st.generatedTokens < 200);
        QCOMPARE(summary.metrics.generatedTokens, st.generatedTokens);
        QCOMPARE(int(summary.metrics.workers.size()), 1); // the Workers tab has its row
        // Every token and trace event up to the stop reached the window: the panes match the summary.
        QString streamed;
        for (const auto& args : tokens) {
            QCOMPARE(args.at(0).toInt(), id);
            for (const TokenPiece& p : args.at(1).value<QVector<TokenPiece>>())
                streamed += p.text;
        }
        QCOMPARE(streamed, QString::fromStdString(summary.sequences[0].text));
        size_t events = 0;
        for (const auto& args : trace)
            events += args.at(1).value<TraceBatch>()->size();
        QCOMPARE(events, size_t(summary.metrics.traceEvents));
        QVERIFY(events > 0);
    }

    void aRunStartedRightAfterStopDropsTheStoppedRunsResults()
    {
        RunController c;
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadSynthetic(QStringLiteral("15M"));
        QVERIFY(loaded.wait(60000));
        QSignalSpy tokens(&c, &RunController::tokensReady);
        QSignalSpy finished(&c, &RunController::runFinished);
        auto s = settings({ QStringLiteral("Once upon a time") }, 200, 1);
        s.contextLength = 256;
        const int first = c.startRun(s);
        QTRY_VERIFY_WITH_TIMEOUT(tokens.count() >= 1, 30000);
        c.stop();
        const int tokensAtStop = tokens.count();
        s.maxTokens = 5;
        const int second = c.startRun(s); // before the stopped run's result arrived
        QVERIFY(second > first);
        QCOMPARE(c.stoppedRunId(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QTest::qWait(300);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.at(0).at(0).toInt(), second);
        for (int i = tokensAtStop; i < tokens.count(); ++i)
            QCOMPARE(tokens.at(i).at(0).toInt(), second); // nothing late of the stopped run
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QCOMPARE(summary.sequences[0].stats.generatedTokens, 5);
        QVERIFY(!summary.cancelled);
    }

    void aCancelledSweepKeepsThePointsItMeasured()
    {
        RunController c;
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadSynthetic(QStringLiteral("15M"));
        QVERIFY(loaded.wait(60000));
        QSignalSpy progress(&c, &RunController::sweepProgress);
        QSignalSpy done(&c, &RunController::sweepFinished);
        SweepSettings s;
        s.workload = settings({ QStringLiteral("Once upon a time") }, 40, 1);
        s.workload.contextLength = 256;
        s.threads = { 1, 2 };
        s.repeat = 3;
        s.warmup = 0;
        const int id = c.startSweep(s);
        // Stop once the first run has been measured (progress reports runs done before each run).
        QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().at(1).toInt() >= 1, 60000);
        c.stop();
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 20000);
        QCOMPARE(done.at(0).at(0).toInt(), id);
        const auto result = done.at(0).at(1).value<engine::SweepResult>();
        QCOMPARE(result.workload.value("cancelled", false), true);
        QCOMPARE(int(result.strategies.size()), 1);
        const auto& points = result.strategies[0].decodeScaling.points;
        QVERIFY(!points.empty() && points.size() <= 2);
        QCOMPARE(points[0].threads, 1);
    }

    void runsAreRefusedWhileAModelLoads()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadSynthetic(QStringLiteral("tiny"));
        QVERIFY(c.isLoading());
        QCOMPARE(c.startRun(settings({ QStringLiteral("x") }, 3)), 0); // it would run the old model
        SweepSettings sweep;
        sweep.workload = settings({ QStringLiteral("x") }, 3);
        QCOMPARE(c.startSweep(sweep), 0);
        QVERIFY(loaded.wait(20000));
        QVERIFY(!c.isLoading());
        QVERIFY(c.startRun(settings({ QStringLiteral("x") }, 3)) > 0);
    }

    void badModelFileReportsAndKeepsTheOldModel()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        const auto before = c.model();
        QSignalSpy failed(&c, &RunController::modelLoadFailed);
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadModel(QStringLiteral("/nonexistent/dir/model.gguf"));
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.at(0).at(0).toString().contains(QStringLiteral("/nonexistent/dir/model.gguf")));
        QCOMPARE(loaded.count(), 0);
        QCOMPARE(c.model(), before);
        // And it still runs.
        QSignalSpy finished(&c, &RunController::runFinished);
        c.startRun(settings({ QStringLiteral("x") }, 3));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
    }

    // A run's ended contexts leave their memory for the next run of that model (engine/model/contextmemory.h);
    // loading another model gives it back to the system instead of holding it until newer blocks push it out.
    void loadingAnotherModelReleasesTheEndedContextsMemory()
    {
        RunController c;
        c.setMachinePeaks(testsupport::fakeMachinePeaks());
        QVERIFY(loadTiny(c));
        engine::releaseContextPool(); // what other test functions left
        QSignalSpy finished(&c, &RunController::runFinished);
        QVERIFY(c.startRun(settings({ QStringLiteral("The quick brown fox") }, 6)) > 0);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(engine::contextPoolBytes() > 0, 5000); // the run's contexts ended
        const size_t kept = engine::contextPoolBytes();
        QSignalSpy failed(&c, &RunController::modelLoadFailed);
        c.loadModel(QStringLiteral("/nonexistent/dir/model.gguf"));
        QVERIFY(failed.wait(10000));
        QCOMPARE(engine::contextPoolBytes(), kept); // the old model stays, and so does its memory
        QVERIFY(loadTiny(c));
        QCOMPARE(engine::contextPoolBytes(), size_t(0));
        QVERIFY(c.startRun(settings({ QStringLiteral("The quick brown fox") }, 6)) > 0); // and it still runs
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(engine::contextPoolBytes() > 0, 5000);
    }

    void modelTooLargeForTheMemoryIsRefusedAndTheControllerStaysUsable()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        const auto before = c.model();
        const QString path = m_cache.filePath(QStringLiteral("big.gguf"));
        engine::writeSyntheticModel(engine::syntheticShape("tiny"), path.toStdString());
        QSignalSpy failed(&c, &RunController::modelLoadFailed);
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        qputenv("PLAYGROUND_MEMORY_AVAILABLE", "1048576"); // the engine's budget, for tests: less than the file
        c.loadModel(path);
        const bool reported = failed.wait(10000);
        qunsetenv("PLAYGROUND_MEMORY_AVAILABLE");
        QVERIFY(reported);
        const QString message = failed.at(0).at(0).toString();
        QVERIFY2(message.contains(path) && message.contains(QStringLiteral("too large for the memory available")),
            qPrintable(message));
        QCOMPARE(c.model(), before);
        QSignalSpy finished(&c, &RunController::runFinished);
        c.startRun(settings({ QStringLiteral("x") }, 3));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
        c.loadModel(path); // with the machine's own budget it loads
        QVERIFY(loaded.wait(20000));
    }

    void nanInAWeightFailsTheRunNamingTheTensor()
    {
        RunController c;
        auto bytes = engine::syntheticModelGguf(engine::syntheticShape("tiny"));
        {
            const engine::GgufFile parsed = engine::GgufFile::fromMemory(bytes, "nan");
            const engine::GgufTensorInfo* t = parsed.findTensor("blk.2.ffn_up.weight");
            QVERIFY(t && t->type == engine::GgmlType::F32);
            const float nan = std::numeric_limits<float>::quiet_NaN();
            std::memcpy(bytes.data() + t->fileOffset + 5 * sizeof(float), &nan, sizeof nan);
        }
        const QString path = m_cache.filePath(QStringLiteral("nan.gguf"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(reinterpret_cast<const char*>(bytes.data()), qint64(bytes.size()));
        f.close();
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadModel(path);
        QVERIFY(loaded.wait(20000));
        QSignalSpy failed(&c, &RunController::runFailed);
        c.startRun(settings({ QStringLiteral("x") }, 3));
        QVERIFY(failed.wait(20000));
        const QString message = failed.at(0).at(1).toString();
        QVERIFY2(message.contains(path) && message.contains(QStringLiteral("'blk.2.ffn_up.weight' (row 0)")),
            qPrintable(message));
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), 10000);
        QVERIFY(loadTiny(c)); // and the next model runs
        QSignalSpy finished(&c, &RunController::runFinished);
        c.startRun(settings({ QStringLiteral("x") }, 3));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
    }

    void runFailureIsReportedNotThrown()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        QSignalSpy failed(&c, &RunController::runFailed);
        auto s = settings({ QStringLiteral("x") }, 3);
        s.sampling.topP = 7.0f; // invalid: the engine refuses it with a message
        c.startRun(s);
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.at(0).at(1).toString().contains(QStringLiteral("top")));
        QVERIFY(!c.isBusy());
    }

    void sweepReportsProgressAndAResult()
    {
        RunController c;
        QVERIFY(loadTiny(c));
        QSignalSpy progress(&c, &RunController::sweepProgress);
        QSignalSpy done(&c, &RunController::sweepFinished);
        SweepSettings s;
        s.workload = settings({ QStringLiteral("a b"), QStringLiteral("c d") }, 8);
        s.threads = { 1, 2 };
        s.strategies = { engine::Strategy::IntraOp, engine::Strategy::Request };
        s.repeat = 2;
        c.startSweep(s);
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
        QVERIFY(progress.count() >= 1);
        const auto result = done.at(0).at(1).value<engine::SweepResult>();
        QCOMPARE(int(result.strategies.size()), 2);
        QCOMPARE(int(result.strategies[0].decodeScaling.points.size()), 2);
    }

    // A run records how busy other processes kept the machine, so the window can say when timings
    // are disturbed: a busy-looping child process during a run is reported.
    void runReportsABusyNeighbour()
    {
        QProcess busy;
        busy.start(QStringLiteral("/bin/sh"), { QStringLiteral("-c"), QStringLiteral("while :; do :; done") });
        QVERIFY(busy.waitForStarted());
        RunController c;
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadSynthetic(QStringLiteral("15M"));
        QVERIFY(loaded.wait(60000));
        QSignalSpy finished(&c, &RunController::runFinished);
        auto s = settings({ QStringLiteral("Once upon a time") }, 240, 1);
        s.contextLength = 256;
        c.startRun(s);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        busy.kill();
        busy.waitForFinished();
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QVERIFY(summary.backgroundLoad.measured);
        QVERIFY2(
            summary.backgroundLoad.otherCores >= 0.25, qPrintable(QString::number(summary.backgroundLoad.otherCores)));
        QVERIFY(busyMachineWarning(summary.backgroundLoad).contains(QLatin1String("CPUs busy")));
    }

    void busyWarningNeedsASignificantLoadOverAMeasurableTime()
    {
        engine::BackgroundLoad load;
        load.measured = true;
        load.cpus = 2;
        load.otherCores = 0.9;
        load.seconds = 1.0;
        QCOMPARE(
            busyMachineWarning(load), QStringLiteral("other processes kept 0.9 of 2 CPUs busy: timings disturbed"));
        load.seconds = 0.1; // a few /proc ticks: too coarse to tell
        QVERIFY(busyMachineWarning(load).isEmpty());
        load.seconds = 1.0;
        load.otherCores = 0.1; // below a quarter of a core
        QVERIFY(busyMachineWarning(load).isEmpty());
        load.otherCores = 0.9;
        load.measured = false;
        QVERIFY(busyMachineWarning(load).isEmpty());
    }

    void destroyingMidRunReturnsPromptly()
    {
        QElapsedTimer timer;
        {
            RunController c;
            QSignalSpy loaded(&c, &RunController::modelLoaded);
            c.loadSynthetic(QStringLiteral("15M"));
            QVERIFY(loaded.wait(60000));
            QSignalSpy tokens(&c, &RunController::tokensReady);
            auto s = settings({ QStringLiteral("Once upon a time") }, 240, 2);
            s.contextLength = 256;
            c.startRun(s);
            QTRY_VERIFY_WITH_TIMEOUT(tokens.count() >= 1, 30000);
            timer.start();
        }
        QVERIFY2(timer.elapsed() < 3000, qPrintable(QString::number(timer.elapsed())));
    }
};

QTEST_MAIN(TestRunController)
#include "test_runcontroller.moc"
