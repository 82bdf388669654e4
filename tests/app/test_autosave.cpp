// Autosave: a prompt typed into the window is on disk within seconds, so a window killed with SIGKILL (no chance to
// save on close) loses nothing: the next start shows the prompt again.
#include "testsupport.h"
#include "ui/mainwindow.h"
#include "ui/promptlisteditor.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

class TestAutosave : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void killedWindowKeepsTheTypedPrompt()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString prompt = QStringLiteral("A prompt typed just before the crash 42");
        QProcess app;
        app.setProcessEnvironment(testsupport::offscreenGuiEnvironment(dir));
        app.start(QStringLiteral(PLAYGROUND_GUI), { QStringLiteral("--prompt"), prompt });
        QVERIFY(app.waitForStarted());
        // The settings file, where the window keeps what it restores (QSettings, XDG_CONFIG_HOME).
        const QString file = dir.filePath(QStringLiteral("LLM Thread Playground/llm-playground.conf"));
        QElapsedTimer timer;
        timer.start();
        bool saved = false;
        while (!saved && timer.elapsed() < 60000 && app.state() == QProcess::Running) {
            QTest::qWait(200);
            QFile f(file);
            saved = f.open(QIODevice::ReadOnly) && f.readAll().contains(prompt.toUtf8());
        }
        QVERIFY2(saved, "the prompt was not autosaved within a minute");
        app.kill(); // SIGKILL: no close event, no save on exit
        QVERIFY(app.waitForFinished(10000));
        QCOMPARE(app.exitStatus(), QProcess::CrashExit);

        // The next start (in this process, on the same settings) shows the prompt.
        QCoreApplication::setOrganizationName(QStringLiteral("LLM Thread Playground"));
        QCoreApplication::setApplicationName(QStringLiteral("llm-playground"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir.path());
        ui::MainWindow w;
        QCOMPARE(w.prompts()->prompts(), QStringList { prompt });
    }
};

QTEST_MAIN(TestAutosave)
#include "test_autosave.moc"
