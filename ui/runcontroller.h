// Runs the engine on a worker thread for the GUI: model loading, runs and sweeps in, batched results out.
#pragma once

#include "engine/measure/analysisreport.h"
#include "engine/measure/machine.h"
#include "engine/measure/promptab.h"
#include "engine/measure/sweep.h"
#include "engine/model/model.h"
#include "engine/run/conversation.h"
#include "engine/run/run.h"

#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>
#include <QVector>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace ui {

// The window runs exactly what the engine takes: no parallel UI structs to keep in step.
using RunSettings = engine::RunRequest;
using SweepSettings = engine::SweepRequest; // workload, threads, strategies, repeat, warm-up, scaled work

// Text that arrived for one sequence since the last batch, token by token.
struct TokenPiece {
    int sequence = 0;
    int32_t id = -1; // -1: trailing bytes flushed at the end (no token of its own)
    int position = -1; // token position of the forward pass whose logits gave this token
    QString text;
};

struct ModelInfo {
    QString source; // path or "synthetic:<shape>"
    QString name;
    QString architecture;
    QString type;
    qint64 parameters = 0;
    qint64 fileBytes = 0;
    int contextLength = 0;
    int vocab = 0;
    int layers = 0;
    int dim = 0;
    int heads = 0;
    int kvHeads = 0;
    QString chatTemplate;
    QString summary() const; // one line for the status bar and the model panel
};

// A chat turn: what it cost and the conversation after it (a copy: the Conversation itself is used on the worker).
struct ChatTurnOutcome {
    int historyTokens = 0;
    int reusedTokens = 0;
    int prefilledTokens = 0;
    std::vector<engine::ChatMessage> messages;
};

// What a chat turn asks: the action and its text, the reply's sampling and length, the threads, the system prompt.
struct ChatTurnSettings {
    engine::ChatAction action = engine::ChatAction::Send;
    QString text;
    QString systemPrompt;
    engine::ChatTurnRequest request;
    engine::SchedulerOptions scheduler;
    bool trace = true;
};

struct RunSummary {
    engine::RunMetrics metrics;
    std::vector<engine::GenerationResult> sequences;
    bool cancelled = false;
    int threads = 1;
    engine::Strategy strategy = engine::Strategy::IntraOp;
    std::vector<int> pinnedCpus; // CPU of each slot when the run pinned its threads, else empty
    // Other processes' CPU use while the run went on: busy neighbours stretch chunks and gaps.
    engine::BackgroundLoad backgroundLoad;
    std::optional<ChatTurnOutcome> chat; // set for a chat turn (startChatTurn)
};

// "other processes kept 0.9 of 2 CPUs busy: timings disturbed" when the load was significant and the
// run long enough for /proc's 10 ms ticks to tell; otherwise empty.
QString busyMachineWarning(const engine::BackgroundLoad& load);

using TraceBatch = std::shared_ptr<const std::vector<engine::TraceEvent>>;
// A traced run's analysis (engine::buildRunReport), computed on the worker thread after the run.
using RunReportPtr = std::shared_ptr<const engine::RunReport>;

class RunWorker;

// Owns the worker QThread. Requests go in through the public slots; results come back as queued
// signals, batched at no more than ~30 updates per second. Every run has an id; results of a run
// that was stopped or superseded never reach the signals.
class RunController : public QObject {
    Q_OBJECT

public:
    explicit RunController(QObject* parent = nullptr);
    ~RunController() override; // stops any run and joins the worker thread

    std::shared_ptr<const engine::Model> model() const { return m_model; }
    const ModelInfo& modelInfo() const { return m_modelInfo; }
    bool isBusy() const { return m_busy; }
    bool isLoading() const { return m_pendingLoads > 0; } // a model load is queued or running; runs are refused
    int currentRunId() const { return m_currentRun; }
    int stoppedRunId() const { return m_stoppedRun; } // stopped, its final result not yet delivered

    static ModelInfo describe(const engine::Model& model);

    // The machine's ceilings the run analysis uses. Unset (the default), the worker measures them once per process
    // before the first analysis (engine::machinePeaks(): ~3 s, or read from the cache file); tests inject figures
    // here instead. Takes effect for runs started afterwards.
    void setMachinePeaks(const engine::MachinePeaks& peaks) { m_injectedPeaks = peaks; }
    // The ceilings as far as the GUI thread knows them: injected, or delivered by machinePeaksReady.
    std::optional<engine::MachinePeaks> knownMachinePeaks() const;

