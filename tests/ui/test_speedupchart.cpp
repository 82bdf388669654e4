// SpeedupChart: the series drawn after a sweep match the sweep's analysis, in every phase and view.
#include "ui/speedupchart.h"
#include "ui/sweepdialog.h"

#include <QAbstractButton>
#include <QButtonGroup>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QImage>
#include <QLineSeries>
#include <QSignalSpy>
#include <QToolTip>
#include <QValueAxis>
#include <QtTest>

#include <tuple>

#include <cmath>
#include <set>

using ui::SpeedupChart;

namespace {

using Phase = SpeedupChart::Phase;
using View = SpeedupChart::View;

struct StrategySpec {
    std::string name;
    double prefillSerial; // the serial fraction the prefill timings are generated from
    double decodeSerial;
    bool scaledWork = false;
};

// Times that follow Amdahl's law exactly at the median, T(p) = T1 (s + (1 − s)/p), with a ±spread around it so the
// min–max bars have length. Total = prefill + decode, sample by sample.
engine::SweepResult makeSweep(
    const std::vector<StrategySpec>& specs, const std::vector<int>& threads = { 1, 2, 3, 4 }, double spread = 0.08)
{
    engine::SweepResult result;
    for (const StrategySpec& spec : specs) {
        engine::StrategySweep sweep;
        sweep.strategy = spec.name;
        sweep.promptTokens = 24;
        sweep.generatedTokens = 64;
        sweep.scaledWork = spec.scaledWork;
        for (int p : threads) {
            const double prefill = 0.5 * (spec.prefillSerial + (1 - spec.prefillSerial) / p);
            const double decode = 2.0 * (spec.decodeSerial + (1 - spec.decodeSerial) / p);
            // Uneven spread (more slow outliers than fast) so low and high ends differ from a mirror image.
            const std::vector<double> factors { 1.0 - spread, 1.0, 1.0 + 1.5 * spread };
            engine::TimingSamples pre { p, {} }, dec { p, {} }, tot { p, {} };
            for (double f : factors) {
                pre.seconds.push_back(prefill * f);
                dec.seconds.push_back(decode * f);
                tot.seconds.push_back((prefill + decode) * f);
            }
            sweep.prefill.push_back(pre);
            sweep.decode.push_back(dec);
            sweep.total.push_back(tot);
        }
        result.strategies.push_back(std::move(sweep));
    }
    engine::analyzeSweep(result);
    return result;
}

engine::SweepResult threeStrategies()
{
    return makeSweep({ { "intra-op", 0.30, 0.12 }, { "request", 0.05, 0.40 }, { "hybrid", 0.20, 0.25 } });
}

const engine::ScalingAnalysis& analysisOf(const engine::StrategySweep& s, Phase phase)
{
    switch (phase) {
    case Phase::Prefill:
        return s.prefillScaling;
    case Phase::Decode:
        return s.decodeScaling;
    case Phase::Total:
        break;
    }
    return s.totalScaling;
}

double tokensOf(const engine::StrategySweep& s, Phase phase)
{
    switch (phase) {
    case Phase::Prefill:
        return s.promptTokens;
    case Phase::Decode:
        return s.generatedTokens;
    case Phase::Total:
        break;
    }
    return s.promptTokens + s.generatedTokens;
}

bool close(double a, double b, double relative = 1e-9)
{
    return std::abs(a - b) <= relative * std::max({ 1.0, std::abs(a), std::abs(b) });
}

// Linear interpolation of a polyline at x (the curve is sampled densely, so this is within a hair of the curve).
double interpolate(const QList<QPointF>& curve, double x)
{
    for (qsizetype i = 1; i < curve.size(); ++i) {
        if (curve[i].x() >= x - 1e-12) {
            const QPointF a = curve[i - 1], b = curve[i];
            const double t = b.x() == a.x() ? 0.0 : (x - a.x()) / (b.x() - a.x());
            return a.y() + t * (b.y() - a.y());
        }
    }
    return std::numeric_limits<double>::quiet_NaN();
}

void addPhaseRows()
{
    QTest::addColumn<Phase>("phase");
    QTest::newRow("prefill") << Phase::Prefill;
    QTest::newRow("decode") << Phase::Decode;
    QTest::newRow("total") << Phase::Total;
}

} // namespace

class TestSpeedupChart : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void showsHintInsteadOfEmptyAxesBeforeAnySweep();
    void measuredPointsAreSpeedupPerThreadCount_data() { addPhaseRows(); }
    void measuredPointsAreSpeedupPerThreadCount();
    void errorBarsSpanSpeedupLowToHigh_data() { addPhaseRows(); }
    void errorBarsSpanSpeedupLowToHigh();
    void amdahlCurveFollowsFittedSerialFraction_data() { addPhaseRows(); }
    void amdahlCurveFollowsFittedSerialFraction();
    void amdahlCurvePassesThroughPointsOfKnownSerialFraction_data();
    void amdahlCurvePassesThroughPointsOfKnownSerialFraction();
    void legendNamesStrategiesFitsAndIdealLine();
    void idealLineIsSpeedupEqualsThreads();
    void efficiencyViewIsSpeedupOverThreads_data() { addPhaseRows(); }
    void efficiencyViewIsSpeedupOverThreads();
    void throughputViewIsTokensOverMedianSeconds_data() { addPhaseRows(); }
    void throughputViewIsTokensOverMedianSeconds();
    void scaledWorkSweepShowsGustafsonAndScaledThroughput();
    void sweepWithoutBaselineHasNoSpeedupButHasThroughput();
    void switchingPhaseAndViewChangesContentAndTitle();
    void buttonsSwitchPhaseAndView();
    void clearEmptiesChartAndShowsHint();
    void secondSweepWithOtherStrategiesReplacesSeries();
    void sweepWithSameStrategiesReusesSeries();
    void xAxisLabelsTheMeasuredThreadCounts();
    void renderedChartIsNotBlank();
    void fitLeavesOutOversubscribedPointsAndSaysSo();
    void coreCountIsMarkedOnTheThreadAxis();
    void footerSaysWhetherThreadsWereReallyPinned();
    void footerNamesPartitionerAndGrain();
    void hoverShowsTimesSpeedupEfficiencyAndKarpFlatt();
    void busyMachineIsWarnedAboutIdleIsNot();
    void buttonsAndChartStayPutWhenTheViewChanges();
    void sweepDialogShowsScheduling();
    void yAxisTitleIsShortenedNotCutWhenThePlotIsLow();
    void footerCountsTheRunsEachPointReallyHas();
    void predictionIsDrawnApartAndExtendsTheAxisOnRequest();
};

