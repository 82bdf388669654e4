// SpeedupChart: the series drawn after a sweep match the sweep's analysis, in every phase and view.
#include "ui/speedupchart.h"

#include <QAbstractButton>
#include <QButtonGroup>
#include <QCategoryAxis>
#include <QChart>
#include <QImage>
#include <QLineSeries>
#include <QSignalSpy>
#include <QtTest>

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
    QVERIFY2(names.contains(QStringLiteral("intra-op Amdahl fit (s = 0.12, max 8.3×)")), qPrintable(names.join('\n')));
    QVERIFY2(names.contains(QStringLiteral("request Amdahl fit (s = 0.40, max 2.5×)")), qPrintable(names.join('\n')));

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

    const QList<QPointF> scaled = chart.gustafsonPoints(QStringLiteral("request"));
    QCOMPARE(scaled.size(), 3);
    const double t1 = s.decodeScaling.points.front().medianSeconds;
    for (qsizetype i = 0; i < scaled.size(); ++i) {
        const engine::ScalingPoint& point = s.decodeScaling.points[size_t(i)];
        QVERIFY(close(scaled[i].y(), engine::gustafsonScaledSpeedup(t1, point.medianSeconds, point.threads)));
    }
    QVERIFY(chart.seriesNames().contains(QStringLiteral("request Gustafson scaled speedup")));
    QVERIFY(chart.seriesNames().contains(QStringLiteral("request T(1)/T(p) at p× work")));
    QVERIFY2(chart.amdahlPoints(QStringLiteral("request")).isEmpty(), "Amdahl's law assumes fixed work");

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
    // ideal + 2 bars + measured + fit: nothing of the first sweep is left behind.
    QCOMPARE(chart.chart()->series().size(), 5);
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

QTEST_MAIN(TestSpeedupChart)
#include "test_speedupchart.moc"
