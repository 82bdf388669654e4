// The playground's window: model, prompts, sampling and parallelism on the left; output, timeline, charts right.
#pragma once

#include "ui/runcontroller.h"

#include <QMainWindow>

#include <optional>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTabWidget;
class QToolButton;

namespace ui {

class OutputView;
class PromptListEditor;
class SpeedupChart;
class StatsTable;
class TimelineView;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    RunController* controller() const { return m_controller; }
    PromptListEditor* prompts() const { return m_prompts; }
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
    QWidget* buildControls();
    void buildMenus();
    void connectController();
    void loadSettings();
    void saveSettings() const;
    void setState(const QString& state);
    void updateStatus();
    void updateThreadHint();
    void updateEnabled();
    void addRecentModel(const QString& path);
    void rebuildModelCombo();
    void selectModelEntry(int index);
    bool saveWindowImage(const QString& path);

    RunController* m_controller;
    PromptListEditor* m_prompts;
    QPlainTextEdit* m_system;
    QCheckBox* m_chat;
    QComboBox* m_model;
    QLabel* m_modelFacts;
    QDoubleSpinBox* m_temperature;
    QSpinBox* m_topK;
    QDoubleSpinBox* m_topP;
    QDoubleSpinBox* m_minP;
    QDoubleSpinBox* m_repeatPenalty;
    QSpinBox* m_maxTokens;
    QSpinBox* m_seed;
    QSpinBox* m_threads;
    QLabel* m_threadHint;
    QComboBox* m_strategy;
    QComboBox* m_partitioner;
    QSpinBox* m_grain;
    QCheckBox* m_pin;
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
    QStringList m_runPrompts;
    std::vector<engine::TraceEvent> m_trace; // the last run's events, for export
    std::optional<RunSummary> m_lastRun;
    std::optional<engine::SweepResult> m_lastSweep;
    QString m_lastGoodModel;
    bool m_demo = false;
    QString m_demoScreenshot;
    int m_demoStage = 0;
};

} // namespace ui
