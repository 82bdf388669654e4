// The window's explanation of a run: the Why panel shows the report's shares and reading, the roofline chart one
// point per modelled op and phase under the machine's two ceilings, and a click on a timeline chunk selects the
// region around it. Every expected figure is computed here from the engine's report, not typed in.
#include "engine/measure/analysis.h"
#include "engine/model/synthetic.h"
#include "testsupport.h"
#include "ui/rooflinechart.h"
#include "ui/timelineview.h"
#include "ui/whypanel.h"

#include <QChart>
#include <QChartView>
#include <QLineSeries>
#include <QScatterSeries>
#include <QSignalSpy>
#include <QtTest>

#include <memory>

using namespace ui;

namespace {

struct TracedRun {
    std::shared_ptr<const engine::Model> model;
    engine::RunResult run;
    engine::RunReport report;
};

// A short traced intra-op run of the synthetic "tiny" model on two threads, analysed against made-up ceilings.
const TracedRun& tracedRun()
{
    static const TracedRun r = [] {
        TracedRun t;
        t.model = engine::makeSyntheticModel("tiny");
        engine::RunRequest request;
        request.prompts = { "The quick brown fox jumps over the lazy dog" };
        request.maxTokens = 12;
        request.scheduler.threads = 2;
        request.trace = true;
        t.run = engine::executeRun(t.model, request);
        t.report = engine::buildRunReport(t.run, *t.model, testsupport::fakeMachinePeaks(), { 4 });
        return t;
    }();
    return r;
}

} // namespace

