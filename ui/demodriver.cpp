#include "ui/demodriver.h"

#include "engine/run/defaults.h"
#include "ui/exportactions.h"
#include "ui/mainwindow.h"
#include "ui/settingspanel.h"

#include <QApplication>
#include <QTimer>

#include <algorithm>

namespace ui {

DemoDriver::DemoDriver(MainWindow* window, QString screenshotPath)
    : QObject(window)
    , m_window(window)
    , m_screenshot(std::move(screenshotPath))
{
}

void DemoDriver::start()
{
    engine::RunRequest s = m_window->settingsPanel()->settings();
    s.prompts = { engine::kDefaultPrompt };
    s.scheduler.threads = engine::Scheduler::hardwareThreads();
    s.strategy = engine::Strategy::IntraOp;
    s.sampling.temperature = engine::SamplingParams().temperature; // seeded: the same text every time
    s.scheduler.pinThreads = true;
    m_window->settingsPanel()->setSettings(s);
    m_window->loadInitialModel();
    if (!quitsWhenDone())
        return;
    // Never hang a headless run: give up after five minutes.
    QTimer::singleShot(5 * 60 * 1000, this, [] {
        qCritical("demo: timed out");
        QApplication::exit(1);
    });
}

engine::SweepRequest DemoDriver::sweepRequest(const engine::RunRequest& settings)
{
    engine::SweepRequest sweep;
    sweep.workload = settings;
    const int cores = engine::Scheduler::hardwareThreads();
    sweep.threads.clear();
    for (int p = 1; p <= std::max(2, cores); ++p)
        sweep.threads.push_back(p);
    sweep.strategies = { engine::Strategy::IntraOp };
    if (settings.prompts.size() > 1)
        sweep.strategies.push_back(engine::Strategy::Request);
    sweep.repeat = 5;
    return sweep;
}

void DemoDriver::modelLoaded()
{
    if (m_stage != Stage::Loading)
        return;
    m_stage = Stage::Running;
    QTimer::singleShot(200, m_window, &MainWindow::run);
}

void DemoDriver::runFinished()
{
    if (m_stage != Stage::Running)
        return;
    m_stage = Stage::Sweeping;
    QTimer::singleShot(100, m_window, &MainWindow::sweep);
}

void DemoDriver::sweepFinished()
{
    if (m_stage != Stage::Sweeping)
        return;
    m_stage = Stage::Done;
    if (!quitsWhenDone()) {
        qInfo("demo: done; the window stays open");
        Q_EMIT finished();
        return;
    }
    QTimer::singleShot(300, this, [this] {
        if (!ExportActions::saveWindowImage(m_window, m_screenshot)) {
            qCritical("demo: cannot write %s", qPrintable(m_screenshot));
            QApplication::exit(1);
            return;
        }
        QApplication::exit(0);
    });
}

void DemoDriver::fail(const char* what, const QString& message)
{
    qCritical("demo: %s: %s", what, qPrintable(message));
    QApplication::exit(1);
}

} // namespace ui
