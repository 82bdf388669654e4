// The window under hostile timing: a hundred quick start/stops, threads, strategy and model changed between runs, a
// model opened mid-run, the window closed or destroyed mid-run and mid-sweep. Nothing crashes or hangs (a watchdog
// aborts with the test's name), and afterwards a run still completes with its own output and nothing of the runs
// before it. The sanitizer builds run it too: LeakSanitizer (ASan build) and ThreadSanitizer (tsan preset).
#include "testsupport.h"
#include "ui/mainwindow.h"
#include "ui/outputview.h"

#include "engine/model/synthetic.h"

#include <QApplication>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QPointer>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

using namespace ui;

namespace {

// Aborts the process when a test function runs longer than its limit: a deadlock fails loudly, naming the
// test, instead of waiting for ctest's timeout.
class Watchdog {
public:
    explicit Watchdog(std::chrono::seconds limit)
        : m_limit(limit)
        , m_thread([this] { watch(); })
    {
    }
    ~Watchdog()
    {
        {
            std::lock_guard lock(m_mutex);
            m_quit = true;
        }
        m_wake.notify_all();
        m_thread.join();
    }
    void arm(const char* test)
    {
        std::lock_guard lock(m_mutex);
        m_test = test;
        m_deadline = std::chrono::steady_clock::now() + m_limit;
        m_armed = true;
        m_wake.notify_all();
    }
    void disarm()
    {
        std::lock_guard lock(m_mutex);
        m_armed = false;
    }

private:
    void watch()
    {
        std::unique_lock lock(m_mutex);
        while (!m_quit) {
            if (!m_armed) {
                m_wake.wait(lock);
                continue;
            }
            if (m_wake.wait_until(lock, m_deadline) == std::cv_status::timeout && m_armed && !m_quit
                && std::chrono::steady_clock::now() >= m_deadline) {
                std::fprintf(stderr, "watchdog: %s still running after %lld s: deadlock?\n", m_test.c_str(),
                    static_cast<long long>(m_limit.count()));
                std::abort();
            }
        }
    }

    std::chrono::seconds m_limit;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_armed = false;
    bool m_quit = false;
    std::string m_test;
    std::chrono::steady_clock::time_point m_deadline;
    std::thread m_thread; // last: starts once the rest is ready
};

const QString kFileModel = QStringLiteral(PLAYGROUND_RESOURCE_DIR "/models/playground-kjv-q4_0.gguf");

bool loadTiny(MainWindow& w)
{
    QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
    w.controller()->loadSynthetic(QStringLiteral("tiny"));
    return loaded.wait(60000) && w.controller()->modelInfo().source == QStringLiteral("synthetic:tiny");
}

// Puts these settings in the window's controls (what the user would type) and reads them back.
RunSettings applyQuick(MainWindow& w, int threads, engine::Strategy strategy, int maxTokens)
{
    RunSettings s = w.currentSettings();
    s.prompts = { "Once upon a time", "The cat sat" };
    s.maxTokens = maxTokens;
    s.scheduler.threads = threads;
    s.strategy = strategy;
    s.sampling.temperature = 0.8f;
    s.sampling.seed = 11;
    s.trace = true;
    w.applySettings(s);
    return w.currentSettings();
}

// File ▸ Open GGUF… as the user does it: the (non-native) file dialog opens, `path` is chosen, OK.
void openModelThroughDialog(MainWindow& w, const QString& path)
{
    auto* timer = new QTimer(&w);
    timer->setInterval(5);
    QObject::connect(timer, &QTimer::timeout, timer, [timer, path] {
        auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
        if (!dialog)
            return;
        timer->stop();
        timer->deleteLater();
        dialog->selectFile(path);
        QMetaObject::invokeMethod(dialog, "accept"); // what OK does (protected in QFileDialog)
    });
    timer->start();
    w.openModel();
}

// Text as a QPlainTextEdit gives it back (no-break spaces and paragraph separators become plain ones).
QString plain(QString text)
{
    text.replace(QChar::Nbsp, QLatin1Char(' '));
    text.replace(QChar::ParagraphSeparator, QLatin1Char('\n'));
    text.replace(QChar::LineSeparator, QLatin1Char('\n'));
    return text;
}

// Answers the next message box the window shows with OK, keeping its text in `*text`.
void acceptNextMessageBox(MainWindow& w, QString* text)
{
    auto* timer = new QTimer(&w);
    timer->setInterval(5);
    QObject::connect(timer, &QTimer::timeout, timer, [timer, text] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (!box)
            return;
        timer->stop();
        timer->deleteLater();
        *text = box->text();
        box->accept();
    });
    timer->start();
}

