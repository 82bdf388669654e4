// What the window does with input it cannot take: a number outside a control's range is not refused in
// silence (the control says the limit and why, then takes the nearest allowed value), and a sweep's thread
// list says what is wrong with it. Opening a session does not replace typed prompts without asking, and a
// session's run shown beside another loaded model says which model made it.
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"
#include "testsupport.h"
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
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
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

private:
    QTemporaryDir m_dir;
};

QTEST_MAIN(TestInputs)
#include "test_inputs.moc"
