// Runs a teaching demonstration (engine::lessons) in the window: saves the user's model, prompts and settings,
// loads each step's model, runs its run or sweep through the window's RunController (so the timeline and charts
// draw live), collects what the controller delivers into StepResults, then asks the lesson to measure and explain.
// Stop, leaving and closing the window give the user's own model, prompts and settings back exactly.
#pragma once

#include "engine/lessons/lesson.h"
#include "ui/runcontroller.h"
#include "ui/speedupchart.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>
#include <vector>

namespace ui {

class MainWindow;

class LessonDriver : public QObject {
    Q_OBJECT

public:
    explicit LessonDriver(MainWindow* window);

    // Tests: fewer tokens and repetitions (LessonOptions::quick), the same steps.
    void setQuick(bool quick) { m_quick = quick; }

    bool isActive() const { return m_saved.has_value(); } // the user's settings are put aside
    bool isRunning() const { return m_stage != Stage::Idle; } // a lesson's steps are executing
    int lessonIndex() const { return m_index; } // in allLessons(); -1 before the first
    const engine::lessons::Lesson* lesson() const;
    // The last completed lesson's numbers and explanation.
    const engine::lessons::Measured& measured() const { return m_measured; }
    const engine::lessons::Explanation& explanation() const { return m_explanation; }
    // The speedup chart's phase the last explanation's figures come from, if it names one.
    std::optional<SpeedupChart::Phase> speedupPhase() const;

public Q_SLOTS:
    bool start(const QString& name); // false: no such lesson
    void startAt(int index);
    void next();
    void previous();
    void rerun();
    // Cancels the running step and gives the user's settings back; the lesson can be rerun.
    void stop();
    // stop(), and the demonstration is over: left() follows.
    void leave();

Q_SIGNALS:
    void lessonStarted(int index, int count);
    // `synthetic`: the step's model is a synthetic one, whose random weights write meaningless text.
    void stepStarted(int step, int steps, const QString& caption, const QString& model, bool synthetic);
    void progress(double fraction); // over the whole lesson
    void lessonFinished();
    void lessonFailed(const QString& message);
    void lessonStopped();
    void left();

private:
    enum class Stage { Idle, Peaks, Loading, Running, Analysing, Sweeping };
    struct UserState {
        RunSettings settings;
        QStringList promptTexts; // every entry of the prompt list as typed, empty ones too
        int promptIndex = 0;
        std::shared_ptr<const engine::Model> model;
    };

    void saveUserState();
    void restoreUserState();
    void beginSteps(const engine::MachinePeaks& peaks);
    void runStep();
    void startStep();
    void stepDone(engine::lessons::StepResult result);
    void finishLesson();
    void fail(const QString& message);
    void setStage(Stage stage);
    uint64_t weightBytes() const;

    void onModelLoaded();
    void onModelLoadFailed(const QString& message);
    void onTokens(int id, const QVector<TokenPiece>& pieces);
    void onRunFinished(int id, const RunSummary& summary);
    void onReport(int id, const RunReportPtr& report);
    void onRunFailed(int id, const QString& message);
    void onSweepProgress(int id, int done, int total);
    void onSweepFinished(int id, const engine::SweepResult& result);
    void onPeaks(const engine::MachinePeaks& peaks);

    MainWindow* m_window;
    RunController* m_controller;
    bool m_quick = false;
    std::optional<UserState> m_saved;
    Stage m_stage = Stage::Idle;
    int m_index = -1;
    std::vector<engine::lessons::Step> m_plan;
    std::vector<engine::lessons::StepResult> m_results;
    engine::MachinePeaks m_peaks;
    int m_step = 0;
    int m_runId = 0;
    int m_tokens = 0; // generated so far in the running step, for its progress
    std::string m_loadedKey; // the model key the driver last loaded; empty: the user's model
    std::optional<engine::lessons::StepResult> m_pendingRun; // a finished run waiting for its report
    engine::lessons::Measured m_measured;
    engine::lessons::Explanation m_explanation;
};

} // namespace ui
