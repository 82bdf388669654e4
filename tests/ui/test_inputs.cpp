// What the window does with input it cannot take: a number outside a control's range is not refused in
// silence (the control says the limit and why, then takes the nearest allowed value), and a sweep's thread
// list says what is wrong with it. Opening a session does not replace typed prompts without asking, and a
// session's run shown beside another loaded model says which model made it.
#include "engine/measure/promptab.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"
#include "testsupport.h"
#include "ui/abpanel.h"
#include "ui/compareview.h"
#include "ui/demopanel.h"
#include "ui/dialoganswerer.h"
#include "ui/labels.h"
#include "ui/lessondriver.h"
#include "ui/mainwindow.h"
#include "ui/outputview.h"
#include "ui/promptlisteditor.h"
#include "ui/sessionfile.h"
#include "ui/settingspanel.h"
#include "ui/sweepdialog.h"

#include <QApplication>
#include <QFile>
#include <QFileDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

using namespace ui;

namespace {

// Types `text` into the spin box as a user would (select all, type, Enter).
void typeInto(QSpinBox* spin, const QString& text)
{
    spin->setFocus();
    spin->selectAll();
    QTest::keyClicks(spin, text);
    QTest::keyClick(spin, Qt::Key_Return);
}

bool loadSynthetic(MainWindow& w, const QString& shape)
{
    QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
    w.controller()->loadSynthetic(shape);
    return loaded.wait(60000);
}

// Answers the window's question about edited prompts with `button` (recording what it said), and gives a file
// dialog `file`.
class QuestionAnswerer : public QObject {
public:
    QuestionAnswerer(QMessageBox::StandardButton button, QString file = {})
        : m_button(button)
        , m_file(std::move(file))
    {
        m_timer.setInterval(20);
        QObject::connect(&m_timer, &QTimer::timeout, this, [this] {
            QWidget* modal = QApplication::activeModalWidget();
            if (auto* box = qobject_cast<QMessageBox*>(modal)) {
                questions << box->text();
                if (QAbstractButton* b = box->button(m_button))
                    b->click();
                else
                    box->reject();
            } else if (auto* dialog = qobject_cast<QFileDialog*>(modal)) {
                if (auto* name = dialog->findChild<QLineEdit*>(QStringLiteral("fileNameEdit")))
                    name->setText(m_file);
                QMetaObject::invokeMethod(dialog, "accept");
            }
        });
        m_timer.start();
    }
    QStringList questions;

private:
    QMessageBox::StandardButton m_button;
    QString m_file;
    QTimer m_timer;
};

QString readText(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

} // namespace

class TestInputs : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
        QCoreApplication::setOrganizationName(QStringLiteral("playground-test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_inputs"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.path());
        testsupport::writeFakeRooflineCache(m_dir.filePath(QStringLiteral("cache")));
        qputenv("XDG_CACHE_HOME", m_dir.filePath(QStringLiteral("cache")).toLocal8Bit());
    }

    void init() { QSettings().clear(); }

    void threadsTakeWhatTheSchedulerAllows()
    {
        SettingsPanel panel;
        panel.show();
        auto* threads = panel.findChild<QSpinBox*>(QStringLiteral("threads"));
        QVERIFY(threads);
        // More threads than 4x the cores used to be refused keystroke by keystroke; the scheduler takes up to
        // 256 (oversubscribing), so the window must too.
        const int many = std::min(engine::SchedulerOptions::kMaxThreads, 4 * engine::Scheduler::hardwareThreads() + 3);
        typeInto(threads, QString::number(many));
        QCOMPARE(threads->value(), many);
        QCOMPARE(panel.settings().scheduler.threads, many);
    }

