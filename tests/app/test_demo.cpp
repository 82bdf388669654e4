// `llm-playground --demo --screenshot FILE` runs headless end to end and leaves a real picture of the window;
// `llm-playground --help` answers without a display.
#include "testsupport.h"

#include "engine/lessons/lesson.h"

#include <QElapsedTimer>
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
        app.setProcessEnvironment(testsupport::offscreenGuiEnvironment(dir));
        app.start(QStringLiteral(PLAYGROUND_GUI),
            { QStringLiteral("--demo"), QStringLiteral("--screenshot"), shot, QStringLiteral("--window-size"),
                QStringLiteral("1280x720") });
        QVERIFY(app.waitForFinished(300000));
        QCOMPARE(app.exitStatus(), QProcess::NormalExit);
        QVERIFY2(app.exitCode() == 0, app.readAllStandardError().constData());

        QImage image(shot);
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), QSize(1280, 720)); // as asked with --window-size
        // Non-blank: many distinct colours (text, timeline lanes in several op colours, chart series).
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 3)
            for (int x = 0; x < image.width(); x += 3)
                colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 50, qPrintable(QString::number(colours.size())));
    }

    void demoWithoutScreenshotStaysOpen()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QProcess app;
        app.setProcessEnvironment(testsupport::offscreenGuiEnvironment(dir));
        app.setProcessChannelMode(QProcess::MergedChannels);
        app.start(QStringLiteral(PLAYGROUND_GUI), { QStringLiteral("--demo") });
        QVERIFY(app.waitForStarted());
        QByteArray out;
        QElapsedTimer timer;
        timer.start();
        while (!out.contains("demo: done") && app.state() == QProcess::Running && timer.elapsed() < 300000) {
            app.waitForReadyRead(1000);
            out += app.readAll();
        }
        QVERIFY2(out.contains("demo: done"), out.constData());
        // Done, and still open for the user: it used to quit here.
        QVERIFY(!app.waitForFinished(2000));
        QCOMPARE(app.state(), QProcess::Running);
        app.kill();
        app.waitForFinished();
    }

    void helpWorksWithoutADisplay()
    {
        QProcess app;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char* name : { "DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM" })
            env.remove(QString::fromLatin1(name));
        app.setProcessEnvironment(env);
        app.start(QStringLiteral(PLAYGROUND_GUI), { QStringLiteral("--help") });
        QVERIFY(app.waitForFinished(30000));
        QCOMPARE(app.exitStatus(), QProcess::NormalExit);
        const QByteArray out = app.readAllStandardOutput();
        QVERIFY2(app.exitCode() == 0, app.readAllStandardError().constData());
        QVERIFY2(out.contains("--demo") && out.contains("--model") && out.contains("--screenshot"), out.constData());
    }

    void badWindowSizeIsAUsageError()
    {
        QProcess app;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        app.setProcessEnvironment(env);
        app.start(QStringLiteral(PLAYGROUND_GUI), { QStringLiteral("--window-size"), QStringLiteral("wide") });
        QVERIFY(app.waitForFinished(30000));
        QCOMPARE(app.exitCode(), 2);
        QVERIFY(app.readAllStandardError().contains("--window-size"));
    }

    void demoPresetWithAnUnknownNameFailsAndListsTheNames()
    {
        QProcess app;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        app.setProcessEnvironment(env);
        app.start(
            QStringLiteral(PLAYGROUND_GUI), { QStringLiteral("--demo-preset"), QStringLiteral("no-such-lesson") });
        QVERIFY(app.waitForFinished(30000));
        QCOMPARE(app.exitStatus(), QProcess::NormalExit);
        QCOMPARE(app.exitCode(), 2);
        const QByteArray err = app.readAllStandardError();
        QVERIFY2(err.contains("no-such-lesson"), err.constData());
        for (const engine::lessons::Lesson* lesson : engine::lessons::allLessons())
            QVERIFY2(err.contains(QByteArray::fromStdString(lesson->name())), err.constData());
    }

    void demoPresetRunsTheLessonAndSavesAScreenshot()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString shot = dir.filePath(QStringLiteral("lesson.png"));
        QProcess app;
        app.setProcessEnvironment(testsupport::offscreenGuiEnvironment(dir));
        app.start(QStringLiteral(PLAYGROUND_GUI),
            { QStringLiteral("--demo-preset"), QStringLiteral("too-small-to-split"), QStringLiteral("--quick"),
                QStringLiteral("--present"), QStringLiteral("--screenshot"), shot, QStringLiteral("--window-size"),
                QStringLiteral("1366x768") });
        QVERIFY(app.waitForFinished(300000));
        QCOMPARE(app.exitStatus(), QProcess::NormalExit);
        QVERIFY2(app.exitCode() == 0, app.readAllStandardError().constData());
        const QImage image(shot);
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), QSize(1366, 768)); // presentation mode still fits the projector's screen
    }
};

QTEST_GUILESS_MAIN(TestDemo)
#include "test_demo.moc"
