// The playground's window: model, prompts, sampling and parallelism on the left; output, timeline, charts right.
#pragma once

#include "ui/runcontroller.h"

#include <QMainWindow>

#include <optional>
#include <vector>

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

class DemoDriver;
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
    SamplingPanel* samplingPanel() const { return m_sampling; }

    RunSettings currentSettings() const;
    void applySettings(const RunSettings& settings);

    // Loads the model given on the command line, the last one used, or the shipped default.
    void loadInitialModel(const QString& path = {});
    // --demo: load, run the default prompt on every core, sweep, and stay open; with a screenshot path,
    // save a picture of the whole window and quit with 0 (1 on failure) instead.
    void startDemo(const QString& screenshotPath);

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
    void openModel();
    void exportTrace();
    void exportSweep();
    void saveScreenshot();
    void saveSession();
    void openSession();
    // View > Reset layout: default size for this screen, default splitter sizes, forgets the saved ones.
    void resetLayout();
    // Help > Reset settings: asks, then restoreDefaults().
    void resetSettings();
    // Every control, the recent models and the layout back to a first start; the saved settings erased.
    void restoreDefaults();
    void showShortcuts();
    void showViewsHelp();
    void showAbout();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    // The layout, menus and wiring live here; the controls, exports, sessions, saved settings and
    // the demo each have their own unit.
    QWidget* buildControls();
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
    void startRunWith(const RunSettings& settings);
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
    void fitControlsWidth();
    bool eventFilter(QObject* watched, QEvent* event) override;
    void saveSettings() const;
    void setState(const QString& state);
    void updateStatus();
    void updateEnabled();
    void addRecentModel(const QString& path);
    void rebuildModelCombo();
    void selectModelEntry(int index);

    RunController* m_controller;
    SettingsPanel* m_settings;
    QComboBox* m_model;
    QLabel* m_modelFacts;
    QPushButton* m_runButton;
    QPushButton* m_stopButton;
    QPushButton* m_sweepButton;
    OutputView* m_output;
    TimelineView* m_timeline;
    SpeedupChart* m_chart;
    StatsTable* m_stats;
    WhyPanel* m_why;
    RooflineChart* m_roofline;
    QWidget* m_whyPage; // the scroll area around m_why: the Why tab
    QTabWidget* m_tabs;
    QWidget* m_chartPage; // the scroll area around m_chart: the Speedup tab
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
};

} // namespace ui