    void tooManyThreadsSayTheLimitAndWhy()
    {
        SettingsPanel panel;
        panel.show();
        auto* threads = panel.findChild<QSpinBox*>(QStringLiteral("threads"));
        auto* note = panel.findChild<QLabel*>(QStringLiteral("threadsNote"));
        QVERIFY(threads);
        QVERIFY(note);
        QVERIFY(note->isHidden());
        threads->setFocus();
        threads->selectAll();
        QTest::keyClicks(threads, QStringLiteral("300"));
        // While typing: the digits stay on screen and the note already names the limit.
        QCOMPARE(threads->text(), QStringLiteral("300"));
        QVERIFY(note->isVisible());
        QVERIFY2(note->text().contains(QStringLiteral("256")), qPrintable(note->text()));
        QVERIFY2(note->text().contains(QStringLiteral("scheduler")), qPrintable(note->text()));
        QTest::keyClick(threads, Qt::Key_Return);
        QCOMPARE(threads->value(), 256);
        QVERIFY2(note->text().contains(QStringLiteral("300")), qPrintable(note->text()));
        QVERIFY2(note->text().contains(QStringLiteral("set to 256")), qPrintable(note->text()));
        // A number in range clears it.
        typeInto(threads, QStringLiteral("3"));
        QCOMPARE(threads->value(), 3);
        QVERIFY(note->isHidden());
        // Zero is not put back to the old value in silence either.
        typeInto(threads, QStringLiteral("0"));
        QCOMPARE(threads->value(), 1);
        QVERIFY(note->isVisible());
        QVERIFY2(note->text().contains(QStringLiteral("set to 1")), qPrintable(note->text()));
    }

    void maxTokensGoUpToTheContext()
    {
        SettingsPanel panel;
        panel.show();
        auto* maxTokens = panel.findChild<QSpinBox*>(QStringLiteral("maxTokens"));
        auto* note = panel.findChild<QLabel*>(QStringLiteral("maxTokensNote"));
        QVERIFY(maxTokens);
        QVERIFY(note);
        // No model yet: no context to bound it, so 5000 is taken as typed (it used to become 500).
        typeInto(maxTokens, QStringLiteral("5000"));
        QCOMPARE(maxTokens->value(), 5000);
        // A model trained on 1024 tokens: the run's context is 1024, so is the most it can generate; the value
        // above it is lowered, and the note says so.
        panel.setModelContextLength(1024);
        QCOMPARE(maxTokens->value(), 1024);
        QVERIFY(note->isVisible());
        QVERIFY2(note->text().contains(QStringLiteral("1024")), qPrintable(note->text()));
        QVERIFY2(note->text().contains(QStringLiteral("context")), qPrintable(note->text()));
        typeInto(maxTokens, QStringLiteral("900"));
        QCOMPARE(maxTokens->value(), 900);
        QVERIFY(note->isHidden());
        typeInto(maxTokens, QStringLiteral("3000"));
        QCOMPARE(maxTokens->value(), 1024);
        QVERIFY2(note->text().contains(QStringLiteral("3000")), qPrintable(note->text()));
        QVERIFY2(note->text().contains(QStringLiteral("context holds 1024 tokens")), qPrintable(note->text()));
        // A model trained longer than the default cap runs at the cap (2048) unless Context says more.
        panel.setModelContextLength(8192);
        typeInto(maxTokens, QStringLiteral("4000"));
        QCOMPARE(maxTokens->value(), 2048);
        auto* context = panel.findChild<QSpinBox*>(QStringLiteral("context"));
        QVERIFY(context);
        typeInto(context, QStringLiteral("4096"));
        typeInto(maxTokens, QStringLiteral("4000"));
        QCOMPARE(maxTokens->value(), 4000);
        QCOMPARE(panel.settings().maxTokens, 4000);
    }