    // Builds the model with `loader` on the worker thread (a lesson's synthetic shape stored as another type);
    // `what` names it while it loads. Like loadModel: the previous model stays on failure.
    using ModelLoader = std::function<std::shared_ptr<const engine::Model>()>;
    void loadModelWith(const QString& what, ModelLoader loader);
    // Makes `model` (one this controller held before) the loaded model at once, without loading anything, and
    // drops the result of any load still under way: a lesson gives the user's model back this way.
    void useModel(std::shared_ptr<const engine::Model> model);

public Q_SLOTS:
    // Runs and sweeps are refused until the load ends. A GGUF file; the previous model (if any)
    // stays on failure.
    void loadModel(const QString& path);
    void loadSynthetic(const QString& shape); // tiny, 15M, 110M, 1B
    int startRun(const ui::RunSettings& settings); // returns the run id (0 if refused: busy or no model)
    int startSweep(const ui::SweepSettings& settings); // same
    // One chat turn on `conversation` (which only the worker touches until the turn's result arrives): streams as a
    // run of one sequence (tokensReady, traceReady, runFinished with summary.chat set). Same refusals as startRun.
    int startChatTurn(std::shared_ptr<engine::Conversation> conversation, const ui::ChatTurnSettings& settings);
    // A prompt A/B batch: abProgress after each seed, then abFinished (or runFailed). Same refusals as startRun.
    int startPromptAb(const engine::PromptAbRequest& request);
    // Takes effect within one token; the controller is idle at once. What the stopped run measured
    // still arrives (tokens, trace, then runFinished or sweepFinished marked cancelled) unless a new
    // run or sweep starts first, which drops it.
    void stop();
    // Measures the machine's ceilings on the worker (or reads the cache: engine::machinePeaks()) unless they are
    // known, then emits machinePeaksReady; the analysis and sweeps use the same figures.
    void requestMachinePeaks();

Q_SIGNALS:
    void modelLoadStarted(const QString& what);
    void modelLoaded(const ui::ModelInfo& info);
    void modelLoadFailed(const QString& message);
    void runStarted(int runId, int sequences, int threads);
    void tokensReady(int runId, const QVector<ui::TokenPiece>& pieces);
    void traceReady(int runId, const ui::TraceBatch& events);
    void phaseChanged(int runId, const QString& phase);
    void runFinished(int runId, const ui::RunSummary& summary);
    // After runFinished of a traced run, on the worker thread: the analysis starts (measuringMachine: the
    // machine's ceilings are being measured first, a few seconds once per process) and then arrives. Dropped when
    // another run or sweep started in between. A null report: the analysis failed.
    void analysisStarted(int runId, bool measuringMachine);
    void reportReady(int runId, const ui::RunReportPtr& report);
    void runFailed(int runId, const QString& message);
    void sweepProgress(int runId, int done, int total, const QString& label);
    void sweepFinished(int runId, const engine::SweepResult& result);
    void busyChanged(bool busy);
    void abProgress(int runId, int done, int total);
    void abFinished(int runId, const engine::PromptAbResult& result);
    // requestMachinePeaks' answer; invalid peaks (valid() false) when they could not be measured.
    void machinePeaksReady(const engine::MachinePeaks& peaks);

private:
    friend class RunWorker;
    void setBusy(bool busy);
    // Called (queued, on the GUI thread) by the worker.
    void deliverTokens(int runId, QVector<TokenPiece> pieces);
    void deliverTrace(int runId, TraceBatch events);
    void deliverPhase(int runId, QString phase);
    void finishRun(int runId, RunSummary summary);
    void failRun(int runId, QString message);
    void deliverAnalysisStarted(int runId, bool measuringMachine);
    void deliverReport(int runId, RunReportPtr report);
    void deliverSweepProgress(int runId, int done, int total, QString label);
    void finishSweep(int runId, engine::SweepResult result);
    void deliverAbProgress(int runId, int done, int total);
    void finishAb(int runId, engine::PromptAbResult result);
    void finishModelLoad(int generation, std::shared_ptr<const engine::Model> model, QString error);
    void replaceModel(std::shared_ptr<const engine::Model> model); // a loaded or given model becomes the current one
    void deliverMachinePeaks(engine::MachinePeaks peaks);
    bool wanted(int runId) const; // the current run, or the stopped one while nothing replaced it

    QThread m_thread;
    RunWorker* m_worker = nullptr; // lives in m_thread, deleted when it finishes
    std::shared_ptr<const engine::Model> m_model;
    ModelInfo m_modelInfo;
    int m_nextRunId = 1;
    int m_currentRun = 0;
    int m_stoppedRun = 0; // the run stop() ended, until its final result arrives or a new run starts
    bool m_busy = false;
    int m_pendingLoads = 0; // loads queued or running: a run now would use the old model
    int m_loadGeneration = 0; // useModel() bumps it: loads started before then are dropped on arrival
    std::optional<engine::MachinePeaks> m_knownPeaks; // delivered by the worker
    // The worker polls it between tokens: runs with this id or an older one stop. Ids only grow, and a run older
    // than the stopped one was superseded when that one started, so none of them is wanted any more.
    std::shared_ptr<std::atomic<int>> m_stopRunId;
    std::optional<engine::MachinePeaks> m_injectedPeaks;
    int m_analysedRun = 0; // the finished run whose report is still to come, until another run starts
};

} // namespace ui

Q_DECLARE_METATYPE(engine::RunRequest)
Q_DECLARE_METATYPE(engine::SweepRequest)
Q_DECLARE_METATYPE(ui::TokenPiece)
Q_DECLARE_METATYPE(ui::ModelInfo)
Q_DECLARE_METATYPE(ui::RunSummary)
Q_DECLARE_METATYPE(ui::TraceBatch)
Q_DECLARE_METATYPE(ui::RunReportPtr)
Q_DECLARE_METATYPE(engine::SweepResult)
Q_DECLARE_METATYPE(engine::PromptAbResult)
Q_DECLARE_METATYPE(engine::MachinePeaks)
