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
class QSplitter;
class QTabWidget;
class QToolButton;

namespace ui {

class DemoDriver;
class OutputView;
class PromptListEditor;
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

    RunSettings currentSettings() const;
    void applySettings(const RunSettings& settings);

    // Loads the model given on the command line, the last one used, or the shipped default.
    void loadInitialModel(const QString& path = {});
    // --demo: load, run the default prompt on every core, sweep, show, optionally save a
    // screenshot of the whole window, then quit with 0 (1 on failure).
    void startDemo(const QString& screenshotPath);

public Q_SLOTS:
    void run();
    void stop();
    void sweep();
    void openModel();
    void exportTrace();
    void exportSweep();
    void saveScreenshot();
    void saveSession();
    void openSession();

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
    void onRunFailed(int id, const QString& message);
    void onSweepProgress(int id, int done, int total, const QString& label);
    void onSweepFinished(int id, const engine::SweepResult& result);
    void loadSettings();
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
    QTabWidget* m_tabs;
    QSplitter* m_rightSplitter;
    QSplitter* m_mainSplitter;
    QLabel* m_statusModel;
    QLabel* m_statusThreads;
    QLabel* m_statusState;
    QProgressBar* m_progress;
    QToolButton* m_cancelSweep;

    QStringList m_recentModels;
    QString m_state;
    int m_runId = 0;
    std::vector<engine::TraceEvent> m_trace; // the last run's events, for export
    std::optional<RunSummary> m_lastRun;
    std::optional<engine::SweepResult> m_lastSweep;
    QString m_lastGoodModel;
    DemoDriver* m_demo = nullptr; // only with --demo
};

} // namespace ui