void TestSpeedupChart::showsHintInsteadOfEmptyAxesBeforeAnySweep()
{
    SpeedupChart chart;
    QVERIFY(chart.showsHint());
    QVERIFY(!chart.hasSweep());
    QVERIFY(chart.seriesNames().isEmpty());
    QCOMPARE(chart.chart()->series().size(), 0);
    QVERIFY(chart.measuredPoints(QStringLiteral("intra-op")).isEmpty());

    chart.setSweep(threeStrategies());
    QVERIFY(!chart.showsHint());
}

void TestSpeedupChart::measuredPointsAreSpeedupPerThreadCount()
{
    QFETCH(Phase, phase);
    const engine::SweepResult sweep = threeStrategies();
    SpeedupChart chart;
    chart.setSweep(sweep);
    chart.setPhase(phase);
    QCOMPARE(chart.strategies(), QStringList({ "intra-op", "request", "hybrid" }));

    for (const engine::StrategySweep& s : sweep.strategies) {
        const auto& analysis = analysisOf(s, phase);
        const QList<QPointF> points = chart.measuredPoints(QString::fromStdString(s.strategy));
        QCOMPARE(points.size(), qsizetype(analysis.points.size()));
        for (size_t i = 0; i < analysis.points.size(); ++i) {
            QCOMPARE(points[i].x(), double(analysis.points[i].threads));
            QVERIFY2(close(points[i].y(), analysis.points[i].speedup), qPrintable(QString::fromStdString(s.strategy)));
        }
        QVERIFY(close(points[0].y(), 1.0)); // the baseline
    }
}

void TestSpeedupChart::errorBarsSpanSpeedupLowToHigh()
{
    QFETCH(Phase, phase);
    const engine::SweepResult sweep = threeStrategies();
    SpeedupChart chart;
    chart.setSweep(sweep);
    chart.setPhase(phase);

    for (const engine::StrategySweep& s : sweep.strategies) {
        const auto& analysis = analysisOf(s, phase);
        const QList<SpeedupChart::Bar> bars = chart.errorBars(QString::fromStdString(s.strategy));
        QCOMPARE(bars.size(), qsizetype(analysis.points.size()));
        for (size_t i = 0; i < analysis.points.size(); ++i) {
            const engine::ScalingPoint& point = analysis.points[i];
            QCOMPARE(bars[i].threads, double(point.threads));
            QVERIFY(close(bars[i].low, point.speedupLow));
            QVERIFY(close(bars[i].high, point.speedupHigh));
            QVERIFY(bars[i].low < point.speedup && point.speedup < bars[i].high);
        }
    }
}

void TestSpeedupChart::amdahlCurveFollowsFittedSerialFraction()
{
    QFETCH(Phase, phase);
    const engine::SweepResult sweep = threeStrategies();
    SpeedupChart chart;
    chart.setSweep(sweep);
    chart.setPhase(phase);

    for (const engine::StrategySweep& s : sweep.strategies) {
        const QString name = QString::fromStdString(s.strategy);
        const double serial = analysisOf(s, phase).serialFraction;
        QCOMPARE(chart.fittedSerialFraction(name), serial);
        const QList<QPointF> curve = chart.amdahlPoints(name);
        QVERIFY2(curve.size() >= 32, "the fit is drawn as a smooth curve, not a polyline through the measurements");
        QCOMPARE(curve.first().x(), 1.0);
        QCOMPARE(curve.last().x(), 4.0);
        for (const QPointF& point : curve)
            QVERIFY(close(point.y(), 1.0 / (serial + (1.0 - serial) / point.x())));
    }
}

void TestSpeedupChart::amdahlCurvePassesThroughPointsOfKnownSerialFraction_data()
{
    QTest::addColumn<double>("serial");
    QTest::newRow("s = 0.02") << 0.02;
    QTest::newRow("s = 0.15") << 0.15;
    QTest::newRow("s = 0.6") << 0.6;
}

void TestSpeedupChart::amdahlCurvePassesThroughPointsOfKnownSerialFraction()
{
    QFETCH(double, serial);
    SpeedupChart chart;
    chart.setSweep(makeSweep({ { "intra-op", 0.5, serial } }, { 1, 2, 4, 8 }));
    chart.setPhase(Phase::Decode);

    QVERIFY(close(chart.fittedSerialFraction(QStringLiteral("intra-op")), serial, 1e-9));
    const QList<QPointF> curve = chart.amdahlPoints(QStringLiteral("intra-op"));
    const QList<QPointF> measured = chart.measuredPoints(QStringLiteral("intra-op"));
    QCOMPARE(measured.size(), 4);
    for (const QPointF& point : measured)
        QVERIFY2(close(interpolate(curve, point.x()), point.y(), 2e-3),
            qPrintable(QStringLiteral("p = %1: curve %2, measured %3")
                           .arg(point.x())
                           .arg(interpolate(curve, point.x()))
                           .arg(point.y())));
}

