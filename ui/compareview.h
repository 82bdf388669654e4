// Two runs side by side (settings that differ highlighted, outputs diffed word by word, metrics with ratios, both
// timelines on one time scale, one above the other), or two sweeps on one speedup chart; either exported as an HTML
// report from its button.
#pragma once

#include "session/session.h"

#include <QDialog>

class QPushButton;
class QTableWidget;
class QTextBrowser;
class QVBoxLayout;

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
    QPushButton* exportButton() const { return m_export; }

    // Word-level diff of two texts as HTML (session::Comparison::diffWords): removed words struck through in red,
    // added ones in green.
    static QString diffWords(const QString& a, const QString& b);

Q_SIGNALS:
    // The user asked for this comparison as an HTML report (the window knows the session it belongs to).
    void exportReportRequested();

private:
    void addExportButton(QVBoxLayout* layout);

    QStringList m_differing;
    QTableWidget* m_settings = nullptr;
    QTableWidget* m_metrics = nullptr;
    QTextBrowser* m_diff = nullptr;
    TimelineView* m_timelineA = nullptr;
    TimelineView* m_timelineB = nullptr;
    SpeedupChart* m_chart = nullptr;
    QPushButton* m_export = nullptr;
};

} // namespace ui
