// --demo: load, run the default prompt on every core, sweep, then leave the window open to explore.
// With --screenshot the driver saves a picture of the window and quits instead (headless use). The window
// tells the driver what happened; the driver decides what comes next.
#pragma once

#include "engine/measure/sweep.h"

#include <QObject>
#include <QString>

namespace ui {

class MainWindow;

class DemoDriver : public QObject {
    Q_OBJECT

public:
    DemoDriver(MainWindow* window, QString screenshotPath);

    // Sets the window's controls to the demo's settings; with a screenshot to take, arms a five-minute
    // time-out so a headless run never hangs.
    void start();
    bool quitsWhenDone() const { return !m_screenshot.isEmpty(); }

    // The sweep the demo measures for the window's current settings: every thread count up to the
    // cores (at least 2), intra-op (and request-parallel with several prompts), five repetitions.
    static engine::SweepRequest sweepRequest(const engine::RunRequest& settings);

    // The window calls these after updating itself for the event.
    void modelLoaded(); // the first time: run
    void runFinished(); // after the run: sweep
    void sweepFinished(); // after the sweep: screenshot and exit 0, or finished()
    void fail(const char* what, const QString& message); // exit 1

Q_SIGNALS:
    // The demo is over and the window stays open: from now on it is the user's.
    void finished();

private:
    enum class Stage { Loading, Running, Sweeping, Done };

    MainWindow* m_window;
    QString m_screenshot;
    Stage m_stage = Stage::Loading;
};

} // namespace ui