void TestSpeedupChart::legendNamesStrategiesFitsAndIdealLine()
{
    SpeedupChart chart;
    chart.setSweep(makeSweep({ { "intra-op", 0.3, 0.12 }, { "request", 0.1, 0.4 } }));
    chart.setPhase(Phase::Decode);
    chart.setView(View::Speedup);
    const QStringList names = chart.seriesNames();
    QCOMPARE(names.size(), 5); // ideal, and per strategy: measured + fit; the error bars stay out of the legend
    QVERIFY(names.contains(QStringLiteral("intra-op")));
    QVERIFY(names.contains(QStringLiteral("request")));
    QVERIFY(names.contains(QStringLiteral("ideal S = p")));
    // No core count recorded: every p (1–4) is fitted, and the name says so.
    QVERIFY2(names.contains(QStringLiteral("intra-op Amdahl fit to p = 1–4, 4 points: s = 0.12, max 8.3×")),
        qPrintable(names.join('\n')));
    QVERIFY2(names.contains(QStringLiteral("request Amdahl fit to p = 1–4, 4 points: s = 0.40, max 2.5×")),
        qPrintable(names.join('\n')));

    chart.setView(View::Throughput);
    QCOMPARE(chart.seriesNames(), QStringList({ "intra-op", "request" }));
}

void TestSpeedupChart::idealLineIsSpeedupEqualsThreads()
{
    SpeedupChart chart;
    chart.setSweep(makeSweep({ { "intra-op", 0.3, 0.1 } }, { 1, 2, 4, 6 }));
    const QList<QPointF> ideal = chart.referencePoints();
    QVERIFY(!ideal.isEmpty());
    for (const QPointF& point : ideal)
        QCOMPARE(point.y(), point.x());
    QCOMPARE(ideal.first().x(), 1.0);
    QCOMPARE(ideal.last().x(), 6.0);
}

void TestSpeedupChart::efficiencyViewIsSpeedupOverThreads()
{
    QFETCH(Phase, phase);
    const engine::SweepResult sweep = threeStrategies();
    SpeedupChart chart;
    chart.setSweep(sweep);
    chart.setPhase(phase);
    chart.setView(View::Efficiency);

    for (const engine::StrategySweep& s : sweep.strategies) {
        const QString name = QString::fromStdString(s.strategy);
        const auto& analysis = analysisOf(s, phase);
        const QList<QPointF> points = chart.measuredPoints(name);
        QCOMPARE(points.size(), qsizetype(analysis.points.size()));
        for (size_t i = 0; i < analysis.points.size(); ++i) {
            const engine::ScalingPoint& point = analysis.points[i];
            QVERIFY(close(points[i].y(), point.speedup / point.threads));
            QVERIFY(points[i].y() <= 1.0 + 1e-12); // generated from Amdahl: never superlinear
        }
        const QList<SpeedupChart::Bar> bars = chart.errorBars(name);
        QCOMPARE(bars.size(), qsizetype(analysis.points.size()));
        QVERIFY(close(bars.last().high, analysis.points.back().speedupHigh / analysis.points.back().threads));
        QVERIFY(chart.amdahlPoints(name).isEmpty());
    }
    const QList<QPointF> reference = chart.referencePoints();
    QVERIFY(!reference.isEmpty());
    for (const QPointF& point : reference)
        QCOMPARE(point.y(), 1.0);
}

void TestSpeedupChart::throughputViewIsTokensOverMedianSeconds()
{
    QFETCH(Phase, phase);
    const engine::SweepResult sweep = threeStrategies();
    SpeedupChart chart;
    chart.setSweep(sweep);
    chart.setPhase(phase);
    chart.setView(View::Throughput);

    for (const engine::StrategySweep& s : sweep.strategies) {
        const QString name = QString::fromStdString(s.strategy);
        const auto& analysis = analysisOf(s, phase);
        const double tokens = tokensOf(s, phase);
        const QList<QPointF> points = chart.measuredPoints(name);
        const QList<SpeedupChart::Bar> bars = chart.errorBars(name);
        QCOMPARE(points.size(), qsizetype(analysis.points.size()));
        QCOMPARE(bars.size(), qsizetype(analysis.points.size()));
        for (size_t i = 0; i < analysis.points.size(); ++i) {
            const engine::ScalingPoint& point = analysis.points[i];
            QVERIFY(close(points[i].y(), tokens / point.medianSeconds));
            QVERIFY(close(bars[i].low, tokens / point.maxSeconds));
            QVERIFY(close(bars[i].high, tokens / point.minSeconds));
        }
        QVERIFY(chart.amdahlPoints(name).isEmpty());
    }
    QVERIFY(chart.referencePoints().isEmpty());
}