// The window's model box, found by what it lists.
QComboBox* modelBox(MainWindow& w)
{
    for (QComboBox* box : w.findChildren<QComboBox*>())
        if (box->findData(QStringLiteral("synthetic:tiny")) >= 0)
            return box;
    return nullptr;
}

} // namespace

class TestHostileTiming : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    // Generous: the sanitizer builds are 5–15 times slower than release, where each test takes a few seconds.
    Watchdog m_watchdog { std::chrono::seconds(240) };

    // The window is idle and usable: Run starts a run that completes, and the output holds that run's text and
    // nothing of the runs before it.
    void expectUsable(MainWindow& w, int threads, engine::Strategy strategy)
    {
        QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->isBusy() && !w.controller()->isLoading(), 60000);
        applyQuick(w, threads, strategy, 6);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        QSignalSpy failed(w.controller(), &RunController::runFailed);
        w.run();
        QVERIFY(w.controller()->isBusy());
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 60000);
        QCOMPARE(failed.count(), 0);
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QVERIFY(!summary.cancelled);
        QCOMPARE(summary.threads, threads);
        QCOMPARE(summary.strategy, strategy);
        QCOMPARE(int(summary.sequences.size()), 2);
        const QStringList prompts { QStringLiteral("Once upon a time"), QStringLiteral("The cat sat") };
        for (int i = 0; i < 2; ++i) {
            QVERIFY(!summary.sequences[size_t(i)].tokenIds.empty());
            // The prompt and this run's text, nothing else: a stale run's tokens would be in it too.
            QCOMPARE(plain(w.output()->text(i)),
                plain(prompts[i] + QString::fromStdString(summary.sequences[size_t(i)].text)));
        }
        QVERIFY(!w.controller()->isBusy());
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
        QCoreApplication::setOrganizationName(QStringLiteral("playground-test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_hostiletiming"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.path());
        testsupport::writeFakeRooflineCache(m_dir.filePath(QStringLiteral("cache")));
        qputenv("XDG_CACHE_HOME", m_dir.filePath(QStringLiteral("cache")).toLocal8Bit());
        QVERIFY(QFileInfo::exists(kFileModel));
    }

    void init()
    {
        QSettings().clear();
        m_watchdog.arm(QTest::currentTestFunction());
    }
    void cleanup() { m_watchdog.disarm(); }

    void aHundredQuickStartsAndStops()
    {
        MainWindow w;
        w.resize(1366, 768);
        w.show();
        QVERIFY(loadTiny(w));
        applyQuick(w, 2, engine::Strategy::IntraOp, 24);
        QSignalSpy started(w.controller(), &RunController::runStarted);
        QSignalSpy tokens(w.controller(), &RunController::tokensReady);
        for (int i = 0; i < 100; ++i) {
            w.run();
            QCOMPARE(started.count(), i + 1); // the window was idle again at once after each stop
            const int id = w.controller()->currentRunId();
            // Stop at different moments: before the worker saw the run, while its events are queued, and after
            // its first tokens arrived (or it ended).
            switch (i % 4) {
            case 1:
                QCoreApplication::processEvents();
                break;
            case 2:
                QTest::qWait(1);
                break;
            case 3:
                QTRY_VERIFY_WITH_TIMEOUT(
                    (!tokens.isEmpty() && tokens.last().at(0).toInt() == id) || !w.controller()->isBusy(), 30000);
                break;
            default:
                break;
            }
            w.stop();
            QVERIFY(!w.controller()->isBusy());
        }
        expectUsable(w, 2, engine::Strategy::IntraOp);
    }

    void threadsStrategyAndModelChangedBetweenRuns()
    {
        MainWindow w;
        w.resize(1366, 768);
        w.show();
        QVERIFY(loadTiny(w));
        QSignalSpy tokens(w.controller(), &RunController::tokensReady);
        const std::vector<engine::Strategy>& strategies = engine::allStrategies();
        QCOMPARE(int(strategies.size()), 4);
        for (int i = 0; i < 12; ++i) {
            const int threads = 1 + i % 3;
            const engine::Strategy strategy = strategies[size_t(i) % strategies.size()];
            const RunSettings s = applyQuick(w, threads, strategy, 12);
            QCOMPARE(s.scheduler.threads, threads);
            QCOMPARE(s.strategy, strategy);
            QSignalSpy finished(w.controller(), &RunController::runFinished);
            w.run();
            const int id = w.controller()->currentRunId();
            QVERIFY(id > 0);
            if (i % 2 == 0) {
                QTRY_VERIFY_WITH_TIMEOUT(
                    (!tokens.isEmpty() && tokens.last().at(0).toInt() == id) || !w.controller()->isBusy(), 30000);
                w.stop();
            } else {
                QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
                const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
                QCOMPARE(summary.threads, threads);
                QCOMPARE(summary.strategy, strategy);
            }
            if (i % 3 == 2) {
                // The other model, chosen in the model box as soon as it is enabled again.
                QComboBox* box = modelBox(w);
                QVERIFY(box);
                QTRY_VERIFY_WITH_TIMEOUT(box->isEnabled(), 30000);
                const bool tiny = w.controller()->modelInfo().source == QStringLiteral("synthetic:tiny");
                int index = box->findData(QStringLiteral("file:") + kFileModel);
                if (tiny && index < 0) {
                    openModelThroughDialog(w, kFileModel); // not in the list yet: File ▸ Open puts it there
                } else {
                    if (!tiny)
                        index = box->findData(QStringLiteral("synthetic:tiny"));
                    QVERIFY(index >= 0);
                    Q_EMIT box->activated(index);
                }
                QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->isLoading(), 60000);
                QCOMPARE(w.controller()->modelInfo().source == QStringLiteral("synthetic:tiny"), !tiny);
            }
        }
        expectUsable(w, 3, engine::Strategy::Hybrid);
    }

    void aModelOpenedWhileARunGoes()
    {
        MainWindow w;
        w.resize(1366, 768);
        w.show();
        QVERIFY(loadTiny(w));
        QFile garbage(m_dir.filePath(QStringLiteral("garbage.gguf")));
        QVERIFY(garbage.open(QIODevice::WriteOnly));
        garbage.write(QByteArray(4096, 'x'));
        garbage.close();

        // A damaged file opened mid-run: the run ends as it would have, the old model stays.
        applyQuick(w, 2, engine::Strategy::Request, 64);
        QSignalSpy failedLoads(w.controller(), &RunController::modelLoadFailed);
        QSignalSpy tokens(w.controller(), &RunController::tokensReady);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        w.run();
        QTRY_VERIFY_WITH_TIMEOUT(!tokens.isEmpty() || !finished.isEmpty(), 30000);
        QString shown;
        acceptNextMessageBox(w, &shown); // the window says why the file was refused
        openModelThroughDialog(w, garbage.fileName());
        QVERIFY(w.controller()->isLoading());
        QTRY_COMPARE_WITH_TIMEOUT(failedLoads.count(), 1, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(shown.contains(QStringLiteral("garbage.gguf")), 30000);
        QCOMPARE(finished.count(), 1);
        QVERIFY(!finished.at(0).at(1).value<RunSummary>().cancelled);
        QCOMPARE(w.controller()->modelInfo().source, QStringLiteral("synthetic:tiny"));
        expectUsable(w, 1, engine::Strategy::IntraOp);

        // A good file opened mid-run, then the run stopped: the new model arrives and runs.
        applyQuick(w, 2, engine::Strategy::Pipeline, 64);
        QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
        tokens.clear();
        finished.clear();
        w.run();
        QTRY_VERIFY_WITH_TIMEOUT(!tokens.isEmpty() || !finished.isEmpty(), 30000);
        openModelThroughDialog(w, kFileModel);
        w.stop();
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
        QCOMPARE(w.controller()->modelInfo().source, kFileModel);
        expectUsable(w, 2, engine::Strategy::Pipeline);
    }

    void closedOrDestroyedMidRunAndMidSweep_data()
    {
        QTest::addColumn<bool>("sweep");
        QTest::addColumn<bool>("waitForWork"); // close once results flow, or at once
        QTest::addColumn<bool>("close"); // close the window first, or only destroy it (the app quitting)
        QTest::newRow("run, at once") << false << false << true;
        QTest::newRow("run, mid-stream") << false << true << true;
        QTest::newRow("sweep, at once") << true << false << true;
        QTest::newRow("sweep, mid-sweep") << true << true << true;
        QTest::newRow("run, destroyed unclosed") << false << true << false;
        QTest::newRow("sweep, destroyed unclosed") << true << true << false;
    }

    void closedOrDestroyedMidRunAndMidSweep()
    {
        QFETCH(bool, sweep);
        QFETCH(bool, waitForWork);
        QFETCH(bool, close);
        auto w = std::make_unique<MainWindow>();
        w->resize(1366, 768);
        w->show();
        QVERIFY(loadTiny(*w));
        // 480 tokens per prompt (tiny's context is 512), eight prompts one after another (intra-op): a run long
        // enough to be still going when QTRY's 50 ms poll sees the first tokens. Two prompts took 83 ms in all on the
        // EPYC VM (CLI generate, tracing on), too close to one poll for a faster host.
        RunSettings s = applyQuick(*w, 2, engine::Strategy::IntraOp, 480);
        s.prompts = { "Once upon a time", "The cat sat", "A", "B", "In the beginning", "Two", "Three", "Four" };
        w->applySettings(s);
        s = w->currentSettings();
        QCOMPARE(int(s.prompts.size()), 8);
        QSignalSpy tokens(w->controller(), &RunController::tokensReady);
        QSignalSpy progress(w->controller(), &RunController::sweepProgress);
        if (sweep) {
            SweepSettings settings;
            settings.workload = s;
            settings.workload.maxTokens = 16;
            settings.threads = { 1, 2 };
            settings.strategies = { engine::Strategy::IntraOp, engine::Strategy::Request };
            // Enough runs that the sweep cannot end between its first progress and the check below (tiny's
            // 16-token runs take about a millisecond each); closing stops it within one run.
            settings.repeat = 400;
            settings.warmup = 0;
            QVERIFY(w->sweepWith(settings) > 0);
            if (waitForWork)
                QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().at(1).toInt() >= 1, 60000);
        } else {
            w->run();
            if (waitForWork)
                QTRY_VERIFY_WITH_TIMEOUT(!tokens.isEmpty(), 30000);
        }
        QVERIFY(w->controller()->isBusy());
        QPointer<RunController> controller = w->controller();
        if (close)
            QVERIFY(w->close());
        w.reset(); // joins the worker: returns within one token or one sweep step
        QVERIFY(controller.isNull());
        QCoreApplication::processEvents(); // nothing queued for the dead window may run

        // Another window works as before.
        MainWindow v;
        v.resize(1366, 768);
        v.show();
        QVERIFY(loadTiny(v));
        expectUsable(v, 2, engine::Strategy::Request);
    }
};

QTEST_MAIN(TestHostileTiming)
#include "test_hostiletiming.moc"
