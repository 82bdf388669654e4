// Teaching demonstrations in the window: a lesson runs through the window's controller, the panel shows the
// explanation the lesson writes for what was measured, and leaving (after the end, or stopping midway) gives the
// user's own model, prompts and settings back exactly. Presentation mode scales the window's text and charts.
#include "testsupport.h"

#include "engine/lessons/lesson.h"
#include "engine/run/runsettings.h"
#include "ui/demopanel.h"
#include "ui/lessondriver.h"
#include "ui/mainwindow.h"
#include "ui/promptlisteditor.h"
#include "ui/rooflinechart.h"
#include "ui/settingspanel.h"
#include "ui/speedupchart.h"
#include "ui/timelineview.h"

#include <QApplication>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace ui;

namespace {

// The quickest lesson: the tiny synthetic model on one and two threads.
const char* const kQuickLesson = "too-small-to-split";

// Settings nobody would have by default, so that a lesson's leaking into them shows.
void setDistinctiveSettings(MainWindow& w)
{
    RunSettings s = w.settingsPanel()->settings();
    s.sampling.temperature = 0.37f;
    s.sampling.topK = 17;
    s.sampling.seed = 4242;
    s.maxTokens = 13;
    s.systemPrompt = "be terse";
    s.strategy = engine::Strategy::Request;
    s.scheduler.threads = 3;
    s.scheduler.partitioner = engine::Partitioner::Static;
    s.scheduler.grain = 7;
    w.settingsPanel()->setSettings(s);
    // Typed prompts with an empty entry between them, the last one selected.
    w.prompts()->setPrompts({ QStringLiteral("my own first prompt"), QString(), QStringLiteral("and a third ✓") });
    w.prompts()->setCurrentIndex(2);
}

struct Snapshot {
    std::string settings; // the engine's JSON of the run settings: every field the controls hold
    QStringList texts;
    int index = -1;
    std::shared_ptr<const engine::Model> model;
};

Snapshot snapshot(MainWindow& w)
{
    return { engine::toJson(w.settingsPanel()->settings()).dump(), w.prompts()->texts(), w.prompts()->currentIndex(),
        w.controller()->model() };
}

void compare(const Snapshot& a, const Snapshot& b)
{
    QCOMPARE(QString::fromStdString(a.settings), QString::fromStdString(b.settings));
    QCOMPARE(a.texts, b.texts);
    QCOMPARE(a.index, b.index);
    QVERIFY(a.model == b.model);
}

bool loadShipped(MainWindow& w)
{
    QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
    w.loadInitialModel();
    return loaded.wait(60000);
}

} // namespace

class TestLessonWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_settingsDir.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("playground-test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_lessonwindow"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        QVERIFY(engine::lessons::findLesson(kQuickLesson));
    }

    void init() { QSettings().clear(); }

    void completedLessonShowsItsExplanationAndLeavingRestoresEverything()
    {
        MainWindow w;
        w.controller()->setMachinePeaks(testsupport::fakeMachinePeaks());
        w.lessons()->setQuick(true);
        QVERIFY(loadShipped(w));
        setDistinctiveSettings(w);
        const Snapshot before = snapshot(w);

        QSignalSpy finished(w.lessons(), &LessonDriver::lessonFinished);
        QSignalSpy failed(w.lessons(), &LessonDriver::lessonFailed);
        QVERIFY(w.lessons()->start(QString::fromLatin1(kQuickLesson)));
        QVERIFY(w.lessons()->isActive());
        QVERIFY(!w.demoPanel()->isHidden());
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 120000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.front().front().toString()));
        // The lesson ran on its own model, not the user's.
        QVERIFY(w.controller()->model() != before.model);

        // The panel shows what the lesson writes for exactly these measurements.
        const engine::lessons::Lesson* lesson = engine::lessons::findLesson(kQuickLesson);
        const engine::lessons::Measured& measured = w.lessons()->measured();
        QVERIFY(!measured.values.empty());
        const engine::lessons::Explanation expected = lesson->explain(measured);
        QCOMPARE(w.demoPanel()->explanationText(), QString::fromStdString(expected.text));
        QCOMPARE(w.demoPanel()->showsContradiction(), expected.contradicts);
        QStringList names;
        for (const auto& m : measured.values)
            names << QString::fromStdString(m.name);
        QCOMPARE(w.demoPanel()->measuredNames(), names);

        // Leaving gives the user's model, prompts and settings back, and the controls their place.
        QSignalSpy left(w.lessons(), &LessonDriver::left);
        w.leaveLesson();
        QCOMPARE(left.count(), 1);
        QVERIFY(!w.lessons()->isActive());
        QVERIFY(w.demoPanel()->isHidden());
        compare(snapshot(w), before);
    }

    void amdahlLessonShowsTheSpeedupChartOnThePhaseItsFiguresComeFrom()
    {
        MainWindow w;
        w.controller()->setMachinePeaks(testsupport::fakeMachinePeaks());
        w.lessons()->setQuick(true);
        QVERIFY(loadShipped(w));
        w.speedupChart()->setPhase(SpeedupChart::Phase::Decode); // where the chart opens
        QSignalSpy finished(w.lessons(), &LessonDriver::lessonFinished);
        QSignalSpy failed(w.lessons(), &LessonDriver::lessonFailed);
        QVERIFY(w.lessons()->start(QStringLiteral("amdahl")));
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 120000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.front().front().toString()));
        // The lesson quotes the whole run's fit, and the chart it points to shows that phase, with the same fit.
        const engine::lessons::Explanation& e = w.lessons()->explanation();
        QVERIFY(e.chartPhase == engine::lessons::ChartPhase::Total);
        QCOMPARE(e.lookAt.front(), engine::lessons::Focus::SpeedupChart);
        QCOMPARE(w.speedupChart()->phase(), SpeedupChart::Phase::Total);
        const double quoted = w.lessons()->measured().value("fit_serial"); // percent
        const double shown = 100.0 * w.speedupChart()->fittedSerialFraction(QStringLiteral("intra-op"));
        QVERIFY2((std::isnan(quoted) && std::isnan(shown)) || std::abs(quoted - shown) < 1e-9,
            qPrintable(QStringLiteral("%1 vs %2").arg(quoted).arg(shown)));
        // The user looks at decode, then presses the lesson's "speedup chart" button: back on the text's phase.
        w.speedupChart()->setPhase(SpeedupChart::Phase::Decode);
        w.showFocus(engine::lessons::Focus::SpeedupChart);
        QCOMPARE(w.speedupChart()->phase(), SpeedupChart::Phase::Total);
        w.leaveLesson();
    }

    void stoppingMidRunRestoresEverything()
    {
        MainWindow w;
        w.controller()->setMachinePeaks(testsupport::fakeMachinePeaks());
        w.lessons()->setQuick(true);
        QVERIFY(loadShipped(w));
        setDistinctiveSettings(w);
        const Snapshot before = snapshot(w);

        // Esc as soon as the first step's run or sweep is under way. Polling for runStarted would be too late on a
        // fast host: the quick lesson can run to its end within one poll interval (it did on CI). The queued slot
        // runs at the next turn of the event loop, before anything the worker sends back (posted after it).
        QSignalSpy stopped(w.lessons(), &LessonDriver::lessonStopped);
        int escapes = 0;
        bool runningAtEsc = false;
        bool busyAtEsc = false;
        connect(
            w.controller(), &RunController::runStarted, &w,
            [&] {
                if (escapes++ > 0)
                    return;
                runningAtEsc = w.lessons()->isRunning();
                busyAtEsc = w.controller()->isBusy();
                w.stop(); // Esc
            },
            Qt::QueuedConnection);
        QVERIFY(w.lessons()->start(QString::fromLatin1(kQuickLesson)));
        QTRY_VERIFY_WITH_TIMEOUT(escapes > 0, 60000);
        QVERIFY(runningAtEsc);
        QVERIFY(busyAtEsc);
        QCOMPARE(stopped.count(), 1);
        QVERIFY(!w.lessons()->isRunning());
        QVERIFY(!w.controller()->isBusy());
        compare(snapshot(w), before);
        // What the stopped step still sends does not move the lesson on.
        QTest::qWait(300);
        QVERIFY(!w.lessons()->isRunning());
        QCOMPARE(escapes, 1); // the stopped lesson started no further run
        compare(snapshot(w), before);
        // A second Esc closes the panel; the user's settings stay.
        w.stop();
        QVERIFY(w.demoPanel()->isHidden());
        compare(snapshot(w), before);
    }

    void presentationModeScalesTextAndCharts()
    {
        MainWindow w;
        const double normal = w.font().pointSizeF();
        const double timelineNormal = w.timeline()->font().pointSizeF();
        QCOMPARE(w.speedupChart()->presentationScale(), 1.0);
        w.setPresentation(true);
        QVERIFY(w.presentation());
        QCOMPARE(w.font().pointSizeF(), normal * MainWindow::kPresentationScale);
        // The timeline's labels and the panel inherit it; the charts scale their own fonts and lines.
        QCOMPARE(w.timeline()->font().pointSizeF(), timelineNormal * MainWindow::kPresentationScale);
        QVERIFY(w.demoPanel()->font().pointSizeF() > normal * 1.5);
        QCOMPARE(w.speedupChart()->presentationScale(), MainWindow::kPresentationScale);
        QCOMPARE(w.rooflineChart()->presentationScale(), MainWindow::kPresentationScale);
        QVERIFY(QApplication::font().pointSizeF() >= normal * 1.5); // dialogs too
        w.setPresentation(false);
        QCOMPARE(w.font().pointSizeF(), normal);
        QCOMPARE(w.timeline()->font().pointSizeF(), timelineNormal);
        QCOMPARE(w.speedupChart()->presentationScale(), 1.0);
    }

private:
    QTemporaryDir m_settingsDir;
};

QTEST_MAIN(TestLessonWindow)
#include "test_lessonwindow.moc"
