// The "Why" panel: where a traced run's lane-time went per phase (busy, and idle by cause), the serial fraction
// from the trace and the engine's plain-language reading of it; and the figures of a region clicked in the
// timeline. Every number comes from the engine's RunReport or its analysis functions: the panel only formats.
#pragma once

#include "engine/measure/analysisreport.h"
#include "engine/parallel/trace.h"

#include <QWidget>

#include <optional>
#include <vector>

class QLabel;

namespace ui {

class PhaseBars;

// "12.3%": a share of `whole` with one decimal; "0.0%" when whole is 0.
QString percentText(int64_t part, int64_t whole);

class WhyPanel : public QWidget {
    Q_OBJECT
public:
    explicit WhyPanel(QWidget* parent = nullptr);

    // Before any run: what the panel will show.
    void clear();
    // A run is going on, or finished and its analysis is being computed (measuringMachine: first the machine's
    // ceilings, a few seconds once).
    void setRunning();
    void setAnalysing(bool measuringMachine);
    // The run's report; an untraced run (report.analysis.valid false) says so. `stopped`: the run was stopped
    // and the report covers it up to the stop.
    void setReport(const engine::RunReport& report, bool stopped = false);
    void setUntraced();
    void setAnalysisFailed();
    // A run shown again without an analysis (a session made without one): `why` says so instead of the report.
    void setNoAnalysis(const QString& why);
    const std::optional<engine::RunReport>& report() const { return m_report; }

    // The region (a span from fork to join) around a clicked chunk: its lane work, imbalance, overhead and the
    // op's bound, computed with engine::analyzeLaneTime over `trace` (the run's events) in the span's window.
    void showRegion(const engine::TraceEvent& region, const engine::TraceEvent& chunk,
        const std::vector<engine::TraceEvent>& trace);
    void clearRegion();

    // Everything the panel says, as plain text (tests, accessibility).
    QString text() const;
    QString regionText() const;
    // The tool tip of the phase bar segment under `pos` (in the panel's coordinates), or empty.
    QString barTipAt(QPoint pos) const;
    QRect barsGeometry() const; // where the phase bars are, in the panel's coordinates

    QSize minimumSizeHint() const override;

private:
    QLabel* m_status;
    PhaseBars* m_bars;
    QLabel* m_phaseText;
    QLabel* m_region;
    QLabel* m_reading;
    std::optional<engine::RunReport> m_report;
};

} // namespace ui
