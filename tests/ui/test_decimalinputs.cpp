// The sampling panel's decimal controls (temperature, top-p, min-p, repeat penalty) with a number outside their
// range: the digits stay on screen, a note under the control says the limit and why, and on Enter the nearest
// allowed value is set and the note says so, as the integer controls do (test_inputs). They used to refuse the
// keystroke, or put the old value back, without a word.
#include "ui/settingspanel.h"

#include <QApplication>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QtTest>

using namespace ui;

class TestDecimalInputs : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void outOfRangeDecimalsSayTheLimitAndWhy_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("tooHigh"); // typed
        QTest::addColumn<double>("maximum"); // what the panel allows (SettingsPanel::buildSampling)
        QTest::addColumn<QString>("why"); // a word of the reason
        QTest::addColumn<QString>("tooLow");
        QTest::addColumn<double>("minimum");
        QTest::addColumn<QString>("whyLow");
        QTest::newRow("temperature") << QStringLiteral("temperature") << QStringLiteral("7") << 5.0
                                     << QStringLiteral("noise") << QStringLiteral("-1") << 0.0
                                     << QStringLiteral("greedy");
        QTest::newRow("top-p") << QStringLiteral("topP") << QStringLiteral("1.5") << 1.0 << QStringLiteral("share")
                               << QStringLiteral("0") << 0.01 << QStringLiteral("most likely token");
        QTest::newRow("min-p") << QStringLiteral("minP") << QStringLiteral("2") << 1.0 << QStringLiteral("share")
                               << QStringLiteral("-0.5") << 0.0 << QStringLiteral("off");
        QTest::newRow("repeat penalty") << QStringLiteral("repeatPenalty") << QStringLiteral("4") << 3.0
                                        << QStringLiteral("barred") << QStringLiteral("0.2") << 0.5
                                        << QStringLiteral("loops");
    }

    void outOfRangeDecimalsSayTheLimitAndWhy()
    {
        QFETCH(QString, name);
        QFETCH(QString, tooHigh);
        QFETCH(double, maximum);
        QFETCH(QString, why);
        QFETCH(QString, tooLow);
        QFETCH(double, minimum);
        QFETCH(QString, whyLow);
        SettingsPanel panel;
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        auto* spin = panel.findChild<QDoubleSpinBox*>(name);
        auto* note = panel.findChild<QLabel*>(name + QStringLiteral("Note"));
        QVERIFY(spin);
        QVERIFY(note);
        QVERIFY(note->isHidden());
        const QString maxText = spin->textFromValue(maximum);

        // Too high: the digits stay while typing and the note names the limit and the reason.
        spin->setFocus();
        spin->selectAll();
        QTest::keyClicks(spin, tooHigh);
        QCOMPARE(spin->text(), tooHigh);
        QVERIFY(note->isVisible());
        QVERIFY2(note->text().contains(maxText), qPrintable(note->text()));
        QVERIFY2(note->text().contains(why), qPrintable(note->text()));
        QTest::keyClick(spin, Qt::Key_Return);
        QCOMPARE(spin->value(), maximum);
        QVERIFY2(note->text().contains(tooHigh), qPrintable(note->text()));
        QVERIFY2(note->text().contains(QStringLiteral("set to %1").arg(maxText)), qPrintable(note->text()));

        // In range: the note goes.
        const double middle = (minimum + maximum) / 2;
        spin->selectAll();
        QTest::keyClicks(spin, spin->textFromValue(middle));
        QTest::keyClick(spin, Qt::Key_Return);
        QCOMPARE(spin->value(), spin->valueFromText(spin->textFromValue(middle)));
        QVERIFY(note->isHidden());

        // Too low: not put back to the old value in silence.
        spin->selectAll();
        QTest::keyClicks(spin, tooLow);
        QCOMPARE(spin->text(), tooLow);
        QVERIFY(note->isVisible());
        QTest::keyClick(spin, Qt::Key_Return);
        QCOMPARE(spin->value(), minimum);
        QVERIFY2(note->text().contains(QStringLiteral("set to %1").arg(spin->textFromValue(minimum))),
            qPrintable(note->text()));
        QVERIFY2(note->text().contains(whyLow), qPrintable(note->text()));
    }

    void aSessionsValueOutOfRangeIsTold()
    {
        SettingsPanel panel;
        panel.show();
        engine::RunRequest request = panel.settings();
        request.sampling.temperature = 9.0f;
        panel.setSettings(request);
        auto* note = panel.findChild<QLabel*>(QStringLiteral("temperatureNote"));
        QVERIFY(note);
        QCOMPARE(panel.settings().sampling.temperature, 5.0f);
        QVERIFY(note->isVisible());
        QVERIFY2(note->text().contains(QStringLiteral("Temperature 9")), qPrintable(note->text()));
    }
};

QTEST_MAIN(TestDecimalInputs)
#include "test_decimalinputs.moc"