    void aSweepListSaysWhatIsWrong()
    {
        QCOMPARE(SweepDialog::threadListProblem(QStringLiteral("1,2,4")), QString());
        QCOMPARE(SweepDialog::threadListProblem(QStringLiteral("1-8")), QString());
        SweepDialog dialog;
        dialog.show();
        auto* edit = dialog.findChild<QLineEdit*>();
        auto* problem = dialog.findChild<QLabel*>(QStringLiteral("sweepProblem"));
        QVERIFY(edit);
        QVERIFY(problem);
        QVERIFY(problem->isHidden());
        const struct {
            const char* text;
            const char* says;
        } cases[] = {
            { "1,2,300", "1 to 256" },
            { "0,2", "1 to 256" },
            { "1,two", "“two” is not a thread count" },
            { "8-2", "backwards" },
            { "1-", "not a range" },
            { "", "at least one thread count" },
        };
        for (const auto& c : cases) {
            edit->setText(QString::fromUtf8(c.text));
            QVERIFY2(problem->isVisible(), c.text);
            QVERIFY2(problem->text().contains(QString::fromUtf8(c.says)), qPrintable(problem->text()));
            QVERIFY(dialog.threads().empty());
        }
        edit->setText(QStringLiteral("1,2"));
        QVERIFY(problem->isHidden());
        QCOMPARE(dialog.threads(), (std::vector<int> { 1, 2 }));
        dialog.setStrategies({});
        QVERIFY(problem->isVisible());
        QVERIFY2(problem->text().contains(QStringLiteral("strategy")), qPrintable(problem->text()));
    }

    void openingASessionAsksBeforeReplacingTypedPrompts()
    {
        session::Session s;
        s.model.path = "synthetic:tiny";
        s.settings.prompts = { "the session's prompt" };
        const QString path = m_dir.filePath(QStringLiteral("other.json"));
        QVERIFY(SessionFile::write(path, s).isEmpty());

        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        const QStringList typed { QStringLiteral("a prompt the user typed"), QStringLiteral("and another") };
        w.prompts()->setPrompts(typed);
        {
            QuestionAnswerer cancel(QMessageBox::Cancel);
            QVERIFY(!w.openSessionFile(path).isEmpty());
            QCOMPARE(cancel.questions.size(), 1);
            QVERIFY2(cancel.questions[0].contains(QStringLiteral("edited")), qPrintable(cancel.questions[0]));
            QCOMPARE(w.prompts()->prompts(), typed); // nothing lost
        }
        {
            // Save: they go to a session file of the user's choice, then the session opens.
            const QString kept = m_dir.filePath(QStringLiteral("kept.json"));
            QuestionAnswerer save(QMessageBox::Save, kept);
            QVERIFY(w.openSessionFile(path).isEmpty());
            QCOMPARE(save.questions.size(), 1);
            QVERIFY2(readText(kept).contains(QStringLiteral("a prompt the user typed")), qPrintable(readText(kept)));
            QCOMPARE(w.prompts()->prompts(), QStringList { QStringLiteral("the session's prompt") });
        }
        {
            // The session's own prompts are not an edit: opening another session does not ask.
            QuestionAnswerer none(QMessageBox::Cancel);
            QVERIFY(w.openSessionFile(path).isEmpty());
            QCOMPARE(none.questions, QStringList());
        }
        {
            w.prompts()->setPrompts(typed);
            QuestionAnswerer discard(QMessageBox::Discard);
            QVERIFY(w.openSessionFile(path).isEmpty());
            QCOMPARE(discard.questions.size(), 1);
            QCOMPARE(w.prompts()->prompts(), QStringList { QStringLiteral("the session's prompt") });
        }
    }

    void aSessionsRunSaysWhichModelMadeIt()
    {
        session::Session s;
        s.model.path = m_dir.filePath(QStringLiteral("elsewhere.gguf")).toStdString();
        s.model.name = "model-from-elsewhere";
        s.model.size = 4321;
        s.settings.prompts = { "p" };
        session::RunRecord r;
        r.settings = s.settings;
        r.sequences.resize(1);
        r.sequences[0].text = "text of the other model";
        r.tokens = { { 0, 5, 3, "text of the other model" } };
        r.metrics.wallMs = 12;
        r.metrics.wallNs = 12'000'000;
        s.runs.push_back(r);
        const QString path = m_dir.filePath(QStringLiteral("elsewhere.json"));
        QVERIFY(SessionFile::write(path, s).isEmpty());

        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        auto* note = w.findChild<QLabel*>(QStringLiteral("shownRunModel"));
        QVERIFY(note);
        QVERIFY(note->isHidden());
        QVERIFY(w.openSessionFile(path, true).isEmpty());
        QVERIFY(w.output()->text(0).contains(QStringLiteral("text of the other model")));
        // The Model panel still names the loaded model; the note under it says the output is not its.
        QVERIFY(note->isVisibleTo(&w));
        QVERIFY2(note->text().contains(QStringLiteral("model-from-elsewhere")), qPrintable(note->text()));
        QVERIFY2(note->text().contains(QStringLiteral("not with the model above")), qPrintable(note->text()));
        // Saving names the model the runs were made with, not the one loaded.
        const session::Session saved = w.currentSession();
        QCOMPARE(saved.model.path, s.model.path);
        QCOMPARE(saved.model.size, s.model.size);
    }