class TestWhyPanel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void beforeAnyRunItSaysWhatItWillShow()
    {
        WhyPanel panel;
        QVERIFY(panel.text().contains(QStringLiteral("After a run")));
        RooflineChart chart;
        QCOMPARE(chart.points(engine::Phase::Prefill)->count(), 0);
        QCOMPARE(chart.bandwidthLine()->count(), 0);
    }

    void anUntracedRunSaysSo()
    {
        WhyPanel panel;
        engine::RunReport report; // analysis.valid is false: nothing was traced
        panel.setReport(report);
        QVERIFY(panel.text().contains(QStringLiteral("not traced")));
        QVERIFY(!panel.report().has_value());
    }

    void showsEachPhasesSharesSerialFractionAndReading()
    {
        const engine::RunReport& report = tracedRun().report;
        QVERIFY(report.analysis.valid);
        WhyPanel panel;
        panel.resize(900, 400);
        panel.setReport(report);
        const QString text = panel.text();
        for (const engine::TimeBreakdown* t : { &report.analysis.prefill, &report.analysis.decode }) {
            QVERIFY(t->wallNs > 0);
            QVERIFY(t->laneNs > 0);
            for (int64_t part :
                { t->busyNs, t->idle.serial, t->idle.overhead, t->idle.imbalance, t->idle.untraced, t->idle.disturbed })
                QVERIFY2(text.contains(percentText(part, t->laneNs)), qPrintable(percentText(part, t->laneNs)));
            const QString serial = QString::number(100.0 * t->serialFraction(), 'f', 1) + QLatin1Char('%');
            QVERIFY2(text.contains(serial), qPrintable(serial));
        }
        // Hovering a bar names its phase, part and share.
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const QRect bars = panel.barsGeometry();
        QVERIFY(bars.isValid());
        const QString tip = panel.barTipAt(QPoint(bars.left() + bars.width() / 2 - 1, bars.top() + 4));
        QVERIFY2(tip.contains(QStringLiteral("prefill")), qPrintable(tip));
        const engine::TimeBreakdown& pre = report.analysis.prefill;
        bool named = false;
        for (int64_t part : { pre.busyNs, pre.idle.serial, pre.idle.overhead, pre.idle.imbalance, pre.idle.untraced,
                 pre.idle.disturbed })
            named = named || tip.contains(percentText(part, pre.laneNs));
        QVERIFY2(named, qPrintable(tip));
        QVERIFY(panel.barTipAt(QPoint(bars.left() + 1, bars.bottom() + 50)).isEmpty());
        for (const std::string& line : engine::readRunReport(report))
            QVERIFY(text.contains(QString::fromStdString(line).toHtmlEscaped()));
        QVERIFY(!text.contains(QStringLiteral("stopped")));
        panel.setReport(report, true);
        QVERIFY(panel.text().contains(QStringLiteral("the run was stopped")));
        QCOMPARE(percentText(1, 8), QStringLiteral("12.5%"));
        QCOMPARE(percentText(1, 0), QStringLiteral("0.0%"));
    }

    void aRequestParallelRunHasNoSerialSectionsOrAmdahlLimit()
    {
        // Two lanes, decode as one task period [0,300): lane 0 works [0,100) and [200,300), lane 1 [120,180); lane 0
        // works alone most of the time, which the panel must not call serial.
        engine::TraceEvent a, b, c;
        a.worker = 0, a.beginNs = 0, a.endNs = 100;
        b.worker = 0, b.beginNs = 200, b.endNs = 300;
        c.worker = 1, c.beginNs = 120, c.endNs = 180;
        for (engine::TraceEvent* e : { &a, &b, &c })
            e->op = engine::Op::AttnQ;
        engine::RunReport report;
        report.analysis.valid = true;
        report.analysis.decode = engine::analyzeLaneTime({ a, b, c }, 2, 0, 300, { { 0, 300 } });
        report.analysis.total = report.analysis.decode;
        report.strategy = engine::Strategy::Request;
        report.threads = 2;
        report.sequences = 2;
        WhyPanel panel;
        panel.resize(900, 400);
        panel.setReport(report);
        const QString text = panel.text();
        const engine::TimeBreakdown& t = report.analysis.decode;
        QVERIFY(t.idle.imbalance > 0 && t.idle.overhead > 0);
        QVERIFY2(
            text.contains(QStringLiteral("imbalance ") + percentText(t.idle.imbalance, t.laneNs)), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("waiting ") + percentText(t.idle.overhead, t.laneNs)), qPrintable(text));
        QVERIFY2(!text.contains(QStringLiteral("serial 0.0%")), qPrintable(text));
        QVERIFY2(!text.contains(QStringLiteral("stretched (preempted?) 0.0%")), qPrintable(text));
        QVERIFY2(!text.contains(QStringLiteral("Serial fraction from the trace")), qPrintable(text));
        QVERIFY2(!text.contains(QStringLiteral("Amdahl's law no thread count")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("no serial fraction or Amdahl limit")), qPrintable(text));
        // The bar's middle part is named for what it is here.
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const QRect bars = panel.barsGeometry();
        bool waiting = false;
        for (int x = bars.left(); x < bars.right(); x += 2)
            waiting = waiting || panel.barTipAt(QPoint(x, bars.top() + 4)).contains(QStringLiteral("waiting"));
        QVERIFY(waiting);
    }

    void rooflineHasOnePointPerModelledOpAndPhaseUnderTheTwoCeilings()
    {
        const engine::RunReport& report = tracedRun().report;
        RooflineChart chart;
        chart.resize(800, 400);
        chart.setReport(report);
        for (engine::Phase phase : { engine::Phase::Prefill, engine::Phase::Decode }) {
            QStringList ops;
            for (const engine::OpStats& s : report.ops)
                if (s.phase == phase && s.modelled && s.intensity() > 0 && s.gflops() > 0)
                    ops << QString::fromLatin1(engine::opName(s.op));
            QVERIFY(!ops.isEmpty());
            const QScatterSeries* points = chart.points(phase);
            QCOMPARE(points->count(), ops.size());
            for (int i = 0; i < points->count(); ++i) {
                const QString tip = chart.pointDescription(phase, i);
                QVERIFY2(tip.contains(ops[i]), qPrintable(tip));
                QVERIFY(tip.contains(QString::fromLatin1(engine::phaseName(phase))));
                QVERIFY(tip.contains(QStringLiteral("bound")));
            }
        }
        const engine::MachinePeaks& m = report.machine;
        const double bandwidth = m.bandwidthGBps(report.threads);
        const double peak = m.peakGflops(report.threads);
        QCOMPARE(chart.bandwidthLine()->count(), 2);
        for (const QPointF& p : chart.bandwidthLine()->points())
            QVERIFY(qFuzzyCompare(p.y(), bandwidth * p.x()));
        QCOMPARE(chart.computeLine()->count(), 2);
        for (const QPointF& p : chart.computeLine()->points())
            QVERIFY(qFuzzyCompare(p.y(), peak));
        // The roof bends at the ridge point.
        QVERIFY(qFuzzyCompare(chart.computeLine()->at(0).x(), m.ridge(report.threads)));
        QVERIFY(qFuzzyCompare(chart.bandwidthLine()->at(1).x(), m.ridge(report.threads)));
        QVERIFY(chart.machineText().contains(QString::number(bandwidth, 'f', 1)));
        QVERIFY(chart.machineText().contains(QStringLiteral("measured now")));

        // Hovering a point shows its op: the tip at a point's pixel is that point's description.
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        QScatterSeries* decode = chart.points(engine::Phase::Decode);
        const QPointF scene = chart.chart()->mapToScene(chart.chart()->mapToPosition(decode->at(0), decode));
        const QPoint pixel = chart.view()->mapFromScene(scene);
        const QString tip = chart.tipAt(pixel);
        QVERIFY2(!tip.isEmpty(), "no tip at the point");
        QVERIFY(tip.contains(QStringLiteral("decode")));
        QVERIFY(chart.tipAt(QPoint(1, 1)).isEmpty());
    }

    void clickingATimelineChunkSelectsItsRegion()
    {
        const TracedRun& r = tracedRun();
        // A chunk of a parallel loop (on whichever lane ran one: the partitioner may leave a lane idle in a run this
        // short), and the innermost region span around it.
        const engine::TraceEvent* chunk = nullptr;
        std::optional<engine::TraceEvent> expected;
        for (const engine::TraceEvent& e : r.run.trace) {
            if (engine::isMarker(e.op) || e.durationNs() <= 0 || e.op == engine::Op::Serial)
                continue;
            for (const engine::TraceEvent& s : r.run.trace)
                if (engine::isRegionSpan(s.op) && s.beginNs <= e.beginNs && s.endNs >= e.endNs
                    && (!expected || s.durationNs() < expected->durationNs()))
                    expected = s;
            if (expected) {
                chunk = &e;
                break;
            }
        }
        QVERIFY(chunk);
        QVERIFY(expected);

        TimelineView view;
        view.resize(900, 320);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setLaneCount(2);
        view.appendEvents(r.run.trace);
        QCOMPARE(view.data().regions().size(),
            size_t(std::count_if(r.run.trace.begin(), r.run.trace.end(),
                [](const engine::TraceEvent& e) { return engine::isRegionSpan(e.op); })));
        const int64_t d = chunk->durationNs();
        view.setVisibleRange(chunk->beginNs - d, chunk->endNs + d);
        const QPoint at(int(view.timeToX(chunk->beginNs + d / 2)), view.laneRect(chunk->worker).center().y());
        QCOMPARE(view.eventAt(at)->beginNs, chunk->beginNs);

        QSignalSpy selected(&view, &TimelineView::regionSelected);
        QTest::mouseClick(&view, Qt::LeftButton, {}, at);
        QCOMPARE(selected.count(), 1);
        QVERIFY(view.selectedRegion());
        QCOMPARE(view.selectedRegion()->beginNs, expected->beginNs);
        QCOMPARE(view.selectedRegion()->endNs, expected->endNs);

        // The panel shows the region's figures from the engine's accounting of its window.
        WhyPanel panel;
        panel.setReport(r.report);
        panel.showRegion(*view.selectedRegion(), *chunk, r.run.trace);
        const engine::TimeBreakdown t
            = engine::analyzeLaneTime(r.run.trace, r.report.threads, expected->beginNs, expected->endNs);
        const QString region = panel.regionText();
        QVERIFY2(region.contains(QString::fromLatin1(engine::opName(chunk->op))), qPrintable(region));
        for (const QString& figure :
            { formatDuration(t.wallNs), formatDuration(t.busyNs), percentText(t.busyNs, t.laneNs),
                percentText(t.idle.imbalance, t.laneNs), percentText(t.idle.overhead, t.laneNs) })
            QVERIFY2(region.contains(figure), qPrintable(figure + QStringLiteral(" in ") + region));
        QVERIFY(region.contains(QStringLiteral("-bound")) || region.contains(QStringLiteral("not modelled")));

        // A click on empty space clears the selection.
        QSignalSpy cleared(&view, &TimelineView::selectionCleared);
        QTest::mouseClick(&view, Qt::LeftButton, {}, QPoint(view.plotRect().left() + 2, view.laneRect(1).bottom() + 3));
        QTRY_COMPARE(cleared.count(), 1);
        QVERIFY(!view.selectedRegion());
    }
};

QTEST_MAIN(TestWhyPanel)
#include "test_whypanel.moc"
