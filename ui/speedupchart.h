// The scaling chart of a sweep: measured speedup with min–max bars, the ideal line and the Amdahl fit per strategy;
// efficiency and throughput views; prefill, decode and total separately. A scaled-work sweep (work grows with p) shows
// Gustafson's scaled speedup and efficiency instead, and no Amdahl fit or Karp–Flatt. When the sweep carries a scaling
// prediction (engine::StrategySweep::prediction) it is drawn dash-dotted in its own legend entry, labelled as a
// prediction; "Predict to N threads" extends the thread axis to the predicted counts.
#pragma once

#include "engine/measure/scaling.h"

#include <QColor>
#include <QList>
#include <QMarginsF>
#include <QPointF>
#include <QSet>
#include <QStringList>
#include <QWidget>

#include <optional>
#include <set>
#include <vector>

QT_BEGIN_NAMESPACE
class QAbstractSeries;
class QButtonGroup;
class QCategoryAxis;
class QCheckBox;
class QComboBox;
class QChart;
class QChartView;
class QGridLayout;
class QLabel;
class QLineSeries;
class QScrollArea;
class QStackedWidget;
class QValueAxis;
QT_END_NAMESPACE

namespace ui {

class SpeedupChart : public QWidget {
    Q_OBJECT

public:
    enum class Phase { Prefill, Decode, Total };
    Q_ENUM(Phase)
    enum class View { Speedup, Efficiency, Throughput };
    Q_ENUM(View)

    // One min–max bar as drawn: x = threads, y1 = low end, y2 = high end.
    struct Bar {
        double threads = 0, low = 0, high = 0;
    };

    explicit SpeedupChart(QWidget* parent = nullptr);
    ~SpeedupChart() override;

    void setSweep(const engine::SweepResult& result);
    void clear();
    bool hasSweep() const { return !m_result.strategies.empty(); }

    Phase phase() const { return m_phase; }
    View view() const { return m_view; }

    // What the chart shows now (current phase and view), read back from the series themselves.
    QStringList strategies() const;
    QList<QPointF> measuredPoints(const QString& strategy) const;
    QList<Bar> errorBars(const QString& strategy) const;
    QList<QPointF> amdahlPoints(const QString& strategy) const; // empty outside the speedup view
    // Scaled-work sweeps in the speedup view: the measured points, which are then p·T(1)/T(p); else empty.
    QList<QPointF> gustafsonPoints(const QString& strategy) const;
    QList<QPointF> referencePoints() const; // ideal S = p, or efficiency 1.0; empty for throughput
    // The predicted curve as drawn (current phase and view): speedup T(1) measured ÷ T(P) predicted, efficiency that
    // ÷ P, or tokens ÷ T(P); within the measured thread range unless showPrediction. Empty when not drawn.
    QList<QPointF> predictedPoints(const QString& strategy) const;
    bool showPrediction() const { return m_showPrediction; }
    bool hasPrediction() const; // some strategy of the sweep carries one
    double fittedSerialFraction(const QString& strategy) const; // of the current phase; NaN if unknown
    QStringList seriesNames() const; // the names the legend shows: the ideal line, then per strategy in order
    QString caption() const; // the workload and machine the sweep ran on
    QString warning() const; // other processes' load when it disturbed the sweep; empty otherwise
    QString yAxisTitle() const; // as shown: shortened when the plot is too low for the full title
    QStringList threadAxisLabels() const; // the thread axis's tick labels; the core count reads "N = cores"
    int coreMark() const; // the thread count the core line is drawn at; 0 when not drawn
    // What hovering the point of `strategy` at `threads` shows: p, median and min–max time, speedup, efficiency,
    // Karp–Flatt, whether it was fitted (scaled work: scaled speedup and efficiency instead), other processes'
    // load. Empty if there is no such point.
    QString pointToolTip(const QString& strategy, int threads) const;
    QString hoverText() const { return m_hoverText; } // the values under the mouse; empty when not on a point
    QString title() const;
    QChart* chart() const { return m_chart; }
    bool showsHint() const; // true while the "run a sweep" hint replaces the chart
    // Presentation mode's layout: legend, title and footer in a column beside the plot (not under it), so the plot
    // keeps most of the height. False: under it.
    bool legendBesidePlot() const { return m_besidePlot; }
    // True when the phase and view are chosen from combo boxes: the rows of buttons are wider than the chart.
    bool compactControls() const;

    // Presentation mode (a projector): every font, line and marker of the chart `scale` times its usual size
    // (MainWindow::kPresentationScale); 1 is the usual look.
    void setPresentationScale(double scale);
    double presentationScale() const { return m_scale; }

    static QString phaseName(Phase phase);
    static QString viewName(View view);

public Q_SLOTS:
    void setPhase(ui::SpeedupChart::Phase phase);
    void setView(ui::SpeedupChart::View view);
    void setShowPrediction(bool show); // extend the thread axis to the predicted thread counts

Q_SIGNALS:
    void phaseChanged(ui::SpeedupChart::Phase phase);
    void viewChanged(ui::SpeedupChart::View view);

private:
    struct StrategySeries {
        QString name;
        QColor color;
        QLineSeries* measured = nullptr;
        QList<QLineSeries*> bars; // one polyline per thread count: cap, stem, cap
        QLineSeries* amdahl = nullptr;
        QLineSeries* predicted = nullptr;
    };

