// The playground's window: model, prompts, sampling and parallelism on the left; output, timeline, charts right.
#pragma once

#include "engine/lessons/lesson.h"
#include "session/htmlreport.h"
#include "session/session.h"
#include "ui/runcontroller.h"

#include <QByteArray>
#include <QFont>
#include <QMainWindow>
#include <QPointer>

#include <memory>
#include <optional>
#include <vector>

class QAction;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QScrollArea;
class QSettings;
class QSplitter;
class QTabWidget;
class QToolButton;

namespace ui {

class AbPanel;
class ChatPanel;
class CompareView;
class DemoDriver;
class PromptLibrary;
class DemoPanel;
class LessonDriver;
class HistoryPanel;
class OutputView;
class PromptListEditor;
class RooflineChart;
class SamplingPanel;
class WhyPanel;
class SettingsPanel;
class SpeedupChart;
class StatsTable;
class TimelineView;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    RunController* controller() const { return m_controller; }
    PromptListEditor* prompts() const;
    SettingsPanel* settingsPanel() const { return m_settings; }
    OutputView* output() const { return m_output; }
    TimelineView* timeline() const { return m_timeline; }
    SpeedupChart* speedupChart() const { return m_chart; }
    StatsTable* stats() const { return m_stats; }
    WhyPanel* whyPanel() const { return m_why; }
    RooflineChart* rooflineChart() const { return m_roofline; }
    QTabWidget* tabs() const { return m_tabs; }
    ChatPanel* chatPanel() const { return m_chat; }
    AbPanel* abPanel() const { return m_ab; }
    QTabWidget* outputTabs() const { return m_outputTabs; }
    // Where File ▸ Prompt library keeps its file (tests point it at a temporary directory); default: the app's data.
    void setPromptLibraryPath(const QString& path) { m_libraryPath = path; }
    LessonDriver* lessons() const { return m_lessons; }
    DemoPanel* demoPanel() const { return m_demoPanel; }
    HistoryPanel* history() const { return m_history; }
    const std::vector<session::RunRecord>& runs() const { return m_runs; }
    const std::vector<session::SweepRecord>& sweeps() const { return m_sweeps; }
    // The window's runs, sweeps, settings and model as a session (what Save session writes).
    session::Session currentSession() const;
    // Opens a session file: "" on success, else the message (also shown in a dialog unless `quiet`). A refused file
    // changes nothing in the window.
    QString openSessionFile(const QString& path, bool quiet = false);
    // True while the shown session's model is missing or differs: it can be looked at, not run again.
    bool isReadOnly() const { return m_readOnly; }
    // Shows a run or sweep of the history again, as when it finished.
    void showRun(int index);
    void showSweep(int index, bool switchToChart = true);
    QWidget* compareRuns(int a, int b); // the comparison window (deleted on close)
    QWidget* compareSweeps(int a, int b);
    // What File ▸ Export report writes: the open comparison if there is one, else the run and the sweep shown.
    session::HtmlReport::Options reportOptions() const;
    // What a report holds in words, for the menu ("the comparison of run 1 and run 2", "run 2 and sweep 1").
    QString reportSubject(const session::HtmlReport::Options& options) const;
    // Prompts and settings are saved a few seconds after each edit, so a crash loses nothing typed.
    static constexpr int kAutosaveDelayMs = 1500;
    SamplingPanel* samplingPanel() const { return m_sampling; }

    RunSettings currentSettings() const;
    void applySettings(const RunSettings& settings);

    // Loads the model given on the command line, the last one used, or the shipped default.
    void loadInitialModel(const QString& path = {});
    // --demo: load, run the default prompt on every core, sweep, and stay open; with a screenshot path,
    // save a picture of the whole window and quit with 0 (1 on failure) instead.
    void startDemo(const QString& screenshotPath);
    // --demo-preset: opens the demonstration panel on lesson `name` and runs it; with a screenshot path, saves a
    // picture of the window when the explanation shows and quits with 0 (1 on failure). False: no such lesson.
    bool startLesson(const QString& name, const QString& screenshotPath = {});

    // Runs or sweeps exactly these settings (not the controls'): what Run and Sweep do after reading the controls,
    // and what a lesson's steps use. Returns the run id, 0 if refused (busy, loading, no model).
    int runWith(const RunSettings& settings);
    int sweepWith(const SweepSettings& settings);

    // Raises the view a lesson names (its tab, if it has one) and frames it for a few seconds.
    void showFocus(engine::lessons::Focus focus);
    QWidget* focusWidget(engine::lessons::Focus focus) const;

