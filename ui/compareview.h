// Two runs side by side (settings that differ highlighted, outputs diffed word by word, metrics with ratios, both
// timelines on one time scale, one above the other), or two sweeps on one speedup chart.
#pragma once

#include "session/session.h"

#include <QDialog>

class QTableWidget;
class QTextBrowser;

namespace ui {

class SpeedupChart;
class TimelineView;

class CompareView : public QDialog {
    Q_OBJECT

public:
    CompareView(const session::RunRecord& a, const session::RunRecord& b, const QString& nameA, const QString& nameB,
        QWidget* parent = nullptr);
    CompareView(const session::SweepRecord& a, const session::SweepRecord& b, const QString& nameA,
        const QString& nameB, QWidget* parent = nullptr);

    // What the view shows, for tests.
    QStringList differingSettings() const { return m_differing; }
    QString diffHtml() const;
    TimelineView* timeline(int which) const { return which == 0 ? m_timelineA : m_timelineB; }
    SpeedupChart* chart() const { return m_chart; }
    QTableWidget* metrics() const { return m_metrics; }

    // Word-level diff of two texts as HTML: removed words struck through in red, added ones in green.
    static QString diffWords(const QString& a, const QString& b);
    // Both sweeps' strategies in one result, named "<name> · <strategy>", for one chart.
    static engine::SweepResult merged(
        const engine::SweepResult& a, const engine::SweepResult& b, const QString& nameA, const QString& nameB);

private:
    QStringList m_differing;
    QTableWidget* m_settings = nullptr;
    QTableWidget* m_metrics = nullptr;
    QTextBrowser* m_diff = nullptr;
    TimelineView* m_timelineA = nullptr;
    TimelineView* m_timelineB = nullptr;
    SpeedupChart* m_chart = nullptr;
};

} // namespace ui
