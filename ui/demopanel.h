// The side panel of a teaching demonstration: which lesson, which step is running (with a progress bar), then the
// explanation filled from what was measured, what to look at, and the measured values; previous / rerun / next,
// Stop and "Back to my settings". It only shows and asks: LessonDriver runs the lesson.
#pragma once

#include "engine/lessons/lesson.h"

#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;
class QToolButton;
class QVBoxLayout;

namespace ui {

class DemoPanel : public QWidget {
    Q_OBJECT

public:
    explicit DemoPanel(QWidget* parent = nullptr);

    // A lesson starts: its title and one-line summary, its place in the list.
    void showLesson(const QString& title, const QString& summary, int index, int count);
    // A step on a synthetic model also says, until the next lesson, that its text is meaningless.
    void showStep(int step, int steps, const QString& caption, const QString& model, bool synthetic = false);
    void setProgress(double fraction); // 0 … 1 over the whole lesson
    void showExplanation(const engine::lessons::Measured& measured, const engine::lessons::Explanation& explanation);
    void showFailure(const QString& message);
    void showStopped();

    // What the panel shows, for tests.
    QString explanationText() const;
    bool showsContradiction() const;
    QString stepText() const;
    QStringList measuredNames() const; // in the order shown
    QString modelNote() const; // what it says about a synthetic model's text; empty when nothing
    bool isRunning() const { return m_running; }

Q_SIGNALS:
    void previousRequested();
    void nextRequested();
    void rerunRequested();
    void stopRequested();
    void leaveRequested();
    void focusRequested(engine::lessons::Focus focus);

protected:
    void changeEvent(QEvent* event) override;

private:
    void applyFonts();
    void setRunning(bool running);
    void clearResults();

    QLabel* m_title;
    QLabel* m_summary;
    QLabel* m_step;
    QLabel* m_modelNote; // a synthetic model's text is meaningless
    QProgressBar* m_progress;
    QLabel* m_contradiction; // shown when the measurement did not show the usual lesson
    QLabel* m_explanation;
    QLabel* m_lookAt;
    QVBoxLayout* m_focusButtons; // one per line: side by side they would widen the panel past its column
    QLabel* m_measured;
    QLabel* m_status; // stopped, failed
    QPushButton* m_previous;
    QPushButton* m_rerun;
    QPushButton* m_next;
    QPushButton* m_stop;
    QPushButton* m_leave;
    QStringList m_measuredNames;
    bool m_running = false;
};

} // namespace ui