void TestSpeedupChart::scaledWorkSweepShowsGustafsonAndScaledThroughput()
{
    const engine::SweepResult sweep = makeSweep({ { "request", 0.1, 0.2, true } }, { 1, 2, 4 });
    const engine::StrategySweep& s = sweep.strategies.front();
    SpeedupChart chart;
    chart.setSweep(sweep);
    chart.setPhase(Phase::Decode);

    // The speedup view shows Gustafson's p·T(1)/T(p), not T(1)/T(p): with p times the work that is no speedup.
    const QList<QPointF> scaled = chart.gustafsonPoints(QStringLiteral("request"));
    QCOMPARE(scaled.size(), 3);
    QCOMPARE(chart.measuredPoints(QStringLiteral("request")), scaled);
    const double t1 = s.decodeScaling.points.front().medianSeconds;
    for (qsizetype i = 0; i < scaled.size(); ++i) {
        const engine::ScalingPoint& point = s.decodeScaling.points[size_t(i)];
        QVERIFY(close(scaled[i].y(), engine::gustafsonScaledSpeedup(t1, point.medianSeconds, point.threads)));
    }
    QVERIFY(chart.seriesNames().contains(QStringLiteral("request Gustafson scaled speedup")));
    for (const QString& name : chart.seriesNames())
        QVERIFY2(!name.contains(QStringLiteral("T(1)/T(p) at")) && !name.contains(QStringLiteral("Amdahl")),
            qPrintable(name));
    QVERIFY2(chart.amdahlPoints(QStringLiteral("request")).isEmpty(), "Amdahl's law assumes fixed work");
    QVERIFY(std::isnan(chart.fittedSerialFraction(QStringLiteral("request"))));
    QVERIFY(chart.yAxisTitle().contains(QStringLiteral("scaled")));
    QVERIFY(chart.title().contains(QStringLiteral("scaled speedup")));
    const QString tip = chart.pointToolTip(QStringLiteral("request"), 4);
    QVERIFY2(tip.contains(QStringLiteral("scaled speedup")) && tip.contains(QStringLiteral("scaled efficiency")),
        qPrintable(tip));
    QVERIFY2(!tip.contains(QStringLiteral("Karp")) && !tip.contains(QStringLiteral("Amdahl"))
            && !tip.contains(QStringLiteral("\nspeedup")),
        qPrintable(tip));

    // The efficiency view shows the scaled efficiency S(p)/p = T(1)/T(p).
    chart.setView(View::Efficiency);
    const QList<QPointF> efficiency = chart.measuredPoints(QStringLiteral("request"));
    QCOMPARE(efficiency.size(), 3);
    for (qsizetype i = 0; i < efficiency.size(); ++i)
        QVERIFY(close(efficiency[i].y(), scaled[i].y() / scaled[i].x()));
    QVERIFY(chart.seriesNames().contains(QStringLiteral("request scaled efficiency")));

    // p threads processed p copies of the workload, so the tokens grow with p.
    chart.setView(View::Throughput);
    const QList<QPointF> throughput = chart.measuredPoints(QStringLiteral("request"));
    for (qsizetype i = 0; i < throughput.size(); ++i) {
        const engine::ScalingPoint& point = s.decodeScaling.points[size_t(i)];
        QVERIFY(close(throughput[i].y(), s.generatedTokens * point.threads / point.medianSeconds));
    }
    QVERIFY(chart.gustafsonPoints(QStringLiteral("request")).isEmpty());
}

void TestSpeedupChart::sweepWithoutBaselineHasNoSpeedupButHasThroughput()
{
    SpeedupChart chart;
    chart.setSweep(makeSweep({ { "intra-op", 0.2, 0.2 } }, { 2, 4 }));
    QVERIFY(chart.measuredPoints(QStringLiteral("intra-op")).isEmpty());
    QVERIFY(chart.amdahlPoints(QStringLiteral("intra-op")).isEmpty());
    QVERIFY(std::isnan(chart.fittedSerialFraction(QStringLiteral("intra-op"))));

    chart.setView(View::Throughput);
    QCOMPARE(chart.measuredPoints(QStringLiteral("intra-op")).size(), 2);
}

void TestSpeedupChart::switchingPhaseAndViewChangesContentAndTitle()
{
    SpeedupChart chart;
    chart.setSweep(threeStrategies());
    QSignalSpy phaseSpy(&chart, &SpeedupChart::phaseChanged);
    QSignalSpy viewSpy(&chart, &SpeedupChart::viewChanged);

    chart.setPhase(Phase::Prefill);
    chart.setView(View::Speedup);
    const QList<QPointF> prefill = chart.measuredPoints(QStringLiteral("intra-op"));
    QVERIFY(chart.title().contains(QStringLiteral("Prefill")));
    QVERIFY(chart.title().contains(QStringLiteral("speedup")));

    chart.setPhase(Phase::Decode);
    const QList<QPointF> decode = chart.measuredPoints(QStringLiteral("intra-op"));
    QVERIFY(chart.title().contains(QStringLiteral("Decode")));
    QCOMPARE(prefill.size(), decode.size());
    QVERIFY(!close(prefill.last().y(), decode.last().y(), 1e-3)); // prefill s = 0.30, decode s = 0.12

    chart.setView(View::Efficiency);
    QVERIFY(chart.title().contains(QStringLiteral("efficiency")));
    QVERIFY(close(chart.measuredPoints(QStringLiteral("intra-op")).last().y(), decode.last().y() / 4));

    chart.setView(View::Throughput);
    QVERIFY(chart.title().contains(QStringLiteral("tokens/s")));

    QCOMPARE(phaseSpy.size(), 2); // Prefill, then Decode
    QCOMPARE(viewSpy.size(), 2); // Speedup was already the view: only Efficiency and Throughput count
    chart.setView(View::Throughput); // no change, no signal
    QCOMPARE(viewSpy.size(), 2);
}

