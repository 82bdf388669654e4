// What the window does with input it cannot take: a number outside a control's range is not refused in
// silence (the control says the limit and why, then takes the nearest allowed value), and a sweep's thread
// list says what is wrong with it.
#include "engine/parallel/scheduler.h"
#include "ui/settingspanel.h"
#include "ui/sweepdialog.h"

#include <QApplication>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
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

} // namespace

class TestInputs : public QObject {
    Q_OBJECT

private Q_SLOTS:
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
};

QTEST_MAIN(TestInputs)
#include "test_inputs.moc"
