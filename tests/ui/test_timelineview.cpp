// The timeline: time <-> pixel mapping under zoom and pan, aggregation that accounts for every event, hover
// lookup, token highlight, out-of-order appends, and painting (a million events; a small trace's pixels).
#include "engine/measure/traceexport.h"
#include "ui/statstable.h"
#include "ui/timelinedata.h"
#include "ui/timelineview.h"

#include <QElapsedTimer>
#include <QImage>
#include <QSignalSpy>
#include <QTableWidget>
#include <QtTest>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>

using engine::Op;
using engine::TraceEvent;

namespace {

TraceEvent ev(
    int worker, int64_t begin, int64_t end, Op op = Op::FfnDown, int sequence = 0, int position = 0, int tokens = 1)
{
    TraceEvent e;
    e.worker = int16_t(worker);
    e.beginNs = begin;
    e.endNs = end;
    e.op = op;
    e.sequence = int16_t(sequence);
    e.position = position;
    e.tokens = uint8_t(tokens);
    e.layer = 2;
    e.first = 0;
    e.last = 64;
    return e;
}

// Random well-formed lanes: chunks with gaps, some with chunks nested inside them (nested parallelism).
std::vector<TraceEvent> randomTrace(int lanes, int perLane, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> gap(0, 400);
    std::uniform_int_distribution<int64_t> length(1, 3000);
    std::uniform_int_distribution<int> op(0, int(Op::Serial));
    std::uniform_int_distribution<int> coin(0, 9);
    std::vector<TraceEvent> out;
    for (int w = 0; w < lanes; ++w) {
        int64_t t = gap(rng);
        for (int i = 0; i < perLane; ++i) {
            const int64_t len = coin(rng) == 0 ? 0 : length(rng);
            out.push_back(ev(w, t, t + len, Op(op(rng))));
            if (len > 100 && coin(rng) == 0) // a child inside this chunk
                out.push_back(ev(w, t + len / 4, t + len / 2, Op(op(rng))));
            t += len + gap(rng);
        }
    }
    return out;
}

// Union length of the intervals of one lane clipped to [begin, end).
int64_t unionWithin(const std::vector<TraceEvent>& events, int lane, int64_t begin, int64_t end)
{
    std::vector<std::pair<int64_t, int64_t>> iv;
    for (const TraceEvent& e : events)
        if (e.worker == lane && !engine::isMarker(e.op)) {
            const int64_t a = std::max(e.beginNs, begin);
            const int64_t b = std::min(e.endNs, end);
            if (b > a)
                iv.push_back({ a, b });
        }
    std::sort(iv.begin(), iv.end());
    int64_t total = 0;
    int64_t reach = std::numeric_limits<int64_t>::min();
    for (auto [a, b] : iv) {
        a = std::max(a, reach);
        if (b > a)
            total += b - a;
        reach = std::max(reach, b);
    }
    return total;
}

int countOverlapping(const std::vector<TraceEvent>& events, int lane, int64_t begin, int64_t end)
{
    int n = 0;
    for (const TraceEvent& e : events)
        if (e.worker == lane && !engine::isMarker(e.op) && e.beginNs < end
            && (e.endNs > begin || (e.endNs == e.beginNs && e.beginNs >= begin)))
            ++n;
    return n;
}

bool sameEvent(const TraceEvent& a, const TraceEvent& b)
{
    return a.worker == b.worker && a.beginNs == b.beginNs && a.endNs == b.endNs && a.op == b.op
        && a.sequence == b.sequence && a.position == b.position;
}

} // namespace

class TestTimelineView : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void timeMapsToPixelsUnderZoomAndPan_data();
    void timeMapsToPixelsUnderZoomAndPan();
    void zoomAtKeepsTimeUnderCursorFixed_data();
    void zoomAtKeepsTimeUnderCursorFixed();
    void panByPixelsShiftsByExpectedNs_data();
    void panByPixelsShiftsByExpectedNs();
    void userZoomStopsFollowingAndFitAllResumes();
    void visibleRangeChangedIsEmitted();
    void tickStepsAreOneTwoFive_data();
    void tickStepsAreOneTwoFive();
    void durationsAreFormattedInReadableUnits_data();
    void durationsAreFormattedInReadableUnits();
    void bucketsAccountForEveryEvent_data();
    void bucketsAccountForEveryEvent();
    void bucketsMatchBruteForcePerColumn();
    void bucketDominantOpIsTheLongest();
    void busyTimeCountsNestedChunksOnce();
    void laneLabelsAndWorkersTableShareTheDenominator();
    void outOfOrderBatchesStillYieldSortedLanes();
    void hoverFindsTheChunkUnderTheCursor_data();
    void hoverFindsTheChunkUnderTheCursor();
    void tooltipDescribesTheChunk();
    void highlightTokenSelectsItsEvents();
    void highlightFollowsLaterAppends();
    void emptyLanesShowForKnownThreadCount();
    void manyLanesKeepAReadableHeightAndScroll();
    void opColoursAreTellableApart();
    void stretchedChunksAreMarked();
    void millionEventPaintCompletes();
    void smallTraceRendersChunksAndLabels();
    void renderTraceFileIfAsked();
};