void TestSpeedupChart::buttonsSwitchPhaseAndView()
{
    SpeedupChart chart;
    chart.setSweep(threeStrategies());
    const QList<QButtonGroup*> groups = chart.findChildren<QButtonGroup*>();
    QCOMPARE(groups.size(), 2);
    for (QButtonGroup* group : groups) {
        for (QAbstractButton* button : group->buttons()) {
            button->click();
            QVERIFY(button->isChecked());
        }
    }
    // The last button of each group: Total and Throughput.
    QCOMPARE(chart.phase(), Phase::Total);
    QCOMPARE(chart.view(), View::Throughput);

    chart.setPhase(Phase::Prefill); // and the buttons follow the API
    for (QButtonGroup* group : groups)
        if (group->buttons().size() == 3 && group->button(0)->text() == QStringLiteral("Prefill"))
            QVERIFY(group->button(0)->isChecked());
}

void TestSpeedupChart::clearEmptiesChartAndShowsHint()
{
    SpeedupChart chart;
    chart.setSweep(threeStrategies());
    QVERIFY(!chart.chart()->series().isEmpty());
    chart.clear();
    QVERIFY(chart.showsHint());
    QVERIFY(!chart.hasSweep());
    QCOMPARE(chart.chart()->series().size(), 0);
    QVERIFY(chart.seriesNames().isEmpty());
    QVERIFY(chart.strategies().isEmpty());
    QVERIFY(chart.measuredPoints(QStringLiteral("intra-op")).isEmpty());

    chart.setSweep(threeStrategies()); // usable again after clear()
    QCOMPARE(chart.measuredPoints(QStringLiteral("intra-op")).size(), 4);
}

void TestSpeedupChart::secondSweepWithOtherStrategiesReplacesSeries()
{
    SpeedupChart chart;
    chart.setSweep(threeStrategies());
    const qsizetype before = chart.chart()->series().size();

    chart.setSweep(makeSweep({ { "pipeline", 0.3, 0.3 } }, { 1, 2 }));
    QCOMPARE(chart.strategies(), QStringList({ "pipeline" }));
    QVERIFY(chart.measuredPoints(QStringLiteral("intra-op")).isEmpty());
    QCOMPARE(chart.measuredPoints(QStringLiteral("pipeline")).size(), 2);
    for (const QString& name : chart.seriesNames())
        QVERIFY2(!name.startsWith(QStringLiteral("intra-op")) && !name.startsWith(QStringLiteral("request"))
                && !name.startsWith(QStringLiteral("hybrid")),
            qPrintable(name));
    // ideal + core mark + 2 bars + measured + fit + prediction: nothing of the first sweep is left behind.
    QCOMPARE(chart.chart()->series().size(), 7);
    QVERIFY(chart.chart()->series().size() < before);
}

void TestSpeedupChart::sweepWithSameStrategiesReusesSeries()
{
    SpeedupChart chart;
    chart.setSweep(makeSweep({ { "intra-op", 0.3, 0.1 }, { "request", 0.1, 0.3 } }));
    const QList<QAbstractSeries*> before = chart.chart()->series();

    // Same strategies and thread counts, new numbers: the series stay and their points are replaced.
    const engine::SweepResult second = makeSweep({ { "intra-op", 0.5, 0.5 }, { "request", 0.05, 0.05 } });
    chart.setSweep(second);
    QCOMPARE(chart.chart()->series(), before);
    const QList<QPointF> points = chart.measuredPoints(QStringLiteral("intra-op"));
    QVERIFY(close(points.last().y(), second.strategies[0].decodeScaling.points.back().speedup));
    QVERIFY(close(chart.fittedSerialFraction(QStringLiteral("intra-op")), 0.5));
}

void TestSpeedupChart::xAxisLabelsTheMeasuredThreadCounts()
{
    SpeedupChart chart;
    chart.setSweep(makeSweep({ { "intra-op", 0.3, 0.1 } }, { 1, 2, 4, 8 }));
    const QList<QAbstractAxis*> axes = chart.chart()->axes(Qt::Horizontal);
    QCOMPARE(axes.size(), 1);
    auto* axis = qobject_cast<QCategoryAxis*>(axes.front());
    QVERIFY(axis);
    QCOMPARE(axis->categoriesLabels(), QStringList({ "1", "2", "4", "8" }));
    QVERIFY(axis->min() < 1.0 && axis->max() > 8.0);
}

void TestSpeedupChart::renderedChartIsNotBlank()
{
    SpeedupChart chart;
    chart.resize(1200, 700);
    chart.setSweep(threeStrategies());
    QImage image(1200, 700, QImage::Format_ARGB32);
    image.fill(Qt::white);
    chart.render(&image);

    // A blank or hint-only image has a handful of colours; a drawn chart has the strategy colours on many pixels.
    std::set<QRgb> colours;
    int blue = 0, vermillion = 0, nonWhite = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            const QRgb c = image.pixel(x, y);
            colours.insert(c);
            if (c != qRgb(255, 255, 255))
                ++nonWhite;
            if (c == qRgb(0x00, 0x72, 0xB2))
                ++blue;
            if (c == qRgb(0xD5, 0x5E, 0x00))
                ++vermillion;
        }
    }
    QVERIFY2(colours.size() > 50, qPrintable(QString::number(colours.size())));
    QVERIFY2(nonWhite > 20000, qPrintable(QString::number(nonWhite)));
    QVERIFY2(blue > 300, qPrintable(QString::number(blue)));
    QVERIFY2(vermillion > 300, qPrintable(QString::number(vermillion)));
}

// One strategy at p = 1, 2, 4 on a machine recorded with 2 logical cores; decode follows Amdahl with s = 0.12 up to
// p = 2, and p = 4 is slower than Amdahl predicts (time-sharing): T(4) = T(2).
engine::SweepResult oversubscribedSweep(const nlohmann::json& workload = nlohmann::json::object())
{
    engine::SweepResult r = makeSweep({ { "intra-op", 0.3, 0.12 } }, { 1, 2, 4 }, 0.0);
    engine::StrategySweep& s = r.strategies[0];
    s.decode.back().seconds = s.decode[1].seconds;
    s.total.back().seconds = s.total[1].seconds;
    r.machine = { { "cpu", "Test CPU" }, { "logical_cores", 2 } };
    r.workload = workload;
    engine::analyzeSweep(r);
    return r;
}

