// The roofline of the last run: the machine's bandwidth slope and arithmetic ceiling for the run's thread count
// (log-log), and each modelled op of the run as a point at its FLOPs per byte and achieved GFLOP/s, prefill and
// decode told apart. The figures come from the engine's RunReport; the chart only places them.
#pragma once

#include "engine/measure/analysisreport.h"

#include <QFont>
#include <QString>
#include <QWidget>

#include <optional>
#include <vector>

class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QScatterSeries;

namespace ui {

class RooflineChart : public QWidget {
    Q_OBJECT
public:
    explicit RooflineChart(QWidget* parent = nullptr);

    void clear(); // before any run: says what it will show
    void setReport(const engine::RunReport& report);

    // For tests and tool tips: the series and what each point stands for.
    QLineSeries* bandwidthLine() const { return m_bandwidth; }
    QLineSeries* computeLine() const { return m_compute; }
    QScatterSeries* points(engine::Phase phase) const;
    // The hover text of point `index` of `phase`'s series: op, phase, GB/s, GFLOP/s, bound, share of ceiling.
    QString pointDescription(engine::Phase phase, int index) const;
    QString machineText() const;
    // The hover text of the point nearest `viewPos` (in the chart view's viewport) within a few pixels, else empty.
    QString tipAt(QPoint viewPos) const;
    QChartView* view() const { return m_view; }
    QChart* chart() const { return m_chart; }
    QLabel* legendText() const { return m_legendText; } // shown instead of the chart's legend at large text

    // Presentation mode (a projector): every font, line and marker of the chart `scale` times its usual size
    // (MainWindow::kPresentationScale); 1 is the usual look.
    void setPresentationScale(double scale);
    double presentationScale() const { return m_scale; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    QChart* m_chart;
    QChartView* m_view;
    QLogValueAxis* m_x;
    QLogValueAxis* m_y;
    QLineSeries* m_bandwidth;
    QLineSeries* m_compute;
    QScatterSeries* m_prefill;
    QScatterSeries* m_decode;
    QLabel* m_machine;
    QLabel* m_legendText; // presentation mode's legend, above m_machine
    std::vector<QString> m_prefillTips; // one per point, in series order
    std::vector<QString> m_decodeTips;
    QFont m_labelsFont; // the chart's own fonts, outside presentation mode
    QFont m_titleFont;
    QFont m_legendFont;
    double m_scale = 1;
};

} // namespace ui
