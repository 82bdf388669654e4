// The window says what is true: after Stop, after opening a session, after a failed model load and
// while a model loads, the model name, outputs and worker table match the controller's state.
#include "testsupport.h"
#include "ui/dialoganswerer.h"
#include "ui/mainwindow.h"
#include "ui/outputview.h"
#include "ui/sessionfile.h"
#include "ui/settingspanel.h"
#include "ui/statstable.h"
#include "ui/timelinedata.h"
#include "ui/timelineview.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QTimer>
#include <QWheelEvent>
#include <QtTest>

using namespace ui;
using testsupport::DialogAnswerer;

namespace {

// The model drop-down: the combo whose entries are models.
QComboBox* modelCombo(MainWindow& w)
{
    for (QComboBox* combo : w.findChildren<QComboBox*>())
        for (int i = 0; i < combo->count(); ++i)
            if (combo->itemData(i).toString().startsWith(QLatin1String("synthetic:")))
                return combo;
    return nullptr;
}

QPushButton* runButton(MainWindow& w)
{
    for (QPushButton* b : w.findChildren<QPushButton*>())
        if (b->text().contains(QLatin1String("Run")))
            return b;
    return nullptr;
}

bool loadSynthetic(MainWindow& w, const QString& shape)
{
    QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
    w.controller()->loadSynthetic(shape);
    return loaded.wait(60000);
}

void sendWheel(QWidget* target)
{
    const QPointF at(target->width() / 2.0, target->height() / 2.0);
    QWheelEvent wheel(
        at, target->mapToGlobal(at), QPoint(), QPoint(0, -120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(target, &wheel);
}

} // namespace

class TestWindowState : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_settingsDir.isValid());
        QApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
        QCoreApplication::setOrganizationName(QStringLiteral("playground-test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_windowstate"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        // The runs' analysis reads made-up ceilings instead of measuring the machine.
        testsupport::writeFakeRooflineCache(m_settingsDir.filePath(QStringLiteral("cache")));
        qputenv("XDG_CACHE_HOME", m_settingsDir.filePath(QStringLiteral("cache")).toLocal8Bit());
    }

    void init() { QSettings().clear(); }

    void stopKeepsAndShowsWhatWasMeasured()
    {
        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("15M")));
        RunSettings s = w.currentSettings();
        s.prompts = { "Once upon a time" };
        s.maxTokens = 400;
        s.scheduler.threads = 2;
        w.applySettings(s);
        QSignalSpy tokens(w.controller(), &RunController::tokensReady);
        QSignalSpy trace(w.controller(), &RunController::traceReady);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        w.run();
        QTRY_VERIFY_WITH_TIMEOUT(tokens.count() >= 2, 30000);
        w.stop();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        QVERIFY(summary.cancelled);
        // The pane holds the prompt and everything generated up to the stop, and its figures, not "213 token(s)…".
        QCOMPARE(w.output()->paneCount(), 1);
        QCOMPARE(w.output()->text(0),
            QStringLiteral("Once upon a time") + QString::fromStdString(summary.sequences[0].text));
        QVERIFY2(w.output()->statsText(0).contains(QLatin1String("(stopped)")), qPrintable(w.output()->statsText(0)));
        QVERIFY(!w.output()->statsText(0).endsWith(QStringLiteral("…")));
        // The Workers tab has a row per thread, marked stopped; the timeline has every event up to the stop.
        QCOMPARE(w.stats()->table()->rowCount(), 2);
        QVERIFY2(w.stats()->totalsText().contains(QLatin1String("Stopped")), qPrintable(w.stats()->totalsText()));
        size_t events = 0;
        TimelineData all;
        for (const auto& args : trace) {
            events += args.at(1).value<TraceBatch>()->size();
            all.append(*args.at(1).value<TraceBatch>());
        }
        QCOMPARE(events, size_t(summary.metrics.traceEvents));
        QVERIFY(all.eventCount() > 0);
        QCOMPARE(w.timeline()->data().eventCount(), all.eventCount());
        QCOMPARE(modelCombo(w)->currentData().toString(), QStringLiteral("synthetic:15M"));
    }

    void decodeSpeedsSayWhichIsWhich()
    {
        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        RunSettings s = w.currentSettings();
        s.prompts = { "a b c", "d e" };
        s.maxTokens = 12;
        s.strategy = engine::Strategy::Request;
        w.applySettings(s);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        w.run();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        const RunSummary summary = finished.at(0).at(1).value<RunSummary>();
        // Each pane: its own prompt's rate; the Workers tab: the run's, over the decode phase.
        for (int i = 0; i < 2; ++i) {
            const engine::GenerationStats& st = summary.sequences[size_t(i)].stats;
            const QString own = QStringLiteral("this prompt: prefill %1 tok/s, decode %2 tok/s")
                                    .arg(st.promptTokens * 1000.0 / st.prefillMs, 0, 'f', 0)
                                    .arg((st.generatedTokens - 1) * 1000.0 / st.decodeMs, 0, 'f', 1);
            QVERIFY2(w.output()->statsText(i).contains(own), qPrintable(w.output()->statsText(i)));
        }
        const QString all
            = QStringLiteral("all prompts %1 tok/s").arg(summary.metrics.decodeTokensPerSecond, 0, 'f', 1);
        QVERIFY2(w.stats()->totalsText().contains(all), qPrintable(w.stats()->totalsText()));
        // Prefill too: the phase's rate over all prompts is named so, apart from a pane's own prompt's.
        const QString allPrefill
            = QStringLiteral("(all prompts %1 tok/s)").arg(summary.metrics.prefillTokensPerSecond, 0, 'f', 0);
        QVERIFY2(w.stats()->totalsText().contains(allPrefill), qPrintable(w.stats()->totalsText()));
        // The max ÷ mean ratio is not called "imbalance", the Why panel's share of the lane-time.
        QVERIFY(!w.stats()->totalsText().contains(QLatin1String("imbalance")));
        QVERIFY(w.stats()->totalsText().contains(
            QStringLiteral("busiest ÷ mean worker busy time %1×").arg(summary.metrics.loadImbalance, 0, 'f', 2)));
        QVERIFY(!w.stats()->totalsText().contains(QLatin1String("Stopped")));
    }

    // A context above the model's trained length (tiny: 512) is warned about beside the control and in
    // the status bar, the option to allow it appears, and the run is refused with the engine's message
    // until it is allowed.
    void aContextBeyondTheModelIsWarnedAndRefusedUnlessAllowed()
    {
        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        auto* panel = w.findChild<SettingsPanel*>();
        QVERIFY(panel);
        auto* context = panel->findChild<QSpinBox*>(QStringLiteral("context"));
        auto* warning = panel->findChild<QLabel*>(QStringLiteral("contextWarning"));
        auto* allow = panel->findChild<QCheckBox*>(QStringLiteral("allowContextOverflow"));
        QVERIFY(context && warning && allow);
        QVERIFY(warning->isHidden() && allow->isHidden());
        auto statusSays = [&w](const QString& text) {
            for (QLabel* label : w.statusBar()->findChildren<QLabel*>())
                if (label->text().contains(text) || label->toolTip().contains(text))
                    return true;
            return false;
        };

        RunSettings s = w.currentSettings();
        s.prompts = { "a b c" };
        s.maxTokens = 2;
        s.contextLength = 4096;
        w.applySettings(s);
        QCOMPARE(context->value(), 4096);
        QVERIFY(!warning->isHidden() && !allow->isHidden());
        QVERIFY2(warning->text().contains(QLatin1String("4096")) && warning->text().contains(QLatin1String("512")),
            qPrintable(warning->text()));
        QVERIFY(statusSays(QStringLiteral("beyond the model's trained 512")));
        QVERIFY(statusSays(QStringLiteral("context 4096 > trained 512: refused")));

        DialogAnswerer answer;
        QSignalSpy failed(w.controller(), &RunController::runFailed);
        w.run();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        const QString message = failed.at(0).at(1).toString();
        QVERIFY2(message.contains(QLatin1String("4096")) && message.contains(QLatin1String("512"))
                && message.contains(QLatin1String("Allow context beyond the model's trained length")),
            qPrintable(message));
        QTRY_COMPARE_WITH_TIMEOUT(answer.messages.size(), 1, 5000);

        allow->setChecked(true);
        QVERIFY(w.currentSettings().allowContextOverflow);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        w.run();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QCOMPARE(failed.count(), 1);

        // Back within the model's length: no warning, and the option hides once it is off.
        context->setValue(256);
        allow->setChecked(false);
        QVERIFY(warning->isHidden() && allow->isHidden());
        QVERIFY(!statusSays(QStringLiteral("beyond the model's trained 512")));
    }

    void theModelDropDownNamesTheLoadedModelAndRunWaitsForALoad()
    {
        QSettings().setValue(QStringLiteral("model/last"), QStringLiteral("synthetic:tiny"));
        MainWindow w;
        QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
        w.loadInitialModel(); // a restart with a synthetic model
        QVERIFY(loaded.wait(30000));
        QCOMPARE(modelCombo(w)->currentData().toString(), QStringLiteral("synthetic:tiny"));
        QVERIFY(runButton(w)->isEnabled());

        // While another model loads, Run is off and Ctrl+Enter does nothing: it would run the old model.
        QSignalSpy started(w.controller(), &RunController::runStarted);
        w.controller()->loadSynthetic(QStringLiteral("15M"));
        QVERIFY(!runButton(w)->isEnabled());
        w.run();
        QCOMPARE(started.count(), 0);
        QVERIFY(loaded.wait(60000));
        QCOMPARE(modelCombo(w)->currentData().toString(), QStringLiteral("synthetic:15M"));
        QVERIFY(runButton(w)->isEnabled());
    }

    void aFailedLoadAtStartDoesNotClaimAModelIsLoaded()
    {
        MainWindow w;
        DialogAnswerer answer;
        QSignalSpy failed(w.controller(), &RunController::modelLoadFailed);
        w.loadInitialModel(QStringLiteral("/nonexistent/bad.gguf")); // llm-playground --model bad.gguf
        QVERIFY(failed.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(answer.messages.size(), 1, 5000);
        QVERIFY2(!answer.messages[0].contains(QLatin1String("stays loaded")), qPrintable(answer.messages[0]));
        QVERIFY(answer.messages[0].contains(QLatin1String("no model is loaded")));
        QVERIFY(!w.controller()->model());
        QCOMPARE(modelCombo(w)->currentIndex(), -1); // names no model rather than the default
        QVERIFY(!runButton(w)->isEnabled());

        // With a model loaded, a failure says that one stays.
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        w.controller()->loadModel(QStringLiteral("/nonexistent/other.gguf"));
        QVERIFY(failed.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(answer.messages.size(), 2, 5000);
        QVERIFY2(answer.messages[1].contains(QLatin1String("stays loaded")), qPrintable(answer.messages[1]));
        QCOMPARE(modelCombo(w)->currentData().toString(), QStringLiteral("synthetic:tiny"));
    }

    void openingASessionShowsItsOutputsAndNoUnrelatedTrace()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("session.json"));
        // A session of format 1 (settings and outputs as text): files from before format 2 still open.
        struct {
            QStringList outputTexts, outputStats;
        } saved;
        saved.outputTexts = { QStringLiteral("Alpha and then some"), QStringLiteral("Beta, more") };
        saved.outputStats
            = { QStringLiteral("1 prompt + 3 generated tokens"), QStringLiteral("1 prompt + 2 generated tokens") };
        {
            nlohmann::json legacy = { { "format", "llm-playground-session-1" }, { "model", "synthetic:tiny" },
                { "prompts", { "Alpha", "Beta" } } };
            for (int i = 0; i < 2; ++i)
                legacy["outputs"].push_back({ { "text", saved.outputTexts[i].toStdString() },
                    { "stats", saved.outputStats[i].toStdString() } });
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray::fromStdString(legacy.dump(1)));
        }

        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("15M")));
        RunSettings s = w.currentSettings();
        s.prompts = { "x" };
        s.maxTokens = 4;
        w.applySettings(s);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        w.run();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QVERIFY(w.timeline()->data().eventCount() > 0);

        DialogAnswerer answer(path);
        QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
        w.openSession();
        QCOMPARE(w.output()->paneCount(), 2);
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(w.output()->text(i), saved.outputTexts[i]);
            QVERIFY(w.output()->statsText(i).contains(saved.outputStats[i]));
            QVERIFY(!w.output()->statsText(i).contains(QLatin1String("waiting")));
        }
        // The generated text is shown as output (the text colour), the prompt in grey.
        QPlainTextEdit* first = nullptr;
        for (QPlainTextEdit* edit : w.output()->findChildren<QPlainTextEdit*>())
            if (edit->toPlainText() == saved.outputTexts[0])
                first = edit;
        QVERIFY(first);
        QTextCursor c(first->document());
        c.setPosition(2);
        const QColor promptColour = c.charFormat().foreground().color();
        c.setPosition(int(saved.outputTexts[0].size()));
        const QColor outputColour = c.charFormat().foreground().color();
        QCOMPARE(outputColour, w.output()->palette().color(QPalette::Text));
        QVERIFY(promptColour != outputColour);
        // No timeline or worker figures of an unrelated run beside them.
        QCOMPARE(w.timeline()->data().eventCount(), size_t(0));
        QCOMPARE(w.stats()->table()->rowCount(), 0);
        QVERIFY(w.stats()->totalsText().contains(QLatin1String("trace")));
        // The session's model is loaded and named.
        QVERIFY(loaded.wait(30000));
        QCOMPARE(modelCombo(w)->currentData().toString(), QStringLiteral("synthetic:tiny"));
        QCOMPARE(w.controller()->modelInfo().source, QStringLiteral("synthetic:tiny"));
    }

    void theWheelChangesOnlyAFocusedControl()
    {
        QWidget window;
        auto* panel = new SettingsPanel(&window);
        auto* other = new QPlainTextEdit(&window);
        other->move(0, 2000);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* temperature = panel->findChild<QDoubleSpinBox*>(QStringLiteral("temperature"));
        auto* strategy = panel->findChild<QComboBox*>(QStringLiteral("strategy"));
        QVERIFY(temperature && strategy);
        QCOMPARE(temperature->focusPolicy(), Qt::StrongFocus);
        QCOMPARE(strategy->focusPolicy(), Qt::StrongFocus);
        other->setFocus();
        const double before = temperature->value();
        const int strategyBefore = strategy->currentIndex();
        sendWheel(temperature);
        sendWheel(strategy);
        QCOMPARE(temperature->value(), before);
        QCOMPARE(strategy->currentIndex(), strategyBefore);
        // Focused, the wheel works as usual.
        window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&window));
        temperature->setFocus();
        QTRY_VERIFY(temperature->hasFocus());
        sendWheel(temperature);
        QVERIFY(temperature->value() != before);
    }

private:
    QTemporaryDir m_settingsDir;
};

QTEST_MAIN(TestWindowState)
#include "test_windowstate.moc"