void TestSpeedupChart::fitLeavesOutOversubscribedPointsAndSaysSo()
{
    SpeedupChart chart;
    chart.setSweep(oversubscribedSweep());
    chart.setPhase(Phase::Decode);
    chart.setView(View::Speedup);
    // Fitted to p = 2 alone the serial fraction is the generating 0.12 (Karp–Flatt of that point), not dragged up by
    // p = 4: S(2) = 1/(0.12 + 0.88/2) = 1/0.56, and (0.56 − 0.5)/0.5 = 0.12.
    QVERIFY(close(chart.fittedSerialFraction(QStringLiteral("intra-op")), 0.12, 1e-9));
    const QStringList names = chart.seriesNames();
    QVERIFY2(names.contains(QStringLiteral("intra-op Amdahl fit to p = 1–2, 2 points (exact, not evidence): s = 0.12, "
                                           "max 8.3×")),
        qPrintable(names.join('\n')));
    QVERIFY2(names.contains(QStringLiteral("2 logical cores: more threads share cores, not fitted")),
        qPrintable(names.join('\n')));
    // The oversubscribed point is still drawn.
    QCOMPARE(chart.measuredPoints(QStringLiteral("intra-op")).size(), 3);
    QVERIFY(close(chart.measuredPoints(QStringLiteral("intra-op"))[2].y(), 1.0 / 0.56, 1e-9));
}

void TestSpeedupChart::coreCountIsMarkedOnTheThreadAxis()
{
    SpeedupChart chart;
    chart.setSweep(oversubscribedSweep());
    QCOMPARE(chart.threadAxisLabels(), QStringList({ "1", "2 = cores", "4" }));
    QCOMPARE(chart.coreMark(), 2);
    QVERIFY(chart.seriesNames().contains(QStringLiteral("2 logical cores: more threads share cores, not fitted")));
    // A sweep that stays below the cores has no line to draw: 8 cores, p up to 4.
    engine::SweepResult below = makeSweep({ { "intra-op", 0.3, 0.12 } });
    below.machine = { { "logical_cores", 8 } };
    engine::analyzeSweep(below);
    chart.setSweep(below);
    QCOMPARE(chart.coreMark(), 0);
    QCOMPARE(chart.threadAxisLabels(), QStringList({ "1", "2", "3", "4" }));
}

void TestSpeedupChart::footerSaysWhetherThreadsWereReallyPinned()
{
    SpeedupChart chart;
    chart.setSweep(oversubscribedSweep({ { "pin_threads", false }, { "threads", { 1, 2, 4 } } }));
    QVERIFY2(chart.caption().contains(QStringLiteral("threads not pinned")), qPrintable(chart.caption()));
    QVERIFY(!chart.caption().contains(QStringLiteral("threads pinned")));

    chart.setSweep(
        oversubscribedSweep({ { "pin_threads", true }, { "threads", { 1, 2, 4 } }, { "pinned_threads", { 1, 2 } } }));
    QVERIFY2(
        chart.caption().contains(QStringLiteral("threads pinned at p = 1, 2, not at p = 4 (more threads than CPUs)")),
        qPrintable(chart.caption()));

    chart.setSweep(
        oversubscribedSweep({ { "pin_threads", true }, { "threads", { 1, 2 } }, { "pinned_threads", { 1, 2 } } }));
    QVERIFY2(chart.caption().startsWith(QStringLiteral("threads pinned  ·  ")), qPrintable(chart.caption()));
}

void TestSpeedupChart::footerNamesPartitionerAndGrain()
{
    SpeedupChart chart;
    chart.setSweep(oversubscribedSweep({ { "partitioner", "static" }, { "grain", 8 }, { "pin_threads", false } }));
    QVERIFY2(chart.caption().contains(QStringLiteral("partitioner static, grain 8")), qPrintable(chart.caption()));
    QVERIFY(chart.caption().contains(QStringLiteral("Test CPU, 2 logical cores")));
}

