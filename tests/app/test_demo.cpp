// `llm-playground --demo --screenshot FILE` runs headless end to end and leaves a real picture of the window.
#include <QImage>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

class TestDemo : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void demoCompletesAndSavesANonBlankScreenshot()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString shot = dir.filePath(QStringLiteral("demo.png"));
        QProcess app;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.path()); // fresh settings: default layout and size
        app.setProcessEnvironment(env);
        app.start(QStringLiteral(PLAYGROUND_GUI), { QStringLiteral("--demo"), QStringLiteral("--screenshot"), shot });
        QVERIFY(app.waitForFinished(300000));
        QCOMPARE(app.exitStatus(), QProcess::NormalExit);
        QVERIFY2(app.exitCode() == 0, app.readAllStandardError().constData());

        QImage image(shot);
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), QSize(1600, 1000)); // the default window size
        // Non-blank: many distinct colours (text, timeline lanes in several op colours, chart series).
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 3)
            for (int x = 0; x < image.width(); x += 3)
                colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 50, qPrintable(QString::number(colours.size())));
    }
};

QTEST_GUILESS_MAIN(TestDemo)
#include "test_demo.moc"
