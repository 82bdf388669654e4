#include "ui/runcontroller.h"

#include "engine/format/gguffile.h"
#include "engine/model/contextmemory.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/racecheck.h"

#include <QFileInfo>
#include <QMetaObject>

#include <chrono>
#include <mutex>

namespace ui {

namespace {

// Every call between the GUI thread and the worker goes through here: queued, with its hand-over declared to
// ThreadSanitizer (Qt's event queue is out of its sight; engine/parallel/racecheck.h).
template <typename F> void post(QObject* to, F&& f)
{
    QMetaObject::invokeMethod(to, engine::racecheck::Handoff(std::forward<F>(f)), Qt::QueuedConnection);
}

} // namespace

QString busyMachineWarning(const engine::BackgroundLoad& load)
{
    // Below 0.2 s the snapshots are a few ticks apart and one tick of noise reads as a busy core.
    if (!load.significant() || load.seconds < 0.2)
        return {};
    return QObject::tr("other processes kept %1 of %2 CPUs busy: timings disturbed")
        .arg(load.otherCores, 0, 'f', 1)
        .arg(load.cpus);
}

QString ModelInfo::summary() const
{
    auto params = [](qint64 n) {
        return n >= 1000000000 ? QString::number(double(n) / 1e9, 'f', 2) + QStringLiteral("B")
                               : QString::number(double(n) / 1e6, 'f', 1) + QStringLiteral("M");
    };
    return QStringLiteral("%1 · %2 · %3 params · %4 · ctx %5")
        .arg(name.isEmpty() ? QFileInfo(source).fileName() : name, architecture, params(parameters), type)
        .arg(contextLength);
}

// Lives on the worker thread; each request is one queued call.
class RunWorker : public QObject {
public:
    RunWorker(RunController* controller, std::shared_ptr<std::atomic<int>> stopRunId)
        : m_controller(controller)
        , m_stopRunId(std::move(stopRunId))
    {
    }