void TestSpeedupChart::hoverShowsTimesSpeedupEfficiencyAndKarpFlatt()
{
    SpeedupChart chart;
    chart.setSweep(oversubscribedSweep());
    chart.setPhase(Phase::Decode);
    // Decode T(p) = 2 (0.12 + 0.88/p) with no spread: T(1) = 2 s, T(2) = 1.12 s, T(4) = T(2).
    const QString two = chart.pointToolTip(QStringLiteral("intra-op"), 2);
    QVERIFY2(two.contains(QStringLiteral("intra-op, p = 2 (decode)")), qPrintable(two));
    QVERIFY2(two.contains(QStringLiteral("median 1.120 s (min 1.120 s – max 1.120 s, 3 runs)")), qPrintable(two));
    QVERIFY2(two.contains(QStringLiteral("speedup 1.79× (1.79–1.79)")), qPrintable(two)); // 2/1.12
    QVERIFY2(two.contains(QStringLiteral("efficiency 0.89")), qPrintable(two)); // 2/1.12/2
    QVERIFY2(two.contains(QStringLiteral("Karp–Flatt serial fraction e = 0.120")), qPrintable(two));
    QVERIFY(!two.contains(QStringLiteral("not in the Amdahl fit")));
    // p = 4: S = 1/0.56, e = (0.56 − 0.25)/0.75 = 0.413.
    const QString four = chart.pointToolTip(QStringLiteral("intra-op"), 4);
    QVERIFY2(four.contains(QStringLiteral("efficiency 0.45")), qPrintable(four));
    QVERIFY2(four.contains(QStringLiteral("Karp–Flatt serial fraction e = 0.413")), qPrintable(four));
    QVERIFY2(four.contains(QStringLiteral("not in the Amdahl fit: more threads than the 2 logical cores")),
        qPrintable(four));
    QVERIFY(chart.pointToolTip(QStringLiteral("intra-op"), 1).contains(QStringLiteral("undefined at p = 1")));

    // Moving the mouse onto a point's marker shows its text; moving away hides it.
    chart.resize(1000, 700);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    QLineSeries* measured = nullptr;
    for (QAbstractSeries* series : chart.chart()->series())
        if (series->name() == QStringLiteral("intra-op"))
            measured = qobject_cast<QLineSeries*>(series);
    QVERIFY(measured);
    auto* view = chart.findChild<QChartView*>();
    QVERIFY(view);
    auto moveTo = [view](QPointF position) {
        QMouseEvent move(QEvent::MouseMove, position, view->viewport()->mapToGlobal(position), Qt::NoButton,
            Qt::NoButton, Qt::NoModifier);
        QCoreApplication::sendEvent(view->viewport(), &move);
    };
    const QPointF pointFour = measured->points().at(2);
    QCOMPARE(pointFour.x(), 4.0);
    const QPoint onScreen
        = view->mapFromScene(chart.chart()->mapToScene(chart.chart()->mapToPosition(pointFour, measured)));
    moveTo(onScreen + QPointF(4, -3)); // near the marker, not on its centre
    QCOMPARE(chart.hoverText(), four);
    // Qt's tooltip event after the hover delay shows the same text.
    const QPoint near = onScreen + QPoint(4, -3);
    QHelpEvent help(QEvent::ToolTip, near, view->viewport()->mapToGlobal(near));
    QCoreApplication::sendEvent(view->viewport(), &help);
    QTRY_COMPARE(QToolTip::text(), four);
    moveTo(onScreen + QPointF(0, 80));
    QVERIFY(chart.hoverText().isEmpty());
}

void TestSpeedupChart::busyMachineIsWarnedAboutIdleIsNot()
{
    SpeedupChart chart;
    engine::SweepResult r = oversubscribedSweep();
    r.backgroundLoad = { true, 0.02, 0.01, 2, 4.0 };
    chart.setSweep(r);
    QVERIFY(chart.warning().isEmpty());

    r.backgroundLoad = { true, 0.93, 0.465, 2, 4.0 };
    r.strategies[0].backgroundLoads = { { 1, { true, 0.1, 0.05, 2, 1.0 } }, { 2, { true, 1.4, 0.7, 2, 1.5 } } };
    chart.setSweep(r);
    QVERIFY2(chart.warning().contains(QStringLiteral("other processes kept 0.93 of 2 CPUs busy during this sweep")),
        qPrintable(chart.warning()));
    QVERIFY2(chart.warning().contains(QStringLiteral("Busy during: intra-op at p = 2.")), qPrintable(chart.warning()));
    QVERIFY(chart.pointToolTip(QStringLiteral("intra-op"), 2)
                .contains(QStringLiteral("other processes: 1.40 of 2 CPUs busy (disturbed)")));
}

void TestSpeedupChart::buttonsAndChartStayPutWhenTheViewChanges()
{
    SpeedupChart chart;
    chart.resize(1000, 640);
    chart.setSweep(threeStrategies());
    chart.setView(View::Speedup);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    const QList<QButtonGroup*> groups = chart.findChildren<QButtonGroup*>();
    QAbstractButton* button = groups.front()->button(0);
    auto* view = chart.findChild<QChartView*>();
    QVERIFY(view);
    QCoreApplication::processEvents();
    const QPoint buttonAt = button->mapTo(&chart, QPoint(0, 0));
    const QRect viewAt = view->geometry();
    // In the window a change of the chart's minimum height moves the splitter, and with it the buttons.
    const int minimumHeight = chart.minimumSizeHint().height();
    for (View v : { View::Efficiency, View::Throughput, View::Speedup }) {
        chart.setView(v);
        QCoreApplication::processEvents();
        QCOMPARE(chart.minimumSizeHint().height(), minimumHeight);
        QCOMPARE(button->mapTo(&chart, QPoint(0, 0)), buttonAt);
        QCOMPARE(view->geometry(), viewAt);
    }
}

void TestSpeedupChart::sweepDialogShowsScheduling()
{
    ui::SweepDialog dialog;
    engine::SchedulerOptions options;
    options.partitioner = engine::Partitioner::Static;
    options.grain = 8;
    options.pinThreads = false;
    dialog.setScheduling(options);
    QVERIFY2(dialog.schedulingText().contains(QStringLiteral("partitioner static, grain 8, threads not pinned")),
        qPrintable(dialog.schedulingText()));
    QVERIFY(
        dialog.schedulingText().contains(QStringLiteral("%1 logical cores").arg(engine::Scheduler::hardwareThreads())));
}

