// The GUI's engine driver: results stream through queued signals, stop works mid-run, bad files keep the old model.
#include "ui/runcontroller.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QtTest>

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

private Q_SLOTS:
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

    void stopMidRunDropsLateResultsAndASecondRunWorks()
    {
        RunController c;
        QSignalSpy loaded(&c, &RunController::modelLoaded);
        c.loadSynthetic(QStringLiteral("15M"));
        QVERIFY(loaded.wait(60000));
        QSignalSpy tokens(&c, &RunController::tokensReady);
        QSignalSpy finished(&c, &RunController::runFinished);
        QSignalSpy busy(&c, &RunController::busyChanged);
        auto s = settings({ QStringLiteral("Once upon a time") }, 200, 1);
        s.contextLength = 256;
        const int first = c.startRun(s);
        QTRY_VERIFY_WITH_TIMEOUT(tokens.count() >= 1, 30000);
        c.stop();
        QVERIFY(!c.isBusy()); // ready at once
        QCOMPARE(c.currentRunId(), 0);
        const int tokensAtStop = tokens.count();
        QTest::qWait(400);
        QCOMPARE(tokens.count(), tokensAtStop); // late results of the stopped run are dropped
        QCOMPARE(finished.count(), 0);

        s.maxTokens = 5;
        const int second = c.startRun(s);
        QVERIFY(second > first);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QCOMPARE(finished.at(0).at(0).toInt(), second);
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QCOMPARE(summary.sequences[0].stats.generatedTokens, 5);
        QVERIFY(!summary.cancelled);
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