    // Presentation mode (View menu, --present): every font kPresentationScale times larger, charts' lines
    // thicker; the choice made in the View menu is kept for the next start.
    void setPresentation(bool on);
    bool presentation() const { return m_presentation; }
    static constexpr double kPresentationScale = 1.6;

    // The size a first start opens at on a screen whose free area is `available`: 1600×1000 where it
    // fits, otherwise most of the screen; never above the window's minimum where the screen allows it.
    QSize defaultSize(const QRect& available) const;
    // Sizes the window to defaultSize() and centres it in `available` (first start, Reset layout).
    void placeOnScreen(const QRect& available);
    // The free area of the screen the window is on (or the primary one).
    QRect availableScreenArea() const;

public Q_SLOTS:
    void run();
    // "Continue from here with another token": the last run again, with prompt `sequence` taking its first
    // `tokenIndex` tokens, then `id`; the new branch replaces the old text.
    void continueFrom(int sequence, int tokenIndex, int32_t id);
    void stop();
    void sweep();
    void startChatTurn(engine::ChatAction action, const QString& text);
    void startPromptAb(int seeds);
    void showPromptLibrary();
    void openModel();
    void exportTrace();
    void exportSweep();
    void saveScreenshot();
    bool saveSession(); // false when the user cancelled or the file could not be written
    void openSession();
    void exportReport();
    void showComparison(CompareView* view, const session::HtmlReport::Options& report, QSize size);
    QString reportFileName(const session::HtmlReport::Options& options) const;
    void exportTimelineImage();
    void exportChartImage();
    // View > Reset layout: default size for this screen, default splitter sizes, forgets the saved ones.
    void resetLayout();
    // Help > Reset settings: asks, then restoreDefaults().
    void resetSettings();
    // Every control, the recent models and the layout back to a first start; the saved settings erased.
    void restoreDefaults();
    void showShortcuts();
    void showViewsHelp();
    void showAbout();
    // Demos menu: the panel opens on the chosen lesson; leaving gives the user's own settings back.
    void openLesson(int index);
    void leaveLesson();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    // The layout, menus and wiring live here; the controls, exports, sessions, saved settings and
    // the demo each have their own unit.
    QWidget* buildControls();
    void buildLessons();
    void showDemoPanel(bool shown);
    void buildMenus();
    void connectController();
    // RunController's signals; results of a run other than the latest (m_runId) are dropped.
    void onModelLoadStarted(const QString& what);
    void onModelLoaded(const ModelInfo& info);
    void onModelLoadFailed(const QString& message);
    void onRunStarted(int id);
    void onTokensReady(int id, const QVector<TokenPiece>& pieces);
    void onTraceReady(int id, const TraceBatch& batch);
    void onPhaseChanged(int id, const QString& phase);
    void onRunFinished(int id, const RunSummary& summary);
    void showSamplingOf(int sequence, int tokenIndex);
    void onRunFailed(int id, const QString& message);
    void onAnalysisStarted(int id, bool measuringMachine);
    void onReportReady(int id, const RunReportPtr& report);
    void onSweepProgress(int id, int done, int total, const QString& label);
    void onSweepFinished(int id, const engine::SweepResult& result);
    void loadSettings();
    // Restores the saved geometry only if it is of this layout version and fits the current screen.
    bool restoreSavedLayout(const QSettings& st);
    void setDefaultSplitterSizes(QSize window);
    // Presentation mode's layout: the controls at their narrowest, the right-hand panes shared so each keeps
    // its large text readable (fitPresentationLayout); the bottom tabs' charts get the height when shown.
    void fitPresentationLayout();
    void growTabsForPresentation();
    // Widgets Qt does not give the window's new font (style sheets, explicit fonts of the same size).
    void followWindowFont(double oldPointSize);
    void fitControlsWidth();
    bool eventFilter(QObject* watched, QEvent* event) override;
    void saveSettings() const;
    void setState(const QString& state);
    void updateStatus();
    void updateEnabled();
    void addRecentModel(const QString& path);
    void rebuildModelCombo();
    void selectModelEntry(int index);
    void autosave() const;
    void setSessionBanner(const QString& text, bool warning, const QString& details = {});

