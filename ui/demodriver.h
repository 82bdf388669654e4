// --demo and --screenshot: load, run the default prompt on every core, sweep, optionally save a
// screenshot, quit. The window tells the driver what happened; the driver decides what comes next.
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

    // Sets the window's controls to the demo's settings and arms a five-minute time-out.
    void start();

    // The sweep the demo measures for the window's current settings: every thread count up to the
    // cores (at least 2), intra-op (and request-parallel with several prompts), five repetitions.
    static engine::SweepRequest sweepRequest(const engine::RunRequest& settings);

    // The window calls these after updating itself for the event.
    void modelLoaded(); // the first time: run
    void runFinished(); // after the run: sweep
    void sweepFinished(); // after the sweep: screenshot (if asked for), exit 0
    void fail(const char* what, const QString& message); // exit 1

private:
    enum class Stage { Loading, Running, Sweeping, Done };

    MainWindow* m_window;
    QString m_screenshot;
    Stage m_stage = Stage::Loading;
};

} // namespace ui