    void aRunShownAfterAnotherModelLoadsSaysWhichModelMadeIt()
    {
        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        RunSettings s = w.currentSettings();
        s.prompts = { "Once upon a time" };
        s.maxTokens = 4;
        s.scheduler.threads = 1;
        w.applySettings(s);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        w.run();
        QVERIFY(finished.wait(60000));
        auto* note = w.findChild<QLabel*>(QStringLiteral("shownRunModel"));
        QVERIFY(note);
        QVERIFY(note->isHidden()); // the loaded model made it
        const QString other = m_dir.filePath(QStringLiteral("other-tiny.gguf"));
        engine::writeSyntheticModel(engine::syntheticShape("tiny"), other.toStdString());
        QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
        w.controller()->loadModel(other);
        QVERIFY(loaded.wait(60000));
        // The run's text is still shown under a Model panel that names the new model.
        QVERIFY(note->isVisibleTo(&w));
        QVERIFY2(note->text().contains(QStringLiteral("synthetic-tiny"))
                || note->text().contains(QStringLiteral("synthetic:tiny")),
            qPrintable(note->text()));
    }

    // Every measurement name the lessons add (engine/lessons/*.cpp), written out here so a name a lesson adds later
    // without a label shows up in review.
    void measurementsReadAsWords()
    {
        const char* keys[] = { "cores", "threads_over", "speedup_cores", "speedup_over", "fit_serial", "fit_limit",
            "fit_points", "traced_serial", "traced_limit", "predicted_threads_near", "predicted_threads_far",
            "predicted_speedup_near", "predicted_speedup_far", "background_cores", "threads", "coarse_grain",
            "imbalance_static", "imbalance_auto", "imbalance_affinity", "imbalance_coarse", "decode_tps_static",
            "decode_tps_auto", "decode_tps_affinity", "decode_tps_coarse", "machine_gbps", "llc_mib", "weights_f32",
            "weights_q8", "weights_q4", "bytes_per_token_f32", "decode_tps_q4", "gbps_q8", "intensity_f32", "gflops_q4",
            "q4_vs_f32", "prompts", "threads_one", "threads_two", "tps_1", "tps_intra_2", "tps_request_2",
            "throughput_intra", "throughput_request", "ms_per_token_1", "ms_per_token_intra_2",
            "ms_per_token_request_2", "own_speedup_request", "own_speedup_intra", "threads_fit", "threads_most",
            "threads_4", "decode_tps_4", "decode_tps_best_fit", "most_vs_best", "busy_share_fit", "busy_share_most",
            "overhead_share_most", "imbalance_share_most", "serial_share_most", "overhead_per_region_fit_us",
            "overhead_per_region_most_us", "prompt_tokens", "prefill_tps_1", "prefill_tps_2", "decode_tps_1",
            "decode_tps_2", "prefill_speedup", "decode_speedup", "prefill_work_per_region_us",
            "prefill_overhead_per_region_us", "decode_work_per_region_us", "decode_overhead_per_region_us",
            "decode_regions_per_token", "decode_overhead_share", "decode_imbalance_share", "decode_serial_share",
            "decode_memory_bound_share", "weights_mib", "work_per_region_us", "overhead_per_region_us",
            "overhead_share", "busy_share", "serial_share", "imbalance_share", "regions_per_token" };
        for (const char* key : keys) {
            const QString label = measurementLabel(key);
            const QString raw = QString::fromLatin1(key);
            QVERIFY2(!label.contains(QLatin1Char('_')) || label.contains(QLatin1String("Q8_0"))
                    || label.contains(QLatin1String("Q4_0")),
                qPrintable(raw + QStringLiteral(" → ") + label));
            // Nor the key's abbreviations as words ("decode tps 1", "llc mib", "threads one").
            static const QRegularExpression abbreviation(
                QStringLiteral("\\b(tps|us|mib|gbps|gflops|llc|vs|q4|q8|f32|one|two)\\b"));
            QVERIFY2(!abbreviation.match(label).hasMatch(), qPrintable(raw + QStringLiteral(" → ") + label));
        }
        QCOMPARE(measurementLabel("decode_tps_1"), QStringLiteral("decode tok/s, 1 thread"));
        QCOMPARE(measurementLabel("decode_tps_2"), QStringLiteral("decode tok/s, 2 threads"));
        QCOMPARE(measurementLabel("decode_tps_q4"), QStringLiteral("decode tok/s, Q4_0 weights"));
        QCOMPARE(
            measurementLabel("overhead_per_region_most_us"), QStringLiteral("fork/join cost per region, most threads"));
        QCOMPARE(settingLabel("add_bos"), QStringLiteral("adds BOS token"));
        QCOMPARE(settingLabel("top_k"), QStringLiteral("top-k"));
    }

