// Asks for a sweep's thread counts, repetitions, strategies and whether work grows with the threads.
#pragma once

#include "engine/run/run.h"

#include <QDialog>

#include <vector>

class QCheckBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace ui {

class SweepDialog : public QDialog {
    Q_OBJECT

public:
    explicit SweepDialog(QWidget* parent = nullptr);

    std::vector<int> threads() const; // parsed, sorted, unique; empty if invalid
    void setThreads(const std::vector<int>& threads);
    std::vector<engine::Strategy> strategies() const;
    void setStrategies(const std::vector<engine::Strategy>& strategies);
    int repeat() const;
    void setRepeat(int repeat);
    bool scaledWork() const;
    // The partitioner, grain and pinning the sweep will use (from the Parallelism panel), shown read-only so a
    // surprising result carries its clue; and the machine's cores, above which points are not fitted.
    void setScheduling(const engine::SchedulerOptions& options);
    QString schedulingText() const;

    static std::vector<int> parseThreadList(const QString& text); // "1,2,4" or "1-4"; empty if invalid
    // Why parseThreadList refuses the text, for the user; empty when it does not.
    static QString threadListProblem(const QString& text);
    QString problem() const; // what the dialog shows under the thread list; empty when it can start

private:
    void validate();

    QLineEdit* m_threads;
    QSpinBox* m_repeat;
    std::vector<std::pair<engine::Strategy, QCheckBox*>> m_strategies;
    QCheckBox* m_scaled;
    QLabel* m_scheduling;
    QLabel* m_problem;
    QPushButton* m_ok = nullptr;
};

} // namespace ui