void TestTimelineView::timeMapsToPixelsUnderZoomAndPan_data()
{
    QTest::addColumn<qint64>("begin");
    QTest::addColumn<qint64>("end");
    QTest::addColumn<int>("width");
    QTest::addColumn<qint64>("ns");
    QTest::addColumn<double>("fraction"); // expected position across the plot

    QTest::newRow("whole ms, start") << qint64(0) << qint64(1'000'000) << 800 << qint64(0) << 0.0;
    QTest::newRow("whole ms, middle") << qint64(0) << qint64(1'000'000) << 800 << qint64(500'000) << 0.5;
    QTest::newRow("whole ms, end") << qint64(0) << qint64(1'000'000) << 800 << qint64(1'000'000) << 1.0;
    QTest::newRow("zoomed to 10 µs") << qint64(250'000) << qint64(260'000) << 1200 << qint64(252'500) << 0.25;
    QTest::newRow("panned before start") << qint64(-400) << qint64(1'600) << 640 << qint64(0) << 0.2;
    QTest::newRow("left of view") << qint64(1000) << qint64(2000) << 500 << qint64(500) << -0.5;
    QTest::newRow("right of view") << qint64(1000) << qint64(2000) << 500 << qint64(3000) << 2.0;
    QTest::newRow("seconds at 1920 px") << qint64(2'000'000'000) << qint64(6'000'000'000) << 1920
                                        << qint64(5'000'000'000) << 0.75;
}

void TestTimelineView::timeMapsToPixelsUnderZoomAndPan()
{
    QFETCH(qint64, begin);
    QFETCH(qint64, end);
    QFETCH(int, width);
    QFETCH(qint64, ns);
    QFETCH(double, fraction);

    ui::TimelineView view;
    view.resize(width, 300);
    view.setLaneCount(2);
    view.setVisibleRange(begin, end);
    QCOMPARE(view.visibleRange(), std::make_pair(int64_t(begin), int64_t(end)));
    const QRect plot = view.plotRect();
    QVERIFY(plot.width() > width / 2);
    QVERIFY(plot.right() < width);

    const double expected = plot.left() + fraction * plot.width();
    QVERIFY2(std::abs(view.timeToX(ns) - expected) < 1e-6,
        qPrintable(QStringLiteral("x %1, expected %2").arg(view.timeToX(ns)).arg(expected)));
    // Round trip: a pixel is far wider than a nanosecond here, so back to the same ns within rounding.
    QVERIFY(std::abs(view.xToTime(view.timeToX(ns)) - ns) <= 1);
    // And pixel -> time -> pixel stays within the width of a nanosecond.
    const double x = plot.left() + 0.3 * plot.width();
    QVERIFY(std::abs(view.timeToX(view.xToTime(x)) - x) <= double(plot.width()) / double(end - begin) + 1e-9);
}

void TestTimelineView::zoomAtKeepsTimeUnderCursorFixed_data()
{
    QTest::addColumn<double>("fraction");
    QTest::addColumn<double>("factor");
    QTest::newRow("zoom in at left edge") << 0.0 << 2.0;
    QTest::newRow("zoom in at a third") << 1.0 / 3 << 4.0;
    QTest::newRow("zoom out at middle") << 0.5 << 0.25;
    QTest::newRow("zoom in hard at right") << 0.97 << 1000.0;
    QTest::newRow("wheel notch") << 0.62 << 1.25;
}

void TestTimelineView::zoomAtKeepsTimeUnderCursorFixed()
{
    QFETCH(double, fraction);
    QFETCH(double, factor);
    ui::TimelineView view;
    view.resize(1000, 300);
    view.setVisibleRange(1'000'000, 11'000'000);
    const QRect plot = view.plotRect();
    const double x = plot.left() + fraction * plot.width();
    const int64_t before = view.xToTime(x);
    view.zoomAt(x, factor);
    const auto [b, e] = view.visibleRange();
    QVERIFY(std::abs(double(e - b) - 10'000'000 / factor) <= 1);
    QVERIFY2(std::abs(view.xToTime(x) - before) <= 1,
        qPrintable(QStringLiteral("%1 moved to %2").arg(before).arg(view.xToTime(x))));
    QVERIFY(!view.isFollowing());
}

void TestTimelineView::panByPixelsShiftsByExpectedNs_data()
{
    QTest::addColumn<double>("dx");
    QTest::addColumn<qint64>("span");
    QTest::newRow("drag right 100 px over 1 ms") << 100.0 << qint64(1'000'000);
    QTest::newRow("drag left 37 px over 1 ms") << -37.0 << qint64(1'000'000);
    QTest::newRow("drag right half a pixel over 10 µs") << 0.5 << qint64(10'000);
    QTest::newRow("drag left 800 px over 2 s") << -800.0 << qint64(2'000'000'000);
}

void TestTimelineView::panByPixelsShiftsByExpectedNs()
{
    QFETCH(double, dx);
    QFETCH(qint64, span);
    ui::TimelineView view;
    view.resize(1100, 300);
    view.setVisibleRange(5'000'000, 5'000'000 + span);
    const double nsPerPixel = double(span) / view.plotRect().width();
    const double x = view.plotRect().left() + 200;
    const int64_t under = view.xToTime(x);
    view.panByPixels(dx);
    const auto [b, e] = view.visibleRange();
    QCOMPARE(e - b, int64_t(span));
    QCOMPARE(b, int64_t(5'000'000 - std::llround(dx * nsPerPixel)));
    // Content follows the drag: what was under x is now under x + dx.
    QVERIFY(std::abs(view.xToTime(x + dx) - under) <= 1);
}

void TestTimelineView::userZoomStopsFollowingAndFitAllResumes()
{
    ui::TimelineView view;
    view.resize(800, 300);
    QVERIFY(view.isFollowing());
    view.appendEvents({ ev(0, 0, 1000), ev(1, 500, 4000) });
    QCOMPARE(view.visibleRange().first, int64_t(0));
    QVERIFY(view.visibleRange().second >= 4000 && view.visibleRange().second <= 4100);

    view.appendEvents({ ev(0, 5000, 9000) });
    QVERIFY(view.visibleRange().second >= 9000); // still following the growing end

    view.zoomAt(view.plotRect().center().x(), 2);
    QVERIFY(!view.isFollowing());
    const auto zoomed = view.visibleRange();
    view.appendEvents({ ev(0, 10000, 20000) });
    QCOMPARE(view.visibleRange(), zoomed); // the user's view stays put

    view.fitAll();
    QVERIFY(view.isFollowing());
    QCOMPARE(view.visibleRange().first, int64_t(0));
    QVERIFY(view.visibleRange().second >= 20000);

    view.panByPixels(10);
    QVERIFY(!view.isFollowing());
}

void TestTimelineView::visibleRangeChangedIsEmitted()
{
    ui::TimelineView view;
    view.resize(800, 300);
    QSignalSpy spy(&view, &ui::TimelineView::visibleRangeChanged);
    view.setVisibleRange(100, 2100);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).value<int64_t>(), int64_t(100));
    QCOMPARE(spy.last().at(1).value<int64_t>(), int64_t(2100));
    view.setVisibleRange(100, 2100);
    QCOMPARE(spy.count(), 1); // no change, no signal
    view.panByPixels(-50);
    QCOMPARE(spy.count(), 2);
}

void TestTimelineView::tickStepsAreOneTwoFive_data()
{
    QTest::addColumn<double>("raw");
    QTest::addColumn<qint64>("step");
    QTest::newRow("below 1 ns") << 0.3 << qint64(1);
    QTest::newRow("exactly 1-2-5") << 200.0 << qint64(200);
    QTest::newRow("just over 2") << 2.01e3 << qint64(5'000);
    QTest::newRow("between 5 and 10") << 7.3e6 << qint64(10'000'000);
    QTest::newRow("between 1 and 2") << 1.4e9 << qint64(2'000'000'000);
}

void TestTimelineView::tickStepsAreOneTwoFive()
{
    QFETCH(double, raw);
    QFETCH(qint64, step);
    QCOMPARE(ui::niceTimeStep(raw), int64_t(step));
}

void TestTimelineView::durationsAreFormattedInReadableUnits_data()
{
    QTest::addColumn<qint64>("ns");
    QTest::addColumn<QString>("text");
    QTest::newRow("ns") << qint64(850) << QStringLiteral("850 ns");
    QTest::newRow("µs") << qint64(12'400) << QStringLiteral("12.4 µs");
    QTest::newRow("ms") << qint64(3'214'000) << QStringLiteral("3.21 ms");
    QTest::newRow("hundreds of ms") << qint64(325'400'000) << QStringLiteral("325 ms");
    QTest::newRow("s") << qint64(1'234'000'000) << QStringLiteral("1.23 s");
    QTest::newRow("zero") << qint64(0) << QStringLiteral("0 ns");
}

void TestTimelineView::durationsAreFormattedInReadableUnits()
{
    QFETCH(qint64, ns);
    QFETCH(QString, text);
    QCOMPARE(ui::formatDuration(ns), text);
}

void TestTimelineView::bucketsAccountForEveryEvent_data()
{
    QTest::addColumn<int>("columns");
    QTest::addColumn<double>("from"); // range as fractions of the run
    QTest::addColumn<double>("to");
    for (int columns : { 1, 7, 100, 1920 }) {
        QTest::addRow("%d columns, whole run", columns) << columns << -0.01 << 1.01;
        QTest::addRow("%d columns, middle third", columns) << columns << 0.33 << 0.66;
    }
    QTest::newRow("more columns than ns") << 5000 << 0.5 << 0.5001;
}

void TestTimelineView::bucketsAccountForEveryEvent()
{
    QFETCH(int, columns);
    QFETCH(double, from);
    QFETCH(double, to);
    // 20k chunks per lane: enough for the 64- and 4096-event summary blocks to be used.
    const std::vector<TraceEvent> events = randomTrace(3, 20'000, 42);
    ui::TimelineData data;
    data.append(events);
    const int64_t span = data.endNs() - data.beginNs();
    const int64_t begin = data.beginNs() + int64_t(from * double(span));
    const int64_t end = data.beginNs() + int64_t(to * double(span));

    for (int lane = 0; lane < 3; ++lane) {
        const std::vector<ui::TimelineBucket> buckets = data.buckets(lane, begin, end, columns);
        QCOMPARE(int(buckets.size()), columns);
        int64_t busy = 0;
        int64_t count = 0;
        for (size_t k = 0; k < buckets.size(); ++k) {
            busy += buckets[k].busyNs;
            count += buckets[k].eventCount;
            QVERIFY(buckets[k].busyNs <= buckets[k].endNs - buckets[k].beginNs);
            if (k > 0)
                QCOMPARE(buckets[k].beginNs, buckets[k - 1].endNs);
        }
        QCOMPARE(buckets.front().beginNs, begin);
        QCOMPARE(buckets.back().endNs, end);
        QCOMPARE(busy, unionWithin(events, lane, begin, end));
        QCOMPARE(count, int64_t(countOverlapping(events, lane, begin, end)));
    }
}

void TestTimelineView::bucketsMatchBruteForcePerColumn()
{
    const std::vector<TraceEvent> events = randomTrace(1, 9'000, 7);
    ui::TimelineData data;
    data.append(events);
    for (int columns : { 13, 64, 700 }) {
        const int64_t begin = data.beginNs() + 12'345;
        const int64_t end = data.endNs() - 54'321;
        const std::vector<ui::TimelineBucket> buckets = data.buckets(0, begin, end, columns);
        std::vector<int64_t> clippedBegins; // of the events in range: each is counted in the column holding it
        for (const TraceEvent& e : events)
            if (countOverlapping({ e }, 0, begin, end))
                clippedBegins.push_back(std::max(e.beginNs, begin));
        for (const ui::TimelineBucket& b : buckets) {
            QCOMPARE(b.busyNs, unionWithin(events, 0, b.beginNs, b.endNs));
            const auto starts = std::count_if(
                clippedBegins.begin(), clippedBegins.end(), [&](int64_t t) { return t >= b.beginNs && t < b.endNs; });
            QCOMPARE(b.eventCount, int(starts));
        }
    }
}

void TestTimelineView::bucketDominantOpIsTheLongest()
{
    ui::TimelineData data;
    data.append({ ev(0, 0, 10, Op::Logits), ev(0, 10, 70, Op::AttnQ), ev(0, 70, 100, Op::Logits),
        ev(0, 100, 130, Op::Sampling), ev(0, 150, 160, Op::Rope) });
    const auto buckets = data.buckets(0, 0, 200, 2);
    QCOMPARE(buckets[0].dominant, Op::AttnQ); // 60 ns of attn_q against 40 of logits
    QCOMPARE(buckets[1].dominant, Op::Sampling); // 30 against 10
    QCOMPARE(buckets[0].busyNs, int64_t(100));
    QCOMPARE(buckets[1].busyNs, int64_t(40));
}

void TestTimelineView::busyTimeCountsNestedChunksOnce()
{
    ui::TimelineData data;
    // A chunk with two chunks nested in it (work stolen while waiting), then one more; the parent arrives last,
    // as the recorder writes a chunk when it ends.
    data.append({ ev(1, 100, 200), ev(1, 300, 400), ev(1, 50, 500), ev(1, 600, 700) });
    QCOMPARE(data.busyNs(1), int64_t(450 + 100));
    QCOMPARE(data.busyNs(0), int64_t(0));
    QCOMPARE(data.events(1).front().beginNs, int64_t(50));
    QCOMPARE(data.beginNs(), int64_t(0));
    QCOMPARE(data.endNs(), int64_t(700));
    QCOMPARE(data.busyFraction(1), 550.0 / 700.0);
    const auto buckets = data.buckets(1, 0, 1000, 4);
    QCOMPARE(buckets[0].busyNs, int64_t(200)); // 50..250
    QCOMPARE(buckets[1].busyNs, int64_t(250)); // 250..500
    QCOMPARE(buckets[2].busyNs, int64_t(100)); // 600..700
    QCOMPARE(buckets[0].eventCount, 2);
    QCOMPARE(buckets[1].eventCount, 1);
}

// One run, two workers: the lane labels and the Workers tab's "Busy % of run" show the same number, over the
// run's wall time once it is done (it runs on after the last chunk), over the time so far while it runs.
void TestTimelineView::laneLabelsAndWorkersTableShareTheDenominator()
{
    const int64_t ms = 1'000'000;
    // Worker 0 busy 6 ms, worker 1 busy 1.5 ms; the last chunk ends at 7 ms; the run's wall time is 10 ms.
    const std::vector<TraceEvent> trace { ev(0, 0, 3 * ms), ev(0, 4 * ms, 7 * ms), ev(1, 1 * ms, 2 * ms + ms / 2) };
    ui::TimelineView view;
    view.setLaneCount(2);
    view.appendEvents(trace);
    // While running: 6 of the 7 ms so far, 1.5 of 7.
    QCOMPARE(view.laneBusyText(0), QStringLiteral("85.7% busy"));
    QCOMPARE(view.laneBusyText(1), QStringLiteral("21.4% busy"));

    ui::RunSummary summary;
    summary.threads = 2;
    summary.metrics.wallMs = 10.0;
    summary.metrics.workers.resize(2);
    summary.metrics.workers[0] = { 0, 6 * ms, 4 * ms, 2, 3.0 * double(ms) };
    summary.metrics.workers[1] = { 1, ms + ms / 2, 8 * ms + ms / 2, 1, 1.5 * double(ms) };
    ui::StatsTable table;
    table.setSummary(summary);
    view.setRunWallNs(int64_t(summary.metrics.wallMs * 1e6));
    const auto* cells = table.findChild<QTableWidget*>();
    QVERIFY(cells);
    QCOMPARE(cells->item(0, 3)->text(), QStringLiteral("60.0"));
    QCOMPARE(cells->item(1, 3)->text(), QStringLiteral("15.0"));
    QCOMPARE(view.laneBusyText(0), QStringLiteral("60.0% busy"));
    QCOMPARE(view.laneBusyText(1), QStringLiteral("15.0% busy"));

    // A new run starts from the time so far again.
    view.clear();
    view.setLaneCount(2);
    view.appendEvents({ ev(0, 0, 2 * ms), ev(1, 0, 1 * ms) });
    QCOMPARE(view.laneBusyText(0), QStringLiteral("100.0% busy"));
    QCOMPARE(view.laneBusyText(1), QStringLiteral("50.0% busy"));
}

void TestTimelineView::outOfOrderBatchesStillYieldSortedLanes()
{
    std::vector<TraceEvent> events = randomTrace(4, 5'000, 99);
    std::mt19937 rng(5);
    std::shuffle(events.begin(), events.end(), rng);
    ui::TimelineData data;
    for (size_t i = 0; i < events.size(); i += 1'234)
        data.append(std::vector<TraceEvent>(
            events.begin() + std::ptrdiff_t(i), events.begin() + std::ptrdiff_t(std::min(events.size(), i + 1'234))));

    QCOMPARE(data.eventCount(), events.size());
    QCOMPARE(data.laneCount(), 4);
    for (int lane = 0; lane < 4; ++lane) {
        const auto& laneEvents = data.events(lane);
        QCOMPARE(int(laneEvents.size()), countOverlapping(events, lane, INT64_MIN / 2, INT64_MAX / 2));
        QVERIFY(std::is_sorted(laneEvents.begin(), laneEvents.end(),
            [](const TraceEvent& a, const TraceEvent& b) { return a.beginNs < b.beginNs; }));
        for (const TraceEvent& e : laneEvents)
            QCOMPARE(int(e.worker), lane);
        const int64_t all = unionWithin(events, lane, INT64_MIN / 2, INT64_MAX / 2);
        QCOMPARE(data.busyNs(lane), all);
        // The summaries built while merging agree with a one-column aggregation and with per-event work.
        const auto one = data.buckets(lane, data.beginNs(), data.endNs(), 1);
        QCOMPARE(one[0].busyNs, all);
        int64_t sum = 0;
        for (const auto& b : data.buckets(lane, data.beginNs(), data.endNs(), 333))
            sum += b.busyNs;
        QCOMPARE(sum, all);
    }
}

void TestTimelineView::hoverFindsTheChunkUnderTheCursor_data()
{
    QTest::addColumn<int>("lane");
    QTest::addColumn<qint64>("ns");
    QTest::addColumn<int>("yAt"); // 0: lane middle, 1: lane top row, 2: lane bottom row, 3: gap below the lane
    QTest::addColumn<int>("expected"); // index into the trace, -1 for none

    QTest::newRow("middle of a chunk") << 0 << qint64(150'000) << 0 << 1;
    QTest::newRow("second lane") << 1 << qint64(50'000) << 0 << 3;
    QTest::newRow("lane top edge") << 1 << qint64(50'000) << 1 << 3;
    QTest::newRow("lane bottom edge") << 0 << qint64(150'000) << 2 << 1;
    QTest::newRow("between lanes") << 0 << qint64(150'000) << 3 << -1;
    QTest::newRow("idle gap") << 0 << qint64(400'000) << 0 << -1;
    QTest::newRow("after the last chunk") << 1 << qint64(950'000) << 0 << -1;
    QTest::newRow("nested chunk wins over its parent") << 2 << qint64(300'000) << 0 << 5;
    QTest::newRow("parent around the nested chunk") << 2 << qint64(150'000) << 0 << 4;
    QTest::newRow("empty lane") << 3 << qint64(150'000) << 0 << -1;
}

void TestTimelineView::hoverFindsTheChunkUnderTheCursor()
{
    QFETCH(int, lane);
    QFETCH(qint64, ns);
    QFETCH(int, yAt);
    QFETCH(int, expected);

    const std::vector<TraceEvent> trace {
        ev(0, 0, 100'000, Op::AttnQ),
        ev(0, 100'000, 200'000, Op::AttnK),
        ev(0, 600'000, 700'000, Op::Logits),
        ev(1, 20'000, 80'000, Op::FfnDown),
        ev(2, 100'000, 500'000, Op::Serial),
        ev(2, 250'000, 350'000, Op::FfnUp),
    };
    ui::TimelineView view;
    view.resize(1000, 400);
    view.setLaneCount(4);
    view.appendEvents(trace);
    view.setVisibleRange(0, 1'000'000);

    const QRect r = view.laneRect(lane);
    QVERIFY(r.isValid());
    const int y = yAt == 0 ? r.center().y() : yAt == 1 ? r.top() : yAt == 2 ? r.bottom() : r.bottom() + 2;
    QVERIFY(yAt != 3 || !view.laneRect(lane + 1).contains(QPoint(r.left(), y)));
    const QPoint pos(int(std::floor(view.timeToX(ns))), y);
    const std::optional<TraceEvent> hit = view.eventAt(pos);
    if (expected < 0) {
        QVERIFY2(!hit, hit ? engine::opName(hit->op) : "");
    } else {
        QVERIFY(hit);
        QVERIFY2(sameEvent(*hit, trace[size_t(expected)]), engine::opName(hit->op));
    }
}

void TestTimelineView::tooltipDescribesTheChunk()
{
    ui::TimelineView view;
    TraceEvent e = ev(1, 2'500'000, 2'512'400, Op::FfnDown, 3, 40, 8);
    e.first = 128;
    e.last = 256;
    const QString text = view.eventDescription(e);
    for (const QString& part :
        { QStringLiteral("ffn_down"), QStringLiteral("layer 2"), QStringLiteral("rows 128&ndash;255"),
            QStringLiteral("sequence 3"), QStringLiteral("token 40&ndash;47 (8 tokens)"), QStringLiteral("12.4 µs"),
            QStringLiteral("worker 1"), QStringLiteral("2.500 ms"), QStringLiteral("2.512 ms") })
        QVERIFY2(text.contains(part), qPrintable(part + QStringLiteral(" not in ") + text));
    e.layer = -1;
    e.op = Op::Sampling;
    e.first = e.last = 0;
    e.tokens = 1;
    const QString serial = view.eventDescription(e);
    QVERIFY(serial.contains(QStringLiteral("outside layers")));
    QVERIFY(!serial.contains(QStringLiteral("rows")));
    QVERIFY(!serial.contains(QStringLiteral("tokens")));
}

void TestTimelineView::highlightTokenSelectsItsEvents()
{
    const std::vector<TraceEvent> trace {
        ev(0, 0, 100, Op::Tokenize, 0, 0, 1),
        ev(0, 100, 200, Op::AttnQ, 0, 0, 8), // prefill of tokens 0..7 of sequence 0
        ev(1, 100, 200, Op::AttnQ, 0, 0, 8),
        ev(1, 100, 200, Op::AttnQ, 1, 0, 8), // another prompt
        ev(0, 300, 400, Op::FfnDown, 0, 8, 1), // decode of token 8
        ev(1, 300, 400, Op::FfnDown, 0, 8, 1),
        ev(0, 500, 600, Op::Logits, 0, 9, 1),
        ev(1, 500, 600, Op::Logits, 1, 9, 1),
    };
    ui::TimelineView view;
    view.resize(800, 300);
    view.appendEvents(trace);

    auto check = [&](int sequence, int position, std::vector<int> expected) {
        view.highlightToken(sequence, position);
        const std::vector<TraceEvent> got = view.highlightedEvents();
        QCOMPARE(got.size(), expected.size());
        for (int i : expected)
            QVERIFY(std::any_of(
                got.begin(), got.end(), [&](const TraceEvent& e) { return sameEvent(e, trace[size_t(i)]); }));
    };
    check(0, 0, { 0, 1, 2 });
    check(0, 5, { 1, 2 });
    check(0, 8, { 4, 5 });
    check(1, 9, { 7 });
    check(1, 3, { 3 });
    check(2, 0, {});
    view.clearHighlight();
    QVERIFY(view.highlightedEvents().empty());
    QVERIFY(!view.highlightedToken());
}

void TestTimelineView::highlightFollowsLaterAppends()
{
    ui::TimelineView view;
    view.resize(800, 300);
    view.appendEvents({ ev(0, 0, 100, Op::AttnQ, 0, 4, 1) });
    view.highlightToken(0, 5);
    QVERIFY(view.highlightedEvents().empty());
    view.appendEvents({ ev(0, 200, 300, Op::AttnQ, 0, 5, 1), ev(1, 200, 300, Op::AttnK, 0, 5, 1) });
    QCOMPARE(view.highlightedEvents().size(), size_t(2));
    QCOMPARE(*view.highlightedToken(), std::make_pair(0, 5));
}

void TestTimelineView::emptyLanesShowForKnownThreadCount()
{
    ui::TimelineView view;
    view.resize(900, 400);
    view.setLaneCount(4);
    QCOMPARE(view.laneCount(), 4);
    view.appendEvents({ ev(0, 0, 100) });
    QCOMPARE(view.laneCount(), 4);
    view.appendEvents({ ev(5, 0, 100) });
    QCOMPARE(view.laneCount(), 6);
    for (int lane = 1; lane < 6; ++lane) {
        QVERIFY(view.laneRect(lane).top() > view.laneRect(lane - 1).bottom());
        QCOMPARE(view.laneRect(lane).height(), view.laneRect(0).height());
    }
    QVERIFY(!view.laneRect(6).isValid());
    view.clear();
    view.setLaneCount(0);
    QCOMPARE(view.laneCount(), 0);
}

void TestTimelineView::manyLanesKeepAReadableHeightAndScroll()
{
    ui::TimelineView view;
    view.resize(900, 220); // about what a 720-line screen leaves the timeline
    view.setLaneCount(16);
    std::vector<TraceEvent> events;
    for (int lane = 0; lane < 16; ++lane)
        events.push_back(ev(lane, 0, 1000 + lane));
    view.appendEvents(events);
    const int minimum = view.minimumLaneHeight();
    QVERIFY(minimum >= 20);
    for (int lane = 0; lane < 16; ++lane)
        QVERIFY2(view.laneRect(lane).height() >= minimum, qPrintable(QString::number(view.laneRect(lane).height())));
    // They cannot all show: the lanes scroll under the fixed legend and axis.
    QVERIFY(view.lanesScroll());
    QVERIFY(view.laneRect(15).bottom() > view.plotRect().bottom());
    QVERIFY(view.plotRect().bottom() < view.height());
    const QPoint belowPlot(view.plotRect().center().x(), view.plotRect().bottom() + 3);
    QVERIFY(!view.eventAt(belowPlot)); // a lane hidden under the axis is not hit
    view.scrollLanesBy(100000);
    QCOMPARE(view.laneRect(15).bottom(), view.plotRect().bottom());
    QVERIFY(view.eventAt(QPoint(int(view.timeToX(500)), view.laneRect(15).center().y())));
    QCOMPARE(view.eventAt(QPoint(int(view.timeToX(500)), view.laneRect(15).center().y()))->worker, 15);
    // The widget never asks for less than two readable lanes.
    QVERIFY(view.minimumSizeHint().height() >= 2 * minimum);
    // Enough room: no scrolling, lanes fill the height.
    view.resize(900, 900);
    QVERIFY(!view.lanesScroll());
    QVERIFY(view.laneRect(15).bottom() <= view.plotRect().bottom());
    QCOMPARE(view.laneRect(0).top(), view.plotRect().top());
}

namespace {

// CIE L*a*b* of an sRGB colour (D65), for colour differences as the eye sees them.
std::array<double, 3> lab(const QColor& c)
{
    auto linear = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
    const double r = linear(c.redF()), g = linear(c.greenF()), b = linear(c.blueF());
    const double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    auto f = [](double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116.0; };
    return { 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z)) };
}

} // namespace

void TestTimelineView::opColoursAreTellableApart()
{
    // The old palette had attention (indigo) 19 from sampling (purple) and 26 from Q (navy), V 12 from the
    // attention output: next to each other in a lane they read as one op.
    std::vector<Op> ops;
    for (int op = 0; op < int(Op::Count_); ++op)
        if (!engine::isMarker(Op(op)))
            ops.push_back(Op(op));
    for (size_t i = 0; i < ops.size(); ++i)
        for (size_t j = i + 1; j < ops.size(); ++j) {
            const auto a = lab(ui::opColor(ops[i]));
            const auto b = lab(ui::opColor(ops[j]));
            const double de = std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
            QVERIFY2(de >= 20,
                qPrintable(QStringLiteral("%1 and %2: colour difference %3")
                               .arg(QString::fromUtf8(engine::opName(ops[i])))
                               .arg(QString::fromUtf8(engine::opName(ops[j])))
                               .arg(de, 0, 'f', 1)));
        }
}

void TestTimelineView::stretchedChunksAreMarked()
{
    // 100 ffn_down chunks of 16 rows at ~5 µs on two lanes, as a decode records them, then: one that took
    // 141 µs for the same 16 rows (the thread was descheduled), one of 256 rows in 80 µs (big, but at the
    // usual pace) and a 200 µs serial section (not a loop: never judged).
    auto chunk = [](int lane, int64_t begin, int64_t duration, uint32_t rows, Op op = Op::FfnDown) {
        TraceEvent e = ev(lane, begin, begin + duration, op);
        e.last = rows;
        return e;
    };
    std::vector<TraceEvent> events;
    int64_t t = 0;
    for (int i = 0; i < 100; ++i, t += 6'000)
        events.push_back(chunk(i % 2, t, 5'000 + (i % 5) * 100, 16));
    const TraceEvent stretched = chunk(0, t, 141'000, 16);
    const TraceEvent big = chunk(1, t, 80'000, 256);
    const TraceEvent serial = chunk(1, t + 100'000, 200'000, 0, Op::Serial);
    events.push_back(stretched);
    events.push_back(big);
    events.push_back(serial);

    ui::TimelineView view;
    view.resize(1000, 300);
    view.appendEvents(events);
    const ui::TimelineData& data = view.data();
    QVERIFY(data.isStretched(stretched));
    QVERIFY2(data.slowdown(stretched) > 20 && data.slowdown(stretched) < 40,
        qPrintable(QString::number(data.slowdown(stretched))));
    QVERIFY(!data.isStretched(big));
    QVERIFY(!data.isStretched(serial));
    for (int i = 0; i < 100; ++i)
        QVERIFY(!data.isStretched(events[size_t(i)]));
    QVERIFY(view.eventDescription(stretched).contains(QStringLiteral("stretched")));
    QVERIFY(!view.eventDescription(big).contains(QStringLiteral("stretched")));

    // Drawn: a dark edge along the top of the stretched chunk, none over the big one.
    QImage image(view.size(), QImage::Format_ARGB32);
    image.fill(Qt::black);
    view.render(&image);
    const int x = int(view.timeToX(stretched.beginNs + 70'000));
    QCOMPARE(image.pixelColor(x, view.laneRect(0).top() + 1).rgb(), QColor(0x10, 0x10, 0x10).rgb());
    QVERIFY(image.pixelColor(int(view.timeToX(big.beginNs + 40'000)), view.laneRect(1).top() + 1).rgb()
        != QColor(0x10, 0x10, 0x10).rgb());
}

void TestTimelineView::millionEventPaintCompletes()
{
    // Four lanes of ~1 µs chunks with small gaps, as a long decode at 4 threads would record.
    std::vector<TraceEvent> events;
    events.reserve(1'000'000);
    std::mt19937 rng(1);
    std::uniform_int_distribution<int64_t> len(300, 2000);
    std::uniform_int_distribution<int64_t> gap(0, 600);
    std::uniform_int_distribution<int> op(0, int(Op::Logits));
    int64_t t[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < 1'000'000; ++i) {
        const int w = i % 4;
        const int64_t l = len(rng);
        events.push_back(ev(w, t[w], t[w] + l, Op(op(rng))));
        t[w] += l + gap(rng);
    }
    ui::TimelineView view;
    view.resize(1920, 600);
    QElapsedTimer appendTimer;
    appendTimer.start();
    for (size_t i = 0; i < events.size(); i += 50'000)
        view.appendEvents(std::vector<TraceEvent>(
            events.begin() + std::ptrdiff_t(i), events.begin() + std::ptrdiff_t(std::min(events.size(), i + 50'000))));
    const qint64 appendMs = appendTimer.elapsed();
    QCOMPARE(view.data().eventCount(), size_t(1'000'000));

    QImage image(view.size(), QImage::Format_ARGB32_Premultiplied);
    view.render(&image); // the first render also lays the widget out
    // Median of five renders: the machines are small and shared.
    auto paintMs = [&] {
        std::vector<double> ms;
        for (int i = 0; i < 5; ++i) {
            QElapsedTimer timer;
            timer.start();
            view.render(&image);
            ms.push_back(double(timer.nsecsElapsed()) / 1e6);
        }
        std::sort(ms.begin(), ms.end());
        return ms[2];
    };
    const double whole = paintMs();
    // Zoomed to a tenth, then to a window of a few hundred chunks per lane.
    const int64_t end = view.data().endNs();
    view.setVisibleRange(end / 2, end / 2 + end / 10);
    const double tenth = paintMs();
    view.setVisibleRange(end / 3, end / 3 + 400'000);
    const double close = paintMs();
    qDebug("1M events: append in 50k batches %lld ms; paint at 1920x600 (median of 5): whole run %.2f ms, "
           "a tenth %.2f ms, 400 µs %.2f ms",
        appendMs, whole, tenth, close);

    // Something was drawn in the op colours.
    const QRect lane = view.laneRect(0);
    QVERIFY(image.pixelColor(lane.center()) != QColor(Qt::white));
}

void TestTimelineView::smallTraceRendersChunksAndLabels()
{
    ui::TimelineView view;
    view.resize(1000, 320);
    view.setLaneCount(3);
    view.appendEvents({ ev(0, 0, 400'000, Op::AttnQ), ev(0, 500'000, 900'000, Op::Logits),
        ev(1, 0, 600'000, Op::FfnGateUp), ev(2, 100'000, 200'000, Op::Sampling) });
    QImage image(view.size(), QImage::Format_ARGB32);
    image.fill(Qt::black);
    view.render(&image);

    const QRect lane0 = view.laneRect(0);
    // A chunk is painted in its op's colour, an idle gap in the lane background.
    QCOMPARE(image.pixelColor(int(view.timeToX(100'000)), lane0.center().y() + lane0.height() / 4).rgb(),
        ui::opColor(Op::AttnQ).rgb());
    QCOMPARE(image.pixelColor(int(view.timeToX(800'000)), lane0.center().y() + lane0.height() / 4).rgb(),
        ui::opColor(Op::Logits).rgb());
    const QRgb idle = image.pixelColor(int(view.timeToX(450'000)), lane0.center().y()).rgb();
    QVERIFY(idle != ui::opColor(Op::AttnQ).rgb() && idle != ui::opColor(Op::Logits).rgb());

    // The lane labels left of the plot have dark text pixels on the light background.
    int dark = 0;
    int light = 0;
    for (int y = lane0.top(); y <= view.laneRect(2).bottom(); ++y)
        for (int x = 0; x < lane0.left(); ++x) {
            const int lightness = image.pixelColor(x, y).lightness();
            dark += lightness < 90;
            light += lightness > 200;
        }
    QVERIFY2(dark > 50, qPrintable(QString::number(dark)));
    QVERIFY(light > dark);
    // And the axis under the lanes has tick labels.
    int axisDark = 0;
    for (int y = view.laneRect(2).bottom() + 4; y < image.height(); ++y)
        for (int x = lane0.left(); x < lane0.right(); ++x)
            axisDark += image.pixelColor(x, y).lightness() < 90;
    QVERIFY(axisDark > 50);
}

// Renders a Chrome trace to a PNG when PLAYGROUND_TIMELINE_TRACE names one (and PLAYGROUND_TIMELINE_PNG where to
// write it): how the README's timeline picture is made.
void TestTimelineView::renderTraceFileIfAsked()
{
    const QByteArray tracePath = qgetenv("PLAYGROUND_TIMELINE_TRACE");
    if (tracePath.isEmpty())
        QSKIP("set PLAYGROUND_TIMELINE_TRACE to render a trace file");
    std::ifstream in(tracePath.toStdString());
    QVERIFY(in);
    const std::vector<TraceEvent> events = engine::parseChromeTrace(nlohmann::json::parse(in));
    QVERIFY(!events.empty());
    ui::TimelineView view;
    view.resize(1600, 500);
    QFont f = view.font();
    f.setPointSizeF(f.pointSizeF() * 1.2);
    view.setFont(f);
    view.setLaneCount(2);
    view.appendEvents(events);
    const QByteArray token = qgetenv("PLAYGROUND_TIMELINE_TOKEN"); // "sequence,position"
    if (!token.isEmpty()) {
        const QList<QByteArray> parts = token.split(',');
        view.highlightToken(parts.value(0).toInt(), parts.value(1).toInt());
    }
    const QByteArray range = qgetenv("PLAYGROUND_TIMELINE_RANGE"); // "beginNs,endNs"
    if (!range.isEmpty())
        view.setVisibleRange(range.split(',').value(0).toLongLong(), range.split(',').value(1).toLongLong());
    QImage image(view.size(), QImage::Format_ARGB32);
    view.render(&image);
    const QString out = QString::fromLocal8Bit(qgetenv("PLAYGROUND_TIMELINE_PNG"));
    QVERIFY(image.save(out.isEmpty() ? QStringLiteral("timeline.png") : out));
}

QTEST_MAIN(TestTimelineView)
#include "test_timelineview.moc"