    void aLessonsTableShowsLabels()
    {
        DemoPanel panel;
        engine::lessons::Measured m;
        m.add("threads_one", 1, "", 0);
        m.add("decode_tps_1", 120, "tok/s", 0);
        m.add("decode_tps_2", 150, "tok/s", 0);
        engine::lessons::Explanation e;
        e.text = "text";
        panel.showExplanation(m, e);
        QString shown;
        for (QLabel* l : panel.findChildren<QLabel*>())
            shown += l->text() + QLatin1Char('\n');
        QVERIFY2(shown.contains(QStringLiteral("decode tok/s, 1 thread")), qPrintable(shown));
        QVERIFY2(shown.contains(QStringLiteral("decode tok/s, 2 threads")), qPrintable(shown));
        for (const char* raw : { "threads one", "decode tps", "threads_one", "decode_tps" })
            QVERIFY2(!shown.contains(QLatin1String(raw)), raw);
    }

    void theCompareWindowShowsLabels()
    {
        session::RunRecord a, b;
        a.settings.prompts = b.settings.prompts = { "p" };
        b.settings.addBos = !a.settings.addBos;
        b.settings.sampling.topK = a.settings.sampling.topK + 1;
        b.settings.scheduler.pinThreads = !a.settings.scheduler.pinThreads;
        a.sequences.resize(1);
        b.sequences.resize(1);
        CompareView view(a, b, QStringLiteral("run 1"), QStringLiteral("run 2"));
        QCOMPARE(view.findChildren<QTableWidget*>().size(), 2); // settings and metrics
        QStringList shown;
        for (QTableWidget* t : view.findChildren<QTableWidget*>()) {
            for (int c = 0; c < t->columnCount(); ++c)
                shown << t->horizontalHeaderItem(c)->text();
            for (int r = 0; r < t->rowCount(); ++r)
                shown << t->item(r, 0)->text();
        }
        QVERIFY(shown.contains(QStringLiteral("adds BOS token")));
        QVERIFY(shown.contains(QStringLiteral("top-k")));
        QVERIFY(shown.contains(QStringLiteral("pins threads to cores")));
        for (const QString& label : shown) {
            QVERIFY2(!label.contains(QLatin1Char('_')), qPrintable(label));
            for (const char* raw : { "add bos", "top k", "pin threads", "stop at eos" })
                QVERIFY2(label != QLatin1String(raw), qPrintable(label));
        }
    }