    // The thread counts the sweep measured, over every strategy (1 to 1 when there are none).
    struct ThreadRange {
        double min = 1, max = 1;
        std::set<int> counts;
    };
    // The highest finite value drawn: the y axis is sized to it.
    struct YExtent {
        double max = 0;
        void grow(double y);
    };

    void rebuildSeries();
    // Redraws everything for the current phase and view, from the parts below.
    void refresh();
    ThreadRange threadRange() const;
    void updateMeasured(
        StrategySeries& series, const engine::StrategySweep& sweep, const ThreadRange& range, YExtent& extent);
    void updateAmdahlFit(
        StrategySeries& series, const engine::StrategySweep& sweep, const ThreadRange& range, YExtent& extent);
    bool scaledWork() const; // the sweep grew the work with p (Gustafson): no fixed-work speedup or fit
    void updatePrediction(
        StrategySeries& series, const engine::StrategySweep& sweep, const ThreadRange& range, YExtent& extent);
    void updateReference(const ThreadRange& range, YExtent& extent); // the ideal line and the y axis title
    void updateTitle(); // title, caption, legend
    void fitYTitle(); // the longest of m_yTitles that the plot's height shows uncut
    void applyYScale(); // y range and ticks for m_yMax, as many ticks as the plot's height has room for
    void updateAxes(const ThreadRange& range, double yMax);
    void syncButtons();
    const engine::ScalingAnalysis& analysisOf(const engine::StrategySweep& sweep) const;
    double tokensOf(const engine::StrategySweep& sweep, int threads) const;
    const StrategySeries* seriesOf(const QString& strategy) const;
    const engine::StrategySweep* sweepOf(const QString& strategy) const;
    void setInLegend(QLineSeries* series, bool shown);
    bool eventFilter(QObject* watched, QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void placeFooter(); // under the plot, or beside it (m_besidePlot)
    void fitControls(); // buttons when they fit the width, else combo boxes
    void fitCoreLabel(); // "N = cores" on the thread axis when it has room, else "N"
    void fitSideColumn(); // the column beside the plot: a share of the width
    void hoverAt(const QPoint& viewportPos); // m_hoverText: the values of the measured point within reach, or none
    static QString fitName(const QString& strategy, const engine::ScalingAnalysis& analysis, const QString& limit);
    void rebuildLegend();

    engine::SweepResult m_result;
    void applyFonts(); // every font from m_basePoint and m_scale
    Phase m_phase = Phase::Decode;
    View m_view = View::Speedup;
    double m_basePoint = 12; // the chart's point size at scale 1
    double m_scale = 1; // presentation mode: MainWindow::kPresentationScale
    QList<QLabel*> m_groupCaptions; // "Phase:", "View:"
    bool m_besidePlot = false;
    std::optional<QMarginsF> m_chartLayoutMargins; // the chart's own, before presentation mode took them
    bool m_shortCoreLabel = false; // the core count's tick reads "N": "N = cores" would be cut

    QStackedWidget* m_stack = nullptr;
    QLabel* m_hint = nullptr;
    QWidget* m_chartPage = nullptr; // chart, legend and caption
    QChartView* m_chartView = nullptr;
    QGridLayout* m_legend = nullptr;
    QLabel* m_caption = nullptr;
    QWidget* m_footer = nullptr; // the legend, the caption and the warning (and the title beside the plot)
    QScrollArea* m_sideScroll = nullptr; // holds m_footer beside the plot
    QLabel* m_sideTitle = nullptr; // the chart's title, at the top of the column beside the plot
    QWidget* m_buttonBar = nullptr; // "Phase:" and "View:" with their buttons
    QWidget* m_comboBar = nullptr; // the same as combo boxes, when the buttons do not fit
    QComboBox* m_phaseCombo = nullptr;
    QComboBox* m_viewCombo = nullptr;
    QLabel* m_warning = nullptr; // red, under the caption: the machine was busy
    QChart* m_chart = nullptr;
    QCategoryAxis* m_axisX = nullptr;
    QValueAxis* m_axisY = nullptr;
    QButtonGroup* m_phaseButtons = nullptr;
    QButtonGroup* m_viewButtons = nullptr;
    QCheckBox* m_predictBox = nullptr;
    bool m_showPrediction = false;
    QLineSeries* m_reference = nullptr;
    QLineSeries* m_coreMark = nullptr; // vertical line at the machine's logical cores
    QString m_hoverText;
    QStringList m_yTitles; // the y axis's title for the view, longest first
    double m_yMax = 1; // the highest value drawn
    int m_coreX = 0; // where the core line is drawn; 0: not drawn
    std::vector<StrategySeries> m_series;
    QSet<const QAbstractSeries*> m_inLegend;
    QString m_structure; // strategies, bar counts and scaled-work flags m_series was built for
};

} // namespace ui