    void loadModel(int generation, const RunController::ModelLoader& loader)
    {
        std::shared_ptr<const engine::Model> model;
        QString error;
        try {
            model = loader();
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        post(m_controller,
            [c = m_controller, generation, model, error] { c->finishModelLoad(generation, model, error); });
    }

    void measureMachine()
    {
        if (!m_peaks) {
            try {
                m_peaks = engine::machinePeaks(); // measured (~3 s) or read from the cache, once per process
            } catch (const std::exception&) {
                // Answered with invalid figures below: the caller decides what to do without them.
            }
        }
        const engine::MachinePeaks peaks = m_peaks.value_or(engine::MachinePeaks {});
        post(m_controller, [c = m_controller, peaks] { c->deliverMachinePeaks(peaks); });
    }

    void run(int runId, std::shared_ptr<const engine::Model> model, RunSettings settings,
        std::optional<engine::MachinePeaks> injectedPeaks)
    {
        Listener listener(m_controller, runId, m_stopRunId);
        try {
            const engine::RunRequest& request = settings;
            const engine::CpuTimes before = engine::readCpuTimes();
            engine::RunResult result = engine::executeRun(model, request, &listener);
            const engine::BackgroundLoad load = engine::backgroundLoadBetween(before, engine::readCpuTimes());
            listener.flush();
            RunSummary summary = summaryOf(result, request.scheduler, load);
            post(m_controller, [c = m_controller, runId, s = std::move(summary)] { c->finishRun(runId, s); });
            if (!result.trace.empty())
                analyse(runId, *model, result, injectedPeaks);
        } catch (const std::exception& e) {
            listener.flush();
            postFailure(runId, e);
        }
    }

    void sweep(int runId, std::shared_ptr<const engine::Model> model, SweepSettings settings,
        std::optional<engine::MachinePeaks> injectedPeaks)
    {
        try {
            engine::SweepRequest request = std::move(settings);
            // The machine's ceilings let intra-op sweeps predict past their thread counts (the chart's dash-dotted
            // curve); measured once per process like the analysis's, or read from the cache.
            if (injectedPeaks)
                m_peaks = injectedPeaks;
            if (!m_peaks) {
                post(m_controller, [c = m_controller, runId] {
                    c->deliverSweepProgress(runId, 0, 1, tr("measuring this machine's ceilings (once)"));
                });
                try {
                    m_peaks = engine::machinePeaks();
                } catch (const std::exception&) {
                    // No prediction then; the sweep itself does not need the figures.
                }
            }
            if (m_peaks)
                request.predictWith = *m_peaks;
            auto stopId = m_stopRunId;
            request.shouldStop = [stopId, runId] { return stopId->load() >= runId; };
            auto lastProgress = std::chrono::steady_clock::now() - std::chrono::seconds(1);
            engine::SweepResult result
                = engine::runSweep(model, request, [&](int done, int total, const std::string& label) {
                      const auto now = std::chrono::steady_clock::now();
                      if (now - lastProgress >= std::chrono::milliseconds(33) || done == total) {
                          lastProgress = now;
                          post(m_controller, [c = m_controller, runId, done, total, l = QString::fromStdString(label)] {
                              c->deliverSweepProgress(runId, done, total, l);
                          });
                      }
                      return stopId->load() < runId;
                  });
            post(m_controller, [c = m_controller, runId, r = std::move(result)] { c->finishSweep(runId, r); });
        } catch (const std::exception& e) {
            postFailure(runId, e);
        }
    }

    void chatTurn(int runId, std::shared_ptr<engine::Conversation> conversation, ChatTurnSettings settings,
        std::optional<engine::MachinePeaks> injectedPeaks)
    {
        Listener listener(m_controller, runId, m_stopRunId);
        try {
            conversation->setSystemPrompt(settings.systemPrompt.toStdString());
            engine::Scheduler scheduler(settings.scheduler);
            const engine::CpuTimes before = engine::readCpuTimes();
            engine::ChatTurnRun turn = engine::runChatTurn(*conversation, settings.action, settings.text.toStdString(),
                settings.request, scheduler, settings.trace, &listener);
            const engine::BackgroundLoad load = engine::backgroundLoadBetween(before, engine::readCpuTimes());
            listener.flush();
            RunSummary summary = summaryOf(turn.run, settings.scheduler, load);
            summary.chat = ChatTurnOutcome { turn.turn.historyTokens, turn.turn.reusedTokens, turn.turn.prefilledTokens,
                conversation->messages() };
            post(m_controller, [c = m_controller, runId, s = std::move(summary)] { c->finishRun(runId, s); });
            if (!turn.run.trace.empty())
                analyse(runId, conversation->model(), turn.run, injectedPeaks);
        } catch (const std::exception& e) {
            listener.flush();
            postFailure(runId, e);
        }
    }

    void promptAb(int runId, std::shared_ptr<const engine::Model> model, engine::PromptAbRequest request)
    {
        try {
            auto stopId = m_stopRunId;
            engine::PromptAbResult result = engine::runPromptAb(model, request, [&](int done, int total) {
                post(
                    m_controller, [c = m_controller, runId, done, total] { c->deliverAbProgress(runId, done, total); });
                return stopId->load() < runId;
            });
            post(m_controller, [c = m_controller, runId, r = std::move(result)] { c->finishAb(runId, r); });
        } catch (const std::exception& e) {
            postFailure(runId, e);
        }
    }

private:
    // What the window is told of a finished run or chat turn (the sequences copied: the analysis reads them after).
    static RunSummary summaryOf(
        const engine::RunResult& result, const engine::SchedulerOptions& scheduler, engine::BackgroundLoad load)
    {
        RunSummary summary;
        summary.metrics = result.metrics;
        summary.sequences = result.sequences;
        summary.cancelled = result.cancelled;
        summary.threads = result.threads;
        summary.strategy = result.strategy;
        summary.pinnedCpus = engine::Scheduler::pinnedCpus(scheduler);
        summary.backgroundLoad = load;
        return summary;
    }

    // A run, sweep, chat turn or A/B that threw: its message goes to the GUI thread as runFailed.
    void postFailure(int runId, const std::exception& e)
    {
        const QString message = QString::fromUtf8(e.what());
        post(m_controller, [c = m_controller, runId, message] { c->failRun(runId, message); });
    }

    // The run's report, after the run (its results are already on their way to the window).
    void analyse(int runId, const engine::Model& model, const engine::RunResult& result,
        const std::optional<engine::MachinePeaks>& injectedPeaks)
    {
        if (injectedPeaks)
            m_peaks = injectedPeaks;
        const bool measuring = !m_peaks.has_value();
        post(m_controller, [c = m_controller, runId, measuring] { c->deliverAnalysisStarted(runId, measuring); });
        RunReportPtr report; // null: the analysis failed (the run's own results stand)
        try {
            if (!m_peaks)
                m_peaks = engine::machinePeaks(); // once per process: measured (~3 s) or read from the cache
            report = std::make_shared<const engine::RunReport>(
                engine::buildRunReport(result, model, *m_peaks, engine::defaultPredictionThreads()));
        } catch (const std::exception&) {
            report.reset();
        }
        post(m_controller, [c = m_controller, runId, report] { c->deliverReport(runId, report); });
    }

    // Collects tokens and trace events from whichever threads produce them and sends them to the
    // GUI thread at most every 33 ms.
    class Listener : public engine::RunListener {
    public:
        Listener(RunController* controller, int runId, std::shared_ptr<std::atomic<int>> stopRunId)
            : m_controller(controller)
            , m_runId(runId)
            , m_stopRunId(std::move(stopRunId))
        {
        }
        void onToken(int sequence, int32_t id, std::string_view text) override
        {
            std::lock_guard lock(m_mutex);
            int position = -1;
            if (id >= 0 && sequence >= 0 && size_t(sequence) < m_promptTokens.size()) {
                // The first token comes from the prompt's last position, each later one from the next.
                position = m_promptTokens[size_t(sequence)] - 1 + m_generated[size_t(sequence)]++;
            }
            m_pieces.append(
                TokenPiece { sequence, id, position, QString::fromUtf8(text.data(), qsizetype(text.size())) });
            maybeFlushLocked();
        }
        void onPromptTokens(int sequence, int count) override
        {
            std::lock_guard lock(m_mutex);
            if (size_t(sequence) >= m_promptTokens.size()) {
                m_promptTokens.resize(size_t(sequence) + 1, 0);
                m_generated.resize(size_t(sequence) + 1, 0);
            }
            m_promptTokens[size_t(sequence)] = count;
        }
        void onTraceBatch(std::vector<engine::TraceEvent>&& events) override
        {
            std::lock_guard lock(m_mutex);
            if (m_events.empty())
                m_events = std::move(events); // no copy into fresh memory (each new page is a fault)
            else
                m_events.insert(m_events.end(), events.begin(), events.end());
            maybeFlushLocked();
        }
        void onPhase(engine::Phase phase) override
        {
            post(m_controller, [c = m_controller, id = m_runId, p = QString::fromLatin1(engine::phaseName(phase))] {
                c->deliverPhase(id, p);
            });
        }
        bool shouldStop() override { return m_stopRunId->load() >= m_runId; }
        void flush()
        {
            std::lock_guard lock(m_mutex);
            flushLocked();
        }

    private:
        void maybeFlushLocked()
        {
            if (std::chrono::steady_clock::now() - m_lastFlush >= std::chrono::milliseconds(33))
                flushLocked();
        }
        void flushLocked()
        {
            m_lastFlush = std::chrono::steady_clock::now();
            if (!m_pieces.isEmpty()) {
                post(m_controller,
                    [c = m_controller, id = m_runId, p = std::move(m_pieces)] { c->deliverTokens(id, p); });
                m_pieces.clear();
            }
            if (!m_events.empty()) {
                auto batch = std::make_shared<const std::vector<engine::TraceEvent>>(std::move(m_events));
                post(m_controller, [c = m_controller, id = m_runId, batch] { c->deliverTrace(id, batch); });
                m_events.clear();
            }
        }

        RunController* m_controller;
        int m_runId;
        std::shared_ptr<std::atomic<int>> m_stopRunId;
        std::mutex m_mutex;
        QVector<TokenPiece> m_pieces;
        std::vector<int> m_promptTokens;
        std::vector<int> m_generated;
        std::vector<engine::TraceEvent> m_events;
        std::chrono::steady_clock::time_point m_lastFlush = std::chrono::steady_clock::now();
    };

    RunController* m_controller;
    std::shared_ptr<std::atomic<int>> m_stopRunId;
    std::optional<engine::MachinePeaks> m_peaks; // the machine's ceilings, once known
};

RunController::RunController(QObject* parent)
    : QObject(parent)
    , m_stopRunId(std::make_shared<std::atomic<int>>(0))
{
    qRegisterMetaType<ui::RunSettings>();
    qRegisterMetaType<ui::SweepSettings>();
    qRegisterMetaType<ui::TokenPiece>();
    qRegisterMetaType<QVector<ui::TokenPiece>>();
    qRegisterMetaType<ui::ModelInfo>();
    qRegisterMetaType<ui::RunSummary>();
    qRegisterMetaType<ui::TraceBatch>();
    qRegisterMetaType<ui::RunReportPtr>();
    qRegisterMetaType<engine::SweepResult>();
    qRegisterMetaType<engine::PromptAbResult>();
    qRegisterMetaType<engine::MachinePeaks>();
    m_thread.setObjectName(QStringLiteral("engine"));
    m_worker = new RunWorker(this, m_stopRunId);
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

RunController::~RunController()
{
    stop();
    // Every run handed to the worker, queued ones included: nothing would receive their results, and the join
    // below would otherwise wait for each of them to its last token.
    m_stopRunId->store(m_nextRunId - 1);
    m_thread.quit();
    m_thread.wait();
}

ModelInfo RunController::describe(const engine::Model& model)
{
    ModelInfo info;
    const engine::ModelConfig& c = model.config();
    info.source = QString::fromStdString(model.source());
    info.name = QString::fromStdString(c.name);
    info.architecture = QString::fromStdString(c.architecture);
    info.type = QString::fromStdString(model.typeSummary());
    info.parameters = qint64(model.parameterCount());
    info.fileBytes = model.file() ? qint64(model.file()->fileSize()) : qint64(model.weightBytes());
    info.contextLength = c.contextLength;
    info.vocab = c.vocab;
    info.layers = c.layers;
    info.dim = c.dim;
    info.heads = c.heads;
    info.kvHeads = c.kvHeads;
    return info;
}

void RunController::setBusy(bool busy)
{
    if (m_busy == busy)
        return;
    m_busy = busy;
    Q_EMIT busyChanged(busy);
}

void RunController::loadModel(const QString& path)
{
    loadModelWith(path, [p = path.toStdString()] { return engine::Model::load(p); });
}

void RunController::loadSynthetic(const QString& shape)
{
    loadModelWith(QStringLiteral("synthetic ") + shape,
        [s = shape.toStdString()]() -> std::shared_ptr<const engine::Model> { return engine::makeSyntheticModel(s); });
}

void RunController::loadModelWith(const QString& what, ModelLoader loader)
{
    ++m_pendingLoads;
    Q_EMIT modelLoadStarted(what);
    post(m_worker, [w = m_worker, g = m_loadGeneration, l = std::move(loader)] { w->loadModel(g, l); });
}

void RunController::useModel(std::shared_ptr<const engine::Model> model)
{
    if (!model)
        return;
    ++m_loadGeneration; // a load still under way would replace this model when it lands
    replaceModel(std::move(model));
}

void RunController::replaceModel(std::shared_ptr<const engine::Model> model)
{
    m_model = std::move(model);
    // The memory the old model's ended contexts left for reuse (contextmemory.h, up to 512 MiB) is sized for it:
    // give it back now rather than hold it until the new model's runs push it out.
    engine::releaseContextPool();
    m_modelInfo = describe(*m_model);
    Q_EMIT modelLoaded(m_modelInfo);
}

std::optional<engine::MachinePeaks> RunController::knownMachinePeaks() const
{
    return m_injectedPeaks ? m_injectedPeaks : m_knownPeaks;
}

void RunController::requestMachinePeaks()
{
    if (const auto peaks = knownMachinePeaks()) {
        // Queued like the worker's answer, so callers see one order of events either way.
        post(this, [this, p = *peaks] { Q_EMIT machinePeaksReady(p); });
        return;
    }
    post(m_worker, [w = m_worker] { w->measureMachine(); });
}

void RunController::deliverMachinePeaks(engine::MachinePeaks peaks)
{
    if (peaks.valid())
        m_knownPeaks = peaks;
    Q_EMIT machinePeaksReady(peaks);
}

void RunController::finishModelLoad(int generation, std::shared_ptr<const engine::Model> model, QString error)
{
    --m_pendingLoads;
    if (generation != m_loadGeneration)
        return; // useModel() replaced the model since this load started
    if (!model) {
        Q_EMIT modelLoadFailed(error); // the previous model stays loaded
        return;
    }
    replaceModel(std::move(model));
}

int RunController::startRun(const RunSettings& settings)
{
    if (m_busy || m_pendingLoads > 0 || !m_model)
        return 0;
    const int id = m_nextRunId++;
    m_currentRun = id;
    m_stoppedRun = 0; // a new run supersedes what a stopped one still sends
    m_analysedRun = 0; // and the report of the previous one
    setBusy(true);
    Q_EMIT runStarted(id, int(settings.prompts.size()), settings.scheduler.threads);
    post(m_worker,
        [w = m_worker, id, model = m_model, settings, peaks = m_injectedPeaks] { w->run(id, model, settings, peaks); });
    return id;
}

int RunController::startSweep(const SweepSettings& settings)
{
    if (m_busy || m_pendingLoads > 0 || !m_model)
        return 0;
    const int id = m_nextRunId++;
    m_currentRun = id;
    m_stoppedRun = 0;
    m_analysedRun = 0;
    setBusy(true);
    Q_EMIT runStarted(
        id, int(settings.workload.prompts.size()), settings.threads.empty() ? 1 : settings.threads.back());
    post(m_worker, [w = m_worker, id, model = m_model, settings, peaks = m_injectedPeaks] {
        w->sweep(id, model, settings, peaks);
    });
    return id;
}

int RunController::startChatTurn(std::shared_ptr<engine::Conversation> conversation, const ChatTurnSettings& settings)
{
    if (m_busy || m_pendingLoads > 0 || !m_model || !conversation)
        return 0;
    const int id = m_nextRunId++;
    m_currentRun = id;
    m_stoppedRun = 0;
    m_analysedRun = 0;
    setBusy(true);
    Q_EMIT runStarted(id, 1, settings.scheduler.threads);
    post(m_worker, [w = m_worker, id, conversation, settings, peaks = m_injectedPeaks] {
        w->chatTurn(id, conversation, settings, peaks);
    });
    return id;
}

int RunController::startPromptAb(const engine::PromptAbRequest& request)
{
    if (m_busy || m_pendingLoads > 0 || !m_model)
        return 0;
    const int id = m_nextRunId++;
    m_currentRun = id;
    m_stoppedRun = 0;
    m_analysedRun = 0;
    setBusy(true);
    Q_EMIT runStarted(id, int(request.variants.size()), request.run.scheduler.threads);
    post(m_worker, [w = m_worker, id, model = m_model, request] { w->promptAb(id, model, request); });
    return id;
}

void RunController::deliverAbProgress(int runId, int done, int total)
{
    if (runId == m_currentRun)
        Q_EMIT abProgress(runId, done, total);
}

void RunController::finishAb(int runId, engine::PromptAbResult result)
{
    if (!wanted(runId))
        return;
    m_currentRun = 0;
    m_stoppedRun = 0;
    setBusy(false);
    Q_EMIT abFinished(runId, result);
}

void RunController::stop()
{
    if (m_currentRun == 0)
        return;
    m_stopRunId->store(m_currentRun); // and any older run still queued: a newer run superseded it
    // What it measured up to the stop still arrives (within one token) and is shown as stopped;
    // a run started before then supersedes it.
    m_stoppedRun = m_currentRun;
    m_currentRun = 0;
    setBusy(false);
}

bool RunController::wanted(int runId) const
{
    return runId != 0 && (runId == m_currentRun || (m_currentRun == 0 && runId == m_stoppedRun));
}

void RunController::deliverTokens(int runId, QVector<TokenPiece> pieces)
{
    if (wanted(runId))
        Q_EMIT tokensReady(runId, pieces);
}

void RunController::deliverTrace(int runId, TraceBatch events)
{
    if (wanted(runId))
        Q_EMIT traceReady(runId, events);
}

void RunController::deliverPhase(int runId, QString phase)
{
    if (runId == m_currentRun)
        Q_EMIT phaseChanged(runId, phase);
}

void RunController::finishRun(int runId, RunSummary summary)
{
    if (!wanted(runId))
        return;
    m_currentRun = 0;
    m_stoppedRun = 0;
    m_analysedRun = runId;
    setBusy(false);
    Q_EMIT runFinished(runId, summary);
}

void RunController::deliverAnalysisStarted(int runId, bool measuringMachine)
{
    if (runId == m_analysedRun)
        Q_EMIT analysisStarted(runId, measuringMachine);
}

void RunController::deliverReport(int runId, RunReportPtr report)
{
    if (report && report->machine.valid())
        m_knownPeaks = report->machine;
    if (runId != m_analysedRun)
        return;
    m_analysedRun = 0;
    Q_EMIT reportReady(runId, report);
}

void RunController::failRun(int runId, QString message)
{
    if (!wanted(runId))
        return;
    m_currentRun = 0;
    m_stoppedRun = 0;
    setBusy(false);
    Q_EMIT runFailed(runId, message);
}

void RunController::deliverSweepProgress(int runId, int done, int total, QString label)
{
    if (runId == m_currentRun)
        Q_EMIT sweepProgress(runId, done, total, label);
}

void RunController::finishSweep(int runId, engine::SweepResult result)
{
    if (!wanted(runId))
        return;
    m_currentRun = 0;
    m_stoppedRun = 0;
    setBusy(false);
    Q_EMIT sweepFinished(runId, result);
}

} // namespace ui