    RunController* m_controller;
    SettingsPanel* m_settings;
    QComboBox* m_model;
    QLabel* m_modelFacts;
    QPushButton* m_runButton;
    QPushButton* m_stopButton;
    QPushButton* m_sweepButton;
    OutputView* m_output;
    ChatPanel* m_chat;
    AbPanel* m_ab;
    QTabWidget* m_outputTabs; // Output, Chat, Prompt A/B
    // What the current run is, so its tokens and results reach the right view.
    enum class RunKind { Prompts, Chat, Ab };
    RunKind m_runKind = RunKind::Prompts;
    std::unique_ptr<PromptLibrary> m_library; // loaded when first opened
    QString m_libraryPath;
    TimelineView* m_timeline;
    SpeedupChart* m_chart;
    StatsTable* m_stats;
    WhyPanel* m_why;
    RooflineChart* m_roofline;
    QWidget* m_whyPage; // the scroll area around m_why: the Why tab
    QTabWidget* m_tabs;
    QWidget* m_chartPage; // the scroll area around m_chart: the Speedup tab
    QWidget* m_timelineBox; // the timeline with its title bar
    QSplitter* m_rightSplitter;
    QSplitter* m_mainSplitter;
    QWidget* m_controls = nullptr; // the left panel inside m_controlsScroll
    QScrollArea* m_controlsScroll = nullptr;
    RunSettings m_defaultSettings; // what the controls hold before saved settings are applied
    QLabel* m_statusModel;
    QLabel* m_statusThreads;
    QLabel* m_statusState;
    QProgressBar* m_progress;
    QToolButton* m_cancelSweep;

    HistoryPanel* m_history;
    QLabel* m_sessionBanner = nullptr;
    QAction* m_sessionBannerAction = nullptr;
    class QTimer* m_autosave = nullptr;
    std::vector<session::RunRecord> m_runs; // this window session's runs, oldest first
    std::vector<session::SweepRecord> m_sweeps;
    int m_shownRun = -1; // the history's run the window shows (-1: none yet, or a live one)
    int m_shownSweep = -1;
    QPointer<QWidget> m_comparison; // the comparison window opened last, while it is open
    session::HtmlReport::Options m_comparisonReport; // and what it compares
    QAction* m_reportAction = nullptr;
    QVector<TokenPiece> m_pieces; // its text as it arrived
    int m_recordedRunId = 0; // the run id whose record is m_runs.back(), for its analysis
    bool m_readOnly = false;
    // The model each of m_runs was made with (a session's runs: the session's model), for saying so when a run is
    // shown while another model is loaded.
    struct RunModel {
        QString source, name;
        std::optional<session::ModelRef> ref; // as the session file gave it (size, hash), for saving it back
    };
    std::vector<RunModel> m_runModels; // parallel to m_runs
    std::optional<RunModel> m_shownModel; // the model of the run or outputs shown (none: a live run, the loaded one)
    QLabel* m_shownRunModel = nullptr; // under the model facts: which model made what is shown, if another
    void updateShownRunModel();
    // The prompts and system prompt as last run, saved or opened: typed text is not replaced without asking.
    QString m_skippedPrompts; // "empty prompt 2 skipped": what the last run() left out of the prompt list
    QStringList m_keptPrompts;
    QString m_keptSystem;
    void markPromptsKept();
    bool promptsEdited() const;
    // Asks before `what` replaces edited prompts: false when the user cancels (or saving them fails).
    bool mayReplaceEditedPrompts(const QString& what);
    // The user chose a model since the read-only session opened: its load ends the read-only state (a load that
    // was already under way when the session opened does not).
    bool m_modelChosen = false;

    QStringList m_recentModels;
    QString m_state;
    QString m_runState; // what the state said when the last run finished, while its analysis runs
    int m_runId = 0;
    std::vector<engine::TraceEvent> m_trace; // the last run's events, for export
    std::optional<RunSummary> m_lastRun;
    std::optional<RunSettings> m_runSettings; // what the last run was started with (branches repeat it)
    SamplingPanel* m_sampling = nullptr;
    std::optional<engine::TraceEvent>
        m_selectedChunk; // the chunk clicked in the timeline, while its region is selected
    std::optional<engine::SweepResult> m_lastSweep;
    QString m_lastGoodModel;
    DemoDriver* m_demo = nullptr; // only while --demo drives the window
    bool m_saveOnClose = true; // a demo's settings are not the user's: they are not saved
    LessonDriver* m_lessons = nullptr;
    DemoPanel* m_demoPanel = nullptr; // in place of the controls while a lesson is open
    QAction* m_presentAction = nullptr;
    bool m_presentation = false;
    bool m_savedPresentation = false; // what the View menu chose last: saved, unlike --present
    // The layout presentation mode started from, given back exactly when it ends.
    struct SavedLayout {
        QByteArray mainSplitter, rightSplitter;
        QSize window;
    };
    std::optional<SavedLayout> m_layoutBeforePresentation;
    QFont m_normalFont; // the window's font outside presentation mode
    QFont m_normalAppFont; // the application's
};

} // namespace ui
