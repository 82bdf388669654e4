#include "ui/lessondriver.h"

#include "ui/mainwindow.h"
#include "ui/promptlisteditor.h"
#include "ui/settingspanel.h"

#include <QCoreApplication>

#include <algorithm>

namespace ui {

namespace lessons = engine::lessons;

LessonDriver::LessonDriver(MainWindow* window)
    : QObject(window)
    , m_window(window)
    , m_controller(window->controller())
{
    // Connected after the window's own slots, so the views have drawn a result before the driver moves on.
    RunController* c = m_controller;
    connect(c, &RunController::modelLoaded, this, &LessonDriver::onModelLoaded);
    connect(c, &RunController::modelLoadFailed, this, &LessonDriver::onModelLoadFailed);
    connect(c, &RunController::tokensReady, this, &LessonDriver::onTokens);
    connect(c, &RunController::runFinished, this, &LessonDriver::onRunFinished);
    connect(c, &RunController::reportReady, this, &LessonDriver::onReport);
    connect(c, &RunController::runFailed, this, &LessonDriver::onRunFailed);
    connect(c, &RunController::sweepProgress, this,
        [this](int id, int done, int total, const QString&) { onSweepProgress(id, done, total); });
    connect(c, &RunController::sweepFinished, this, &LessonDriver::onSweepFinished);
    connect(c, &RunController::machinePeaksReady, this, &LessonDriver::onPeaks);
}

const lessons::Lesson* LessonDriver::lesson() const
{
    const auto& all = lessons::allLessons();
    return m_index >= 0 && m_index < int(all.size()) ? all[size_t(m_index)] : nullptr;
}

bool LessonDriver::start(const QString& name)
{
    const auto& all = lessons::allLessons();
    for (size_t i = 0; i < all.size(); ++i)
        if (QString::fromStdString(all[i]->name()) == name) {
            startAt(int(i));
            return true;
        }
    return false;
}

void LessonDriver::startAt(int index)
{
    const auto& all = lessons::allLessons();
    if (index < 0 || index >= int(all.size()))
        return;
    // A run of the user's or a superseded step: what it still sends is dropped once the lesson's first step starts.
    if (isRunning() || m_controller->isBusy())
        m_controller->stop();
    setStage(Stage::Idle);
    if (!m_saved)
        saveUserState();
    m_index = index;
    m_plan.clear();
    m_results.clear();
    m_pendingRun.reset();
    m_measured = {};
    m_explanation = {};
    Q_EMIT lessonStarted(index, int(all.size()));
    Q_EMIT progress(0);
    // The plan's thread counts and predictions follow this machine's ceilings: measured once (a few seconds) or
    // read from the cache.
    setStage(Stage::Peaks);
    m_controller->requestMachinePeaks();
}

void LessonDriver::next() { startAt(std::min(m_index + 1, int(lessons::allLessons().size()) - 1)); }

void LessonDriver::previous() { startAt(std::max(m_index - 1, 0)); }

void LessonDriver::rerun() { startAt(std::max(m_index, 0)); }

void LessonDriver::stop()
{
    const bool wasRunning = isRunning();
    if (wasRunning) {
        m_controller->stop();
        setStage(Stage::Idle);
    }
    restoreUserState();
    if (wasRunning)
        Q_EMIT lessonStopped();
}

void LessonDriver::leave()
{
    stop();
    Q_EMIT left();
}

void LessonDriver::saveUserState()
{
    UserState s;
    s.settings = m_window->settingsPanel()->settings();
    s.promptTexts = m_window->prompts()->texts();
    s.promptIndex = m_window->prompts()->currentIndex();
    s.model = m_controller->model();
    m_saved = std::move(s);
    m_loadedKey.clear();
}

void LessonDriver::restoreUserState()
{
    if (!m_saved)
        return;
    UserState s = std::move(*m_saved);
    m_saved.reset();
    m_loadedKey.clear();
    // The model first: its load updates the context warning, which the settings below must not lose.
    if (s.model && s.model != m_controller->model())
        m_controller->useModel(s.model);
    m_window->settingsPanel()->setSettings(s.settings);
    m_window->prompts()->setPrompts(s.promptTexts);
    m_window->prompts()->setCurrentIndex(s.promptIndex);
}

void LessonDriver::onPeaks(const engine::MachinePeaks& peaks)
{
    if (m_stage != Stage::Peaks)
        return;
    // A model the user's start was still loading has landed by now: the worker answers in order.
    if (m_saved && !m_saved->model)
        m_saved->model = m_controller->model();
    beginSteps(peaks);
}

void LessonDriver::beginSteps(const engine::MachinePeaks& peaks)
{
    m_peaks = peaks;
    lessons::LessonOptions options;
    options.quick = m_quick;
    if (peaks.valid())
        options.machine = peaks;
    try {
        m_plan = lesson()->plan(options);
    } catch (const std::exception& e) {
        fail(tr("cannot plan the demonstration: %1").arg(QString::fromUtf8(e.what())));
        return;
    }
    m_step = 0;
    runStep();
}

void LessonDriver::runStep()
{
    if (m_step >= int(m_plan.size())) {
        finishLesson();
        return;
    }
    const lessons::Step& step = m_plan[size_t(m_step)];
    Q_EMIT stepStarted(m_step, int(m_plan.size()), QString::fromStdString(step.caption),
        QString::fromStdString(step.model.label()), !step.model.synthetic.empty());
    Q_EMIT progress(double(m_step) / double(m_plan.size()));
    const std::string key = step.model.key();
    if (key == m_loadedKey && m_controller->model()) {
        startStep();
        return;
    }
    setStage(Stage::Loading);
    const lessons::ModelChoice choice = step.model;
    const std::string exe = QCoreApplication::applicationFilePath().toStdString();
    m_controller->loadModelWith(
        QString::fromStdString(step.model.label()), [choice, exe] { return lessons::loadModel(choice, exe); });
}

void LessonDriver::onModelLoaded()
{
    if (m_stage != Stage::Loading)
        return;
    m_loadedKey = m_plan[size_t(m_step)].model.key();
    startStep();
}

void LessonDriver::onModelLoadFailed(const QString& message)
{
    if (m_stage == Stage::Loading)
        fail(tr("cannot load %1: %2").arg(QString::fromStdString(m_plan[size_t(m_step)].model.label()), message));
}

void LessonDriver::startStep()
{
    const lessons::Step& step = m_plan[size_t(m_step)];
    m_tokens = 0;
    m_pendingRun.reset();
    if (step.kind == lessons::Step::Kind::Run) {
        RunSettings run = step.run;
        run.trace = true; // the step's result carries the analysis of its trace
        setStage(Stage::Running);
        m_runId = m_window->runWith(run);
    } else {
        setStage(Stage::Sweeping);
        m_runId = m_window->sweepWith(step.sweep);
    }
    if (m_runId == 0)
        fail(tr("the window refused to start step %1 (busy, or no model)").arg(m_step + 1));
}

void LessonDriver::onTokens(int id, const QVector<TokenPiece>& pieces)
{
    if (m_stage != Stage::Running || id != m_runId)
        return;
    for (const TokenPiece& p : pieces)
        if (p.id >= 0)
            ++m_tokens;
    const RunSettings& run = m_plan[size_t(m_step)].run;
    const double expected = double(std::max(1, run.maxTokens)) * double(std::max<size_t>(1, run.prompts.size()));
    const double within = std::min(0.95, m_tokens / expected); // the analysis comes after the last token
    Q_EMIT progress((m_step + within) / double(m_plan.size()));
}

void LessonDriver::onRunFinished(int id, const RunSummary& summary)
{
    if (m_stage != Stage::Running || id != m_runId)
        return;
    if (summary.cancelled) {
        // Stopped from elsewhere (the window's Stop): the lesson cannot be explained from half a step.
        stop();
        return;
    }
    lessons::StepResult r;
    r.metrics = summary.metrics;
    r.sequences = summary.sequences;
    r.threads = summary.threads;
    r.strategy = summary.strategy;
    r.backgroundLoad = summary.backgroundLoad;
    r.modelWeightBytes = weightBytes();
    m_pendingRun = std::move(r);
    setStage(Stage::Analysing); // a traced run's report follows on reportReady
}

void LessonDriver::onReport(int id, const RunReportPtr& report)
{
    if (m_stage != Stage::Analysing || id != m_runId || !m_pendingRun)
        return;
    if (!report) {
        fail(tr("the analysis of step %1 failed").arg(m_step + 1));
        return;
    }
    lessons::StepResult r = std::move(*m_pendingRun);
    m_pendingRun.reset();
    r.report = *report;
    stepDone(std::move(r));
}

void LessonDriver::onRunFailed(int id, const QString& message)
{
    if (isRunning() && id == m_runId)
        fail(tr("step %1 failed: %2").arg(m_step + 1).arg(message));
}

void LessonDriver::onSweepProgress(int id, int done, int total)
{
    if (m_stage != Stage::Sweeping || id != m_runId || total <= 0)
        return;
    Q_EMIT progress((m_step + double(done) / total) / double(m_plan.size()));
}

void LessonDriver::onSweepFinished(int id, const engine::SweepResult& result)
{
    if (m_stage != Stage::Sweeping || id != m_runId)
        return;
    if (result.workload.value("cancelled", false)) {
        stop();
        return;
    }
    lessons::StepResult r;
    r.sweep = result;
    r.modelWeightBytes = weightBytes();
    stepDone(std::move(r));
}

void LessonDriver::stepDone(lessons::StepResult result)
{
    m_results.push_back(std::move(result));
    ++m_step;
    runStep();
}

void LessonDriver::finishLesson()
{
    setStage(Stage::Idle);
    try {
        m_measured = lesson()->measure(m_results, m_peaks);
        m_explanation = lesson()->explain(m_measured);
    } catch (const std::exception& e) {
        fail(tr("cannot explain the measurements: %1").arg(QString::fromUtf8(e.what())));
        return;
    }
    Q_EMIT progress(1);
    Q_EMIT lessonFinished();
}

void LessonDriver::fail(const QString& message)
{
    if (isRunning())
        m_controller->stop();
    setStage(Stage::Idle);
    restoreUserState();
    Q_EMIT lessonFailed(message);
}

void LessonDriver::setStage(Stage stage) { m_stage = stage; }

uint64_t LessonDriver::weightBytes() const
{
    const auto model = m_controller->model();
    return model ? model->weightBytes() : 0;
}

std::optional<SpeedupChart::Phase> LessonDriver::speedupPhase() const
{
    if (!m_explanation.chartPhase)
        return std::nullopt;
    switch (*m_explanation.chartPhase) {
    case engine::lessons::ChartPhase::Prefill:
        return SpeedupChart::Phase::Prefill;
    case engine::lessons::ChartPhase::Decode:
        return SpeedupChart::Phase::Decode;
    case engine::lessons::ChartPhase::Total:
        return SpeedupChart::Phase::Total;
    }
    return std::nullopt;
}

} // namespace ui