    void anEmptyPromptIsNotSkippedInSilence()
    {
        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        RunSettings s = w.currentSettings();
        s.maxTokens = 2;
        s.scheduler.threads = 1;
        w.applySettings(s);
        w.prompts()->setPrompts({ QStringLiteral("first"), QString(), QStringLiteral("third") });
        auto* note = w.findChild<QLabel*>(QStringLiteral("emptyPromptNote"));
        QVERIFY(note);
        QVERIFY(note->isVisibleTo(&w));
        QVERIFY2(note->text().contains(QStringLiteral("Prompt 2 is empty")), qPrintable(note->text()));
        QSignalSpy report(w.controller(), &RunController::reportReady); // the state after the analysis is the run's
        w.run();
        QVERIFY(report.wait(60000));
        QCOMPARE(w.output()->paneCount(), 2);
        QStringList status;
        for (QLabel* l : w.statusBar()->findChildren<QLabel*>())
            status << l->text() << l->toolTip(); // a message too long for the bar is cut there, whole in the tooltip
        QVERIFY2(status.join(QLatin1Char('|')).contains(QStringLiteral("empty prompt 2 skipped")),
            qPrintable(status.join(QLatin1Char('|'))));
        // Typed in, the note goes.
        w.prompts()->setPrompts({ QStringLiteral("first"), QStringLiteral("second") });
        QVERIFY(note->isHidden());
    }

    void theShortcutListHasEveryShortcut()
    {
        MainWindow w;
        QAction* help = nullptr;
        for (QAction* a : w.findChildren<QAction*>())
            if (a->shortcuts().contains(QKeySequence(QKeySequence::HelpContents)))
                help = a;
        QVERIFY(help);
        testsupport::DialogAnswerer answer;
        help->trigger();
        QTRY_COMPARE(answer.messages.size(), 1);
        const QString list = answer.messages.front();
        int shortcuts = 0;
        for (const QAction* a : w.findChildren<QAction*>())
            for (const QKeySequence& k : a->shortcuts()) {
                ++shortcuts;
                const QString key = k.toString(QKeySequence::NativeText).toHtmlEscaped();
                QVERIFY2(list.contains(QStringLiteral("<b>") + key + QStringLiteral("</b>")),
                    qPrintable(QStringLiteral("%1 (%2) is not in the list").arg(key, a->text())));
            }
        QVERIFY(shortcuts >= 10); // the window has them: the check above checked something
    }

    void promptAbNumbersVariantsAsTheListDoes()
    {
        AbPanel panel;
        engine::PromptAbResult r;
        r.variants = { "a", "b" };
        r.seeds = { 1 };
        r.summary.resize(2);
        r.samples.resize(2);
        r.samples[0].variant = 0;
        r.samples[1].variant = 1;
        panel.setResult(r);
        const auto tables = panel.findChildren<QTableWidget*>();
        QCOMPARE(tables.size(), 2);
        for (QTableWidget* t : tables) {
            QCOMPARE(t->rowCount(), 2);
            QCOMPARE(t->item(0, 0)->text(), QStringLiteral("1"));
            QCOMPARE(t->item(1, 0)->text(), QStringLiteral("2"));
        }
    }

    void theSyntheticLessonSaysItsTextIsMeaningless()
    {
        MainWindow w;
        w.controller()->setMachinePeaks(testsupport::fakeMachinePeaks());
        w.lessons()->setQuick(true);
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        QSignalSpy finished(w.lessons(), &LessonDriver::lessonFinished);
        QSignalSpy failed(w.lessons(), &LessonDriver::lessonFailed);
        QVERIFY(w.lessons()->start(QStringLiteral("too-small-to-split")));
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 120000);
        QVERIFY(failed.isEmpty());
        const QString note = w.demoPanel()->modelNote();
        QVERIFY2(
            note.contains(QStringLiteral("random")) && note.contains(QStringLiteral("meaningless")), qPrintable(note));
        w.leaveLesson();
    }

private:
    QTemporaryDir m_dir;
};

QTEST_MAIN(TestInputs)
#include "test_inputs.moc"