void TestSpeedupChart::yAxisTitleIsShortenedNotCutWhenThePlotIsLow()
{
    SpeedupChart chart;
    chart.setSweep(threeStrategies());
    chart.setView(View::Speedup);
    chart.resize(1000, 800);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    QTRY_COMPARE(chart.yAxisTitle(), QStringLiteral("speedup T(1)/T(p)"));
    // Whatever the height, the title shown fits the plot in the axis title font (or is the shortest there is).
    const QFont font = chart.chart()->axes(Qt::Vertical).front()->titleFont();
    for (int height : { 800, 420, 330 }) {
        chart.resize(1000, height);
        QTRY_VERIFY2(QFontMetrics(font).horizontalAdvance(chart.yAxisTitle()) <= chart.chart()->plotArea().height()
                || chart.yAxisTitle() == QStringLiteral("S(p)"),
            qPrintable(QStringLiteral("%1 in %2 px").arg(chart.yAxisTitle()).arg(chart.chart()->plotArea().height())));
    }
    // And the tick labels have room (Qt Charts shows "…" for labels closer than their height): at most one tick
    // per 30 px of plot.
    chart.setView(View::Throughput);
    auto* axisY = qobject_cast<QValueAxis*>(chart.chart()->axes(Qt::Vertical).front());
    QVERIFY(axisY);
    QTRY_VERIFY2((axisY->tickCount() - 1) * 30 <= chart.chart()->plotArea().height(),
        qPrintable(
            QStringLiteral("%1 ticks in %2 px").arg(axisY->tickCount()).arg(chart.chart()->plotArea().height())));
    chart.setView(View::Efficiency);
    QVERIFY(
        chart.yAxisTitle().startsWith(QStringLiteral("efficiency")) || chart.yAxisTitle() == QStringLiteral("E(p)"));
}

// A cancelled sweep's last point can have fewer runs than the sweep asked for: the footer says what the
// points hold, not what was asked, and that the sweep is partial.
void TestSpeedupChart::footerCountsTheRunsEachPointReallyHas()
{
    SpeedupChart chart;
    engine::SweepResult full = makeSweep({ { "intra-op", 0.3, 0.12 } }, { 1, 2 });
    full.workload = { { "repeat", 3 } };
    chart.setSweep(full);
    QVERIFY2(chart.caption().contains(QStringLiteral("median and min–max of 3 runs per point")),
        qPrintable(chart.caption()));
    QVERIFY(!chart.caption().contains(QStringLiteral("partial")));

    engine::SweepResult cancelled = makeSweep({ { "intra-op", 0.3, 0.12 } }, { 1, 2 });
    cancelled.strategies[0].decode[1].seconds.resize(1); // p = 2 stopped after one run
    cancelled.strategies[0].total[1].seconds.resize(1);
    cancelled.strategies[0].prefill[1].seconds.resize(1);
    engine::analyzeSweep(cancelled);
    cancelled.workload = { { "repeat", 10 }, { "cancelled", true } };
    chart.setSweep(cancelled);
    QVERIFY2(chart.caption().contains(QStringLiteral("median and min–max of 1–3 runs per point")),
        qPrintable(chart.caption()));
    QVERIFY(chart.caption().contains(QStringLiteral("cancelled: partial")));
    QVERIFY(!chart.caption().contains(QStringLiteral("10 runs")));
}

void TestSpeedupChart::predictionIsDrawnApartAndExtendsTheAxisOnRequest()
{
    engine::SweepResult sweep = makeSweep({ { "intra-op", 0.3, 0.12 }, { "request", 0.05, 0.4 } }, { 1, 2 });
    // A prediction by hand: decode 1.8 s at 1 thread, 1.0 s at 2, 0.5 s at 8; prefill 0.4, 0.25, 0.1 s.
    engine::ScalingPrediction& prediction = sweep.strategies[0].prediction;
    prediction.available = true;
    prediction.measuredThreads = 2;
    for (auto [p, pre, dec] : { std::tuple { 1, 400.0, 1800.0 }, { 2, 250.0, 1000.0 }, { 8, 100.0, 500.0 } }) {
        engine::PredictionPoint point;
        point.threads = p;
        point.prefillMs = pre;
        point.decodeMs = dec;
        prediction.points.push_back(point);
    }
    SpeedupChart chart;
    chart.resize(900, 600);
    chart.setSweep(sweep);
    chart.setPhase(Phase::Decode);
    chart.setView(View::Speedup);
    // The measured median T(1) of decode is 2.0 · (s + (1 − s)) = 2.0 s: the curve is that over the predicted times,
    // within the measured range (p <= 2) until asked to extend.
    QList<QPointF> points = chart.predictedPoints(QStringLiteral("intra-op"));
    QCOMPARE(points.size(), 2);
    QCOMPARE(points[0], QPointF(1, 2.0 / 1.8));
    QCOMPARE(points[1], QPointF(2, 2.0 / 1.0));
    QVERIFY(chart.predictedPoints(QStringLiteral("request")).isEmpty());
    bool named = false;
    for (const QString& name : chart.seriesNames())
        named = named || (name.contains(QStringLiteral("predicted")) && name.contains(QStringLiteral("a model")));
    QVERIFY2(named, qPrintable(chart.seriesNames().join(QLatin1Char('|'))));
    QVERIFY(!chart.threadAxisLabels().contains(QStringLiteral("8")));

    chart.setShowPrediction(true);
    points = chart.predictedPoints(QStringLiteral("intra-op"));
    QCOMPARE(points.size(), 3);
    QCOMPARE(points[2], QPointF(8, 2.0 / 0.5));
    QVERIFY(chart.threadAxisLabels().contains(QStringLiteral("8")));
    // Efficiency: speedup over P.
    chart.setView(View::Efficiency);
    QCOMPARE(chart.predictedPoints(QStringLiteral("intra-op"))[2], QPointF(8, 2.0 / 0.5 / 8));
    // The measured points are unchanged by the prediction.
    chart.setView(View::Speedup);
    QCOMPARE(chart.measuredPoints(QStringLiteral("intra-op")).size(), 2);
}

QTEST_MAIN(TestSpeedupChart)
#include "test_speedupchart.moc"
