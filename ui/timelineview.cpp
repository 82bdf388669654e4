#include "ui/timelineview.h"

#include <QFontMetrics>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QLocale>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace ui {

namespace {

constexpr int kMargin = 8;
// The legend's items: a swatch, this gap, the op's name, then this space to the next item (tight enough that large
// text needs a row less).
constexpr int kSwatchGap = 5;
constexpr int kLegendItemGap = 12;
constexpr int kLaneGap = 4;
constexpr int64_t kMinSpanNs = 20;
constexpr int64_t kMaxSpanNs = int64_t(1e15);

const QColor kBackground(0xff, 0xff, 0xff);
const QColor kLaneBackground(0xe9, 0xec, 0xf0);
const QColor kGrid(0xc9, 0xcf, 0xd6);
const QColor kText(0x1a, 0x1a, 0x1a);
const QColor kMutedText(0x44, 0x4a, 0x52);
const QColor kHighlight(0xd8, 0x1b, 0x60);
const QColor kHighlightBand(0xff, 0xc1, 0x07, 90);
// Near-black hatching and edge read over every op colour (red would vanish on attention).
const QColor kStretched(0x10, 0x10, 0x10);

// Powers of ten in ns and the unit each names.
struct Unit {
    double ns;
    const char* name;
};
constexpr Unit kUnits[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "µs" }, { 1, "ns" } };

const Unit& unitFor(double ns)
{
    for (const Unit& u : kUnits)
        if (std::abs(ns) >= u.ns)
            return u;
    return kUnits[3];
}

// A tick label at t, with as many decimals as the tick step needs.
QString tickLabel(int64_t t, int64_t step)
{
    if (t == 0)
        return QStringLiteral("0");
    const Unit& u = unitFor(double(t));
    const int stepExp = int(std::floor(std::log10(double(step)) + 1e-9));
    const int unitExp = int(std::lround(std::log10(u.ns)));
    const int decimals = std::max(0, unitExp - stepExp);
    return QStringLiteral("%1 %2").arg(double(t) / u.ns, 0, 'f', decimals).arg(QString::fromUtf8(u.name));
}

bool isDark(const QColor& c) { return 0.299 * c.redF() + 0.587 * c.greenF() + 0.114 * c.blueF() < 0.55; }

} // namespace

QString formatDuration(int64_t ns)
{
    const Unit& u = unitFor(double(ns));
    const double v = double(ns) / u.ns;
    if (u.ns == 1)
        return QStringLiteral("%1 ns").arg(ns);
    const int decimals = std::abs(v) >= 100 ? 0 : std::abs(v) >= 10 ? 1 : 2;
    return QStringLiteral("%1 %2").arg(v, 0, 'f', decimals).arg(QString::fromUtf8(u.name));
}

int64_t niceTimeStep(double rawStepNs)
{
    if (!(rawStepNs > 1))
        return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(rawStepNs)));
    for (double m : { 1.0, 2.0, 5.0, 10.0 })
        if (m * magnitude >= rawStepNs * (1 - 1e-12))
            return int64_t(std::llround(m * magnitude));
    return int64_t(std::llround(10 * magnitude));
}

QColor opColor(engine::Op op)
{
    using engine::Op;
    switch (op) {
    case Op::AttnQ:
        return QColor(0x08, 0x30, 0x6b);
    case Op::AttnK:
        return QColor(0x2b, 0x7b, 0xd0);
    case Op::AttnV:
        return QColor(0x9e, 0xca, 0xe1);
    case Op::Attention:
        return QColor(0xd6, 0x27, 0x28);
    case Op::AttnOut:
        return QColor(0x17, 0xbe, 0xcf);
    case Op::FfnGate:
        return QColor(0x1b, 0x78, 0x37);
    case Op::FfnUp:
        return QColor(0xa6, 0xdb, 0xa0);
    case Op::FfnGateUp:
        return QColor(0x52, 0xb3, 0x5e);
    case Op::FfnDown:
        return QColor(0x00, 0x69, 0x5c);
    case Op::Logits:
        return QColor(0xf0, 0x7c, 0x12);
    case Op::RmsNorm:
        return QColor(0x9a, 0x9a, 0x9a);
    case Op::Rope:
        return QColor(0xd9, 0xc8, 0xa9);
    case Op::Serial:
        return QColor(0x4d, 0x4d, 0x4d);
    case Op::Embed:
        return QColor(0x8c, 0x51, 0x0a);
    case Op::Sampling:
        return QColor(0x6a, 0x3d, 0x9a);
    case Op::Tokenize:
        return QColor(0xd2, 0x91, 0xd0);
    case Op::Other:
        return QColor(0xe6, 0xc2, 0x29);
    case Op::Quantize:
        return QColor(0xe7, 0x29, 0x8a);
    case Op::Residual:
        return QColor(0x7f, 0x7f, 0x3f);
    case Op::WorkerJoin:
    case Op::WorkerLeave:
    case Op::Region:
    case Op::Count_:
        break;
    }
    return QColor(0x30, 0x30, 0x30);
}

TimelineView::TimelineView(QWidget* parent)
    : QWidget(parent)
    , m_laneScroll(new QScrollBar(Qt::Vertical, this))
{
    setMouseTracking(true);
    setFocusPolicy(Qt::WheelFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    m_laneScroll->hide();
    m_laneScroll->setToolTip(tr("Scroll the lanes (Shift+wheel, Up/Down)"));
    connect(m_laneScroll, &QScrollBar::valueChanged, this, [this] { update(); });
}

TimelineView::~TimelineView() = default;

void TimelineView::setLaneCount(int lanes)
{
    m_minLanes = std::clamp(lanes, 0, TimelineData::kMaxLanes);
    syncLaneScroll();
    update();
}

void TimelineView::setLaneCpus(std::vector<int> cpus)
{
    m_laneCpus = std::move(cpus);
    update();
}

int TimelineView::laneCount() const { return std::max(m_minLanes, m_data.laneCount()); }

int TimelineView::minimumLaneHeight() const
{
    // Room for a one-line label ("w3 45%") and a bar whose height can be read.
    return std::max(20, QFontMetrics(font()).height() + 6);
}

bool TimelineView::lanesScroll() const { return layout().contentHeight > layout().plot.height(); }

int TimelineView::laneScrollOffset() const
{
    const Layout& l = layout();
    return std::clamp(m_laneScroll->value(), 0, std::max(0, l.contentHeight - l.plot.height()));
}

void TimelineView::scrollLanesBy(int pixels)
{
    syncLaneScroll(); // a hidden widget gets no resize events: the range may be stale
    m_laneScroll->setValue(m_laneScroll->value() + pixels);
}

void TimelineView::syncLaneScroll()
{
    const Layout& l = layout();
    const bool scrolls = l.contentHeight > l.plot.height();
    if (scrolls) {
        const int w = m_laneScroll->sizeHint().width();
        m_laneScroll->setGeometry(width() - w, l.plot.top(), w, l.plot.height());
        m_laneScroll->setRange(0, l.contentHeight - l.plot.height());
        m_laneScroll->setPageStep(l.plot.height());
        m_laneScroll->setSingleStep(l.laneHeight + l.laneGap);
    } else {
        m_laneScroll->setRange(0, 0);
    }
    m_laneScroll->setVisible(scrolls);
}

void TimelineView::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    syncLaneScroll();
    if (event->oldSize().width() != width())
        updateMinimumLegend();
}

void TimelineView::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::FontChange) {
        syncLaneScroll();
        updateMinimumLegend();
    }
}

QString TimelineView::laneName(int lane) const
{
    return lane == 0 ? tr("worker 0 (caller)") : tr("worker %1").arg(lane);
}

std::vector<engine::Op> TimelineView::presentOps() const
{
    std::vector<engine::Op> ops;
    for (int op = 0; op < TimelineData::kOps; ++op)
        if (m_data.opCounts()[size_t(op)] > 0 && !engine::isMarker(engine::Op(op)))
            ops.push_back(engine::Op(op));
    return ops;
}

QString TimelineView::summaryText() const
{
    if (m_data.eventCount() == 0)
        return {};
    // Says what a bar's height means right where the bars are (the lane names' tool tip says more).
    QString text = tr("%1 chunks in %2 \u00b7 bar height = busy share")
                       .arg(QLocale().toString(qulonglong(m_data.eventCount())),
                           formatDuration(m_data.endNs() - m_data.beginNs()));
    int stretched = 0;
    for (int lane = 0; lane < m_data.laneCount(); ++lane)
        for (const engine::TraceEvent& e : m_data.longEvents(lane))
            stretched += m_data.isStretched(e) ? 1 : 0;
    if (stretched > 0)
        text += tr(" \u00b7 \u26a0 %n stretched (preempted?)", nullptr, stretched);
    // Zoomed or panned, the view no longer follows the run: say how to get back.
    return m_follow ? text : text + tr(" \u00b7 double-click: fit");
}

QString TimelineView::shownSummary(const QFontMetrics& fm, int w) const
{
    const int room = std::max(0, (w < 0 ? width() : w) - 2 * kMargin);
    QString text = summaryText();
    if (fm.horizontalAdvance(text) <= room)
        return text;
    // Large text or a narrow view: what a bar's height means is in the lanes' tool tips, why a chunk may be
    // stretched in the views' help.
    text.remove(tr(" \u00b7 bar height = busy share"));
    if (fm.horizontalAdvance(text) <= room)
        return text;
    text.remove(tr(" (preempted?)"));
    if (fm.horizontalAdvance(text) <= room)
        return text;
    // Cut after a whole word, never inside one ("8 stretche…").
    const QString ellipsis = QStringLiteral("\u2026");
    for (qsizetype end = text.lastIndexOf(QLatin1Char(' ')); end > 0;
         end = text.lastIndexOf(QLatin1Char(' '), end - 1)) {
        QString head = text.left(end);
        while (!head.isEmpty() && (head.back().isSpace() || head.back() == QChar(0x00b7)))
            head.chop(1);
        if (!head.isEmpty() && fm.horizontalAdvance(head + ellipsis) <= room)
            return head + ellipsis;
    }
    return fm.elidedText(text, Qt::ElideRight, room);
}

TimelineView::LegendFlow TimelineView::legendFlow(int w) const
{
    const QFontMetrics fm(font());
    auto itemWidth = [&fm](engine::Op op) {
        return (fm.height() - 2) + kSwatchGap + fm.horizontalAdvance(QString::fromUtf8(engine::opName(op)))
            + kLegendItemGap;
    };
    const QString summary = shownSummary(fm, w);
    const int summaryWidth = fm.horizontalAdvance(summary) + 2 * kMargin;
    // The summary right of the first row, the swatches after it.
    const int legendRight = w - kMargin - summaryWidth;
    int first = 1;
    // The legend uses the width over the lane names too: fewer rows, more height for the lanes.
    int x = kMargin;
    for (engine::Op op : presentOps()) {
        const int item = itemWidth(op);
        // The summary shares the first row only; later rows use the whole width.
        const int right = first == 1 ? legendRight : w - kMargin;
        // On the first row even the first swatch waits for the next row when the summary leaves no room for it
        // (large text, a narrow view).
        if (x + item > right && (x > kMargin || first == 1)) {
            ++first;
            x = kMargin;
        }
        x += item;
    }
    // Or the swatches first, the summary at the end of their last row or on a row of its own: with large text the
    // summary's room on the first row often costs a row.
    int last = 1;
    x = kMargin;
    for (engine::Op op : presentOps()) {
        const int item = itemWidth(op);
        if (x + item > w - kMargin && x > kMargin) {
            ++last;
            x = kMargin;
        }
        x += item;
    }
    // At the end of the last row it may be shorter, not cut.
    const QString lastSummary = shownSummary(fm, w - x);
    if (!summary.isEmpty()
        && (lastSummary.endsWith(QChar(0x2026)) || x + fm.horizontalAdvance(lastSummary) + 2 * kMargin > w - kMargin))
        ++last;
    return last < first ? LegendFlow { last, true } : LegendFlow { first, false };
}

int TimelineView::minimumLegendRows() const
{
    return m_data.eventCount() == 0 ? 1 : std::clamp(legendFlow(width()).rows, 1, kMaxMinimumLegendRows);
}

void TimelineView::updateMinimumLegend()
{
    const int rows = minimumLegendRows();
    if (rows != m_minLegendRows) {
        m_minLegendRows = rows;
        updateGeometry();
    }
}

const TimelineView::Layout& TimelineView::layout() const
{
    uint32_t ops = 0;
    for (int op = 0; op < TimelineData::kOps; ++op)
        if (m_data.opCounts()[size_t(op)] > 0)
            ops |= 1u << op;
    LayoutKey key { size(), laneCount(), ops, m_data.eventCount(), m_data.endNs() - m_data.beginNs(), m_follow,
        font() };
    if (!(key == m_layoutKey)) {
        m_layoutKey = std::move(key);
        m_layout = computeLayout();
    }
    return m_layout;
}

TimelineView::Layout TimelineView::computeLayout() const
{
    Layout l;
    const QFontMetrics fm(font());
    QFont bold = font();
    bold.setBold(true);
    const QFontMetrics bfm(bold);
    const int lanes = laneCount();

    int labelWidth = bfm.horizontalAdvance(laneName(0));
    if (lanes > 1)
        labelWidth = std::max(labelWidth, bfm.horizontalAdvance(laneName(lanes - 1)));
    labelWidth = std::max(
        labelWidth, fm.horizontalAdvance(m_laneCpus.empty() ? tr("100.0% busy") : tr("100.0% busy · CPU 000")));
    l.labelWidth = labelWidth + 2 * kMargin;

    // Legend: swatches flowing left to right, wrapping before the summary on the first row.
    const int rowHeight = fm.height() + 6;
    int rows = legendFlow(width()).rows;
    const int axisHeight = 6 + fm.height() + kMargin;
    // A narrow view shows fewer legend rows rather than squeezing the lanes below two.
    const int roomForLegend = height() - axisHeight - kMargin - 6 - 2 * minimumLaneHeight() - kLaneGap;
    rows = std::clamp(roomForLegend / rowHeight, 1, rows);
    l.legendTop = kMargin;
    l.legendHeight = rows * rowHeight;

    const int lanesTop = l.legendTop + l.legendHeight + 6;
    const int lanesBottom = height() - axisHeight;
    const int area = std::max(0, lanesBottom - lanesTop);
    l.laneGap = lanes > 1 ? kLaneGap : 0;
    const int maxLane = 12 * fm.height(); // few lanes fill the height (a projector), within reason
    const int minLane = minimumLaneHeight();
    l.laneHeight
        = lanes > 0 ? std::clamp((area - l.laneGap * (lanes - 1)) / lanes, minLane, std::max(minLane, maxLane)) : 0;
    l.contentHeight = lanes > 0 ? lanes * l.laneHeight + (lanes - 1) * l.laneGap : area;
    // Lanes that do not fit scroll under a fixed legend and axis; the scroll bar takes the right margin and more.
    const int plotHeight = std::min(l.contentHeight, std::max(area, minLane));
    const bool scrolls = l.contentHeight > plotHeight;
    const int scrollWidth = scrolls ? m_laneScroll->sizeHint().width() + 2 : 0;
    const int plotWidth = std::max(1, width() - l.labelWidth - 2 * kMargin - scrollWidth);
    l.plot = QRect(l.labelWidth, lanesTop, plotWidth, plotHeight);
    l.axisTop = l.plot.bottom() + 1;
    return l;
}

QRect TimelineView::plotRect() const { return layout().plot; }

int TimelineView::legendRowsShown() const { return layout().legendHeight / (QFontMetrics(font()).height() + 6); }

QRect TimelineView::laneRect(int lane) const
{
    const Layout& l = layout();
    if (lane < 0 || lane >= laneCount())
        return {};
    const int offset = laneScrollOffset();
    return QRect(
        l.plot.left(), l.plot.top() + lane * (l.laneHeight + l.laneGap) - offset, l.plot.width(), l.laneHeight);
}

double TimelineView::timeToX(int64_t ns) const
{
    const QRect plot = plotRect();
    const double span = double(m_viewEnd - m_viewBegin);
    return plot.left() + double(ns - m_viewBegin) * plot.width() / span;
}

int64_t TimelineView::xToTime(double x) const
{
    const QRect plot = plotRect();
    const double span = double(m_viewEnd - m_viewBegin);
    return m_viewBegin + int64_t(std::llround((x - plot.left()) * span / plot.width()));
}

void TimelineView::setRange(int64_t beginNs, int64_t endNs)
{
    if (endNs - beginNs < kMinSpanNs) {
        const int64_t mid = beginNs + (endNs - beginNs) / 2;
        beginNs = mid - kMinSpanNs / 2;
        endNs = beginNs + kMinSpanNs;
    }
    if (endNs - beginNs > kMaxSpanNs)
        endNs = beginNs + kMaxSpanNs;
    if (beginNs == m_viewBegin && endNs == m_viewEnd)
        return;
    m_viewBegin = beginNs;
    m_viewEnd = endNs;
    update();
    Q_EMIT visibleRangeChanged(m_viewBegin, m_viewEnd);
}

void TimelineView::setFollow(bool follow)
{
    m_follow = follow;
    update();
}

void TimelineView::setVisibleRange(int64_t beginNs, int64_t endNs)
{
    setFollow(false);
    setRange(beginNs, endNs);
}

void TimelineView::zoomAt(double x, double factor)
{
    if (!(factor > 0))
        return;
    setFollow(false);
    const QRect plot = plotRect();
    const double fraction = (x - plot.left()) / plot.width();
    const double span = double(m_viewEnd - m_viewBegin);
    const double anchor = double(m_viewBegin) + fraction * span;
    const double newSpan = std::clamp(span / factor, double(kMinSpanNs), double(kMaxSpanNs));
    const int64_t begin = std::llround(anchor - fraction * newSpan);
    setRange(begin, begin + std::llround(newSpan));
}

void TimelineView::panByPixels(double dx)
{
    setFollow(false);
    const int64_t shift = std::llround(dx * double(m_viewEnd - m_viewBegin) / plotRect().width());
    setRange(m_viewBegin - shift, m_viewEnd - shift);
}

void TimelineView::fitRange()
{
    if (m_data.eventCount() == 0) {
        setRange(0, 1'000'000);
        return;
    }
    const int64_t begin = m_data.beginNs();
    const int64_t end = m_data.endNs();
    // A little room after the last chunk so its end is visibly an end.
    setRange(begin, end + std::max<int64_t>(1, (end - begin) / 100));
}

void TimelineView::fitAll()
{
    setFollow(true);
    fitRange();
}

void TimelineView::appendEvents(const std::vector<engine::TraceEvent>& events)
{
    if (events.empty())
        return;
    const int lanesBefore = laneCount();
    m_data.append(events);
    if (laneCount() != lanesBefore)
        syncLaneScroll();
    if (m_highlight)
        addHighlights(events);
    if (m_follow)
        fitRange();
    updateMinimumLegend();
    update();
}

void TimelineView::clear()
{
    m_data.clear();
    m_hover.reset();
    m_selectedRegion.reset();
    m_highlightSpans.clear();
    m_highlightBegin = m_highlightEnd = 0;
    m_laneScroll->setValue(0);
    syncLaneScroll();
    if (m_follow)
        fitRange();
    updateMinimumLegend();
    update();
}

bool TimelineView::matchesHighlight(const engine::TraceEvent& e) const
{
    return m_highlight && !engine::isMarker(e.op) && e.sequence == m_highlight->first
        && m_highlight->second >= e.position && m_highlight->second < e.position + std::max<int>(1, e.tokens);
}

void TimelineView::addHighlights(const std::vector<engine::TraceEvent>& events)
{
    bool changed = false;
    for (const engine::TraceEvent& e : events) {
        if (!matchesHighlight(e) || e.worker < 0 || e.worker >= TimelineData::kMaxLanes)
            continue;
        if (size_t(e.worker) >= m_highlightSpans.size())
            m_highlightSpans.resize(size_t(e.worker) + 1);
        auto& spans = m_highlightSpans[size_t(e.worker)];
        const std::pair<int64_t, int64_t> span { e.beginNs, e.endNs };
        spans.insert(std::upper_bound(spans.begin(), spans.end(), span), span);
        const bool first = m_highlightBegin == m_highlightEnd;
        m_highlightBegin = first ? e.beginNs : std::min(m_highlightBegin, e.beginNs);
        m_highlightEnd = first ? e.endNs : std::max(m_highlightEnd, e.endNs);
        changed = true;
    }
    if (!changed)
        return;
    // Merge overlapping spans so painting walks each lane once.
    for (auto& spans : m_highlightSpans) {
        std::vector<std::pair<int64_t, int64_t>> merged;
        for (const auto& s : spans) {
            if (!merged.empty() && s.first <= merged.back().second)
                merged.back().second = std::max(merged.back().second, s.second);
            else
                merged.push_back(s);
        }
        spans = std::move(merged);
    }
}

void TimelineView::highlightToken(int sequence, int position)
{
    m_highlight = std::make_pair(sequence, position);
    m_highlightSpans.clear();
    m_highlightBegin = m_highlightEnd = 0;
    for (int lane = 0; lane < m_data.laneCount(); ++lane)
        addHighlights(m_data.events(lane));
    update();
}

void TimelineView::clearHighlight()
{
    m_highlight.reset();
    m_highlightSpans.clear();
    m_highlightBegin = m_highlightEnd = 0;
    update();
}

std::vector<engine::TraceEvent> TimelineView::highlightedEvents() const
{
    std::vector<engine::TraceEvent> out;
    if (!m_highlight)
        return out;
    for (int lane = 0; lane < m_data.laneCount(); ++lane)
        for (const engine::TraceEvent& e : m_data.events(lane))
            if (matchesHighlight(e))
                out.push_back(e);
    return out;
}

std::optional<engine::TraceEvent> TimelineView::eventAt(QPoint pos) const
{
    const QRect plot = plotRect();
    if (pos.y() < plot.top() || pos.y() > plot.bottom())
        return std::nullopt; // a lane scrolled out of view
    int lane = -1;
    for (int i = 0; i < laneCount(); ++i) {
        if (laneRect(i).contains(pos)) {
            lane = i;
            break;
        }
    }
    if (lane < 0)
        return std::nullopt;
    const std::vector<engine::TraceEvent>& events = m_data.events(lane);
    const int64_t t = xToTime(pos.x() + 0.5);
    const double nsPerPixel = double(m_viewEnd - m_viewBegin) / std::max(1, plotRect().width());
    // Chunks thinner than a pixel can still be hit within two pixels; the nearest one wins.
    const int64_t slack = int64_t(std::ceil(2 * nsPerPixel));
    const auto [first, last] = m_data.overlapping(lane, t - slack, t + slack + 1);
    std::optional<engine::TraceEvent> best;
    int64_t bestDistance = std::numeric_limits<int64_t>::max();
    for (size_t i = first; i < last; ++i) {
        const engine::TraceEvent& e = events[i];
        const int64_t distance = t < e.beginNs ? e.beginNs - t : t >= e.endNs ? t - e.endNs + 1 : 0;
        const bool thin = double(e.durationNs()) < 3 * nsPerPixel;
        if (distance > 0 && !thin)
            continue;
        if (distance > slack)
            continue;
        // <=: among equals the later one in lane order is the innermost nested slice.
        if (distance <= bestDistance) {
            bestDistance = distance;
            best = e;
        }
    }
    return best;
}

QSize TimelineView::sizeHint() const
{
    const QFontMetrics fm(font());
    const int lanes = std::max(2, laneCount());
    return QSize(900, 2 * kMargin + 2 * fm.height() + 12 + lanes * (2 * fm.height() + 10) + fm.height() + 6);
}

QSize TimelineView::minimumSizeHint() const
{
    // The legend (every op, within reason), two lanes of the minimum height and the axis: lanes are never squeezed
    // into strips, and the ops' colours stay named.
    const QFontMetrics fm(font());
    const int legend = kMargin + minimumLegendRows() * (fm.height() + 6) + 6;
    const int axis = 6 + fm.height() + kMargin;
    return QSize(320, legend + 2 * minimumLaneHeight() + kLaneGap + axis);
}

void TimelineView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), kBackground);
    const Layout& layout = this->layout();
    const int lanes = laneCount();

    // Lanes scrolled partly out of view are cut at the plot's top and bottom (the label column too).
    p.setClipRect(QRect(0, layout.plot.top(), width(), layout.plot.height()));
    for (int lane = 0; lane < lanes; ++lane)
        p.fillRect(laneRect(lane), kLaneBackground);

    // Grid lines under the chunks, at the axis ticks.
    const int64_t step = tickStep(layout);
    const int64_t firstTick = int64_t(std::ceil(double(m_viewBegin) / double(step))) * step;
    p.setPen(kGrid);
    for (int64_t t = firstTick; t <= m_viewEnd; t += step) {
        const int x = int(std::floor(timeToX(t)));
        p.drawLine(x, layout.plot.top(), x, layout.plot.bottom());
    }

    // The token's band goes under the chunks so their colours stay true; the outlines go over them.
    paintHighlight(p, layout, true);
    if (m_selectedRegion) {
        // The selected region, fork to join, as a band across every lane.
        const double x0 = std::max(timeToX(m_selectedRegion->beginNs), double(layout.plot.left()));
        const double x1 = std::min(timeToX(m_selectedRegion->endNs), double(layout.plot.right() + 1));
        if (x1 >= x0)
            p.fillRect(QRectF(x0 - 1, layout.plot.top(), std::max(3.0, x1 - x0 + 2), layout.plot.height()),
                QColor(255, 200, 0, 90));
    }
    for (int lane = 0; lane < lanes; ++lane) {
        const QRect r = laneRect(lane);
        if (r.bottom() >= layout.plot.top() && r.top() <= layout.plot.bottom())
            paintLane(p, layout, lane);
    }
    paintHighlight(p, layout, false);

    if (m_hover) {
        const QRect lr = laneRect(m_hover->worker);
        const double x0 = std::max(timeToX(m_hover->beginNs), double(layout.plot.left()));
        const double x1 = std::min(timeToX(m_hover->endNs), double(layout.plot.right() + 1));
        if (lr.isValid() && x1 >= x0) {
            p.setPen(QPen(kText, 2));
            p.setBrush(Qt::NoBrush);
            p.drawRect(QRectF(x0 - 1, lr.top() + 1, std::max(2.0, x1 - x0 + 2), lr.height() - 2));
        }
    }
    p.setClipping(false);

    if (m_data.eventCount() == 0) {
        p.setPen(kMutedText);
        // Over the view's whole width, wrapped: the plot alone is too narrow for it in presentation mode.
        const QRect hint(rect().left() + 8, layout.plot.top(), rect().width() - 16, layout.plot.height());
        p.drawText(hint, Qt::AlignCenter | Qt::TextWordWrap,
            tr("No trace yet: run a prompt to see every worker's chunks here"));
    }

    paintAxis(p, layout);
    paintLegend(p, layout);
}

void TimelineView::paintLane(QPainter& p, const Layout& layout, int lane) const
{
    const QRect r = laneRect(lane);
    const QFontMetrics fm(font());

    // Label: bold name and busy share, vertically centred in the lane.
    QFont bold = font();
    bold.setBold(true);
    const QRect labelRect(kMargin, r.top(), layout.labelWidth - 2 * kMargin, r.height());
    QString busy = laneBusyText(lane);
    if (size_t(lane) < m_laneCpus.size())
        busy += tr(" · CPU %1").arg(m_laneCpus[size_t(lane)]);
    p.setPen(kText);
    if (r.height() >= 2 * fm.height()) {
        p.setFont(bold);
        p.drawText(labelRect.adjusted(0, 0, 0, -r.height() / 2), Qt::AlignLeft | Qt::AlignBottom, laneName(lane));
        p.setFont(font());
        p.setPen(kMutedText);
        p.drawText(labelRect.adjusted(0, r.height() / 2, 0, 0), Qt::AlignLeft | Qt::AlignTop, busy);
    } else if (r.height() >= fm.height() - 2) {
        p.setFont(bold);
        p.drawText(labelRect, Qt::AlignLeft | Qt::AlignVCenter,
            tr("w%1 %2%").arg(lane).arg(100.0 * m_data.busyFraction(lane), 0, 'f', 0));
        p.setFont(font());
    }

    if (lane >= m_data.laneCount() || m_data.eventCount(lane) == 0)
        return;

    // One bucket per pixel column: bar height = busy share of the column, colour = the op with the most time.
    // Neighbouring columns with the same height and op become one rectangle.
    const int columns = r.width();
    const std::vector<TimelineBucket> buckets = m_data.buckets(lane, m_viewBegin, m_viewEnd, columns);
    auto heightOf = [&](const TimelineBucket& b) {
        if (b.busyNs <= 0)
            return 0;
        const double fraction = double(b.busyNs) / double(std::max<int64_t>(1, b.endNs - b.beginNs));
        return std::clamp(int(std::lround(fraction * r.height())), 1, r.height());
    };
    int k = 0;
    while (k < columns) {
        const int h = heightOf(buckets[size_t(k)]);
        const engine::Op op = buckets[size_t(k)].dominant;
        int end = k + 1;
        while (end < columns && heightOf(buckets[size_t(end)]) == h && buckets[size_t(end)].dominant == op)
            ++end;
        if (h > 0)
            p.fillRect(QRect(r.left() + k, r.bottom() + 1 - h, end - k, h), opColor(op));
        k = end;
    }

    // Chunks the OS probably stretched: hatched, with a dark edge on top over a white line, at any zoom,
    // so a long bar that is waiting rather than working does not pass for work.
    for (const engine::TraceEvent& e : m_data.longEvents(lane)) {
        if (e.endNs <= m_viewBegin || e.beginNs >= m_viewEnd || !m_data.isStretched(e))
            continue;
        const double x0 = std::max(timeToX(e.beginNs), double(r.left()));
        const double x1 = std::min(timeToX(e.endNs), double(r.right() + 1));
        const QRectF band(x0, r.top(), std::max(3.0, x1 - x0), r.height());
        p.fillRect(band, QBrush(kStretched, Qt::BDiagPattern));
        p.fillRect(QRectF(band.left(), r.top(), band.width(), 3), kStretched);
        p.fillRect(QRectF(band.left(), r.top() + 3, band.width(), 1), Qt::white);
    }

    // Zoomed in far enough that chunks are wider than pixels: mark chunk edges and name the wide ones.
    const auto [first, last] = m_data.overlapping(lane, m_viewBegin, m_viewEnd);
    if (last - first > size_t(columns))
        return;
    const std::vector<engine::TraceEvent>& events = m_data.events(lane);
    const bool labels = r.height() >= fm.height();
    const double scale = double(columns) / double(m_viewEnd - m_viewBegin);
    auto xOf = [&](int64_t t) { return r.left() + double(t - m_viewBegin) * scale; };
    std::array<int, TimelineData::kOps> nameWidth;
    nameWidth.fill(-1);
    const int layerWidth = fm.horizontalAdvance(QStringLiteral(" L00"));
    p.save();
    p.setClipRect(r, Qt::IntersectClip);
    for (size_t i = first; i < last; ++i) {
        const engine::TraceEvent& e = events[i];
        const double x0 = xOf(e.beginNs);
        const double x1 = xOf(e.endNs);
        if (x1 - x0 < 4)
            continue;
        const QColor c = opColor(e.op);
        const double left = std::max(x0, double(r.left()));
        const double right = std::min(x1, double(r.right() + 1));
        p.fillRect(QRect(int(std::floor(x0)), r.top(), 1, r.height()), c.darker(170));
        const size_t op = size_t(e.op) % size_t(TimelineData::kOps);
        if (!labels || right - left < 24)
            continue;
        if (nameWidth[op] < 0)
            nameWidth[op] = fm.horizontalAdvance(QString::fromUtf8(engine::opName(e.op)));
        if (nameWidth[op] + 8 > right - left)
            continue;
        QString text = QString::fromUtf8(engine::opName(e.op));
        if (e.layer >= 0 && nameWidth[op] + layerWidth + 8 < right - left)
            text += QStringLiteral(" L%1").arg(e.layer);
        p.setPen(isDark(c) ? Qt::white : kText);
        p.drawText(QRectF(left, r.top(), right - left, r.height()), Qt::AlignCenter, text);
    }
    p.restore();
}

void TimelineView::paintHighlight(QPainter& p, const Layout& layout, bool band) const
{
    if (!m_highlight || m_highlightEnd <= m_highlightBegin)
        return;
    if (band) {
        const double left = std::max(timeToX(m_highlightBegin), double(layout.plot.left()));
        const double right = std::min(timeToX(m_highlightEnd), double(layout.plot.right() + 1));
        if (right >= left)
            p.fillRect(QRectF(left - 1, layout.plot.top(), std::max(3.0, right - left + 2), layout.plot.height()),
                kHighlightBand);
        return;
    }

    p.setPen(QPen(kHighlight, 2));
    p.setBrush(Qt::NoBrush);
    for (size_t lane = 0; lane < m_highlightSpans.size(); ++lane) {
        const QRect r = laneRect(int(lane));
        const auto& spans = m_highlightSpans[lane];
        auto it = std::lower_bound(spans.begin(), spans.end(), std::make_pair(m_viewBegin, m_viewBegin),
            [](const auto& a, const auto& b) { return a.second < b.first; });
        // Spans closer than a few pixels are outlined as one box.
        double x0 = -1;
        double x1 = -1;
        auto flush = [&] {
            if (x0 >= 0)
                p.drawRect(QRectF(x0 - 1, r.top() + 1, std::max(2.0, x1 - x0 + 2), r.height() - 2));
        };
        for (; it != spans.end() && it->first < m_viewEnd; ++it) {
            const double a = std::max(timeToX(it->first), double(r.left()));
            const double b = std::min(timeToX(it->second), double(r.right() + 1));
            if (x0 >= 0 && a - x1 < 4) {
                x1 = std::max(x1, b);
                continue;
            }
            flush();
            x0 = a;
            x1 = b;
        }
        flush();
    }
}

int64_t TimelineView::tickStep(const Layout& layout) const
{
    // Room for a typical label and some air between neighbours.
    const int labelSpacing = QFontMetrics(font()).horizontalAdvance(QStringLiteral("888.888 ms")) + 24;
    return niceTimeStep(double(m_viewEnd - m_viewBegin) * labelSpacing / std::max(1, layout.plot.width()));
}

void TimelineView::paintAxis(QPainter& p, const Layout& layout) const
{
    const QFontMetrics fm(font());
    const int64_t step = tickStep(layout);
    const int64_t firstTick = int64_t(std::ceil(double(m_viewBegin) / double(step))) * step;
    const int y = layout.axisTop + 2;

    p.setFont(font());
    p.setPen(kText);
    p.drawLine(layout.plot.left(), y, layout.plot.right(), y);
    for (int64_t t = firstTick; t <= m_viewEnd; t += step) {
        const int x = int(std::floor(timeToX(t)));
        p.drawLine(x, y, x, y + 4);
        const QString text = tickLabel(t, step);
        const int w = fm.horizontalAdvance(text);
        const int left = std::clamp(x - w / 2, 0, width() - w - 2);
        p.drawText(QRect(left, y + 5, w + 2, fm.height()), Qt::AlignLeft | Qt::AlignTop, text);
    }
}

void TimelineView::paintLegend(QPainter& p, const Layout& layout) const
{
    const QFontMetrics fm(font());
    const int rowHeight = fm.height() + 6;
    const int summaryRight = width() - kMargin;
    const LegendFlow flow = legendFlow(width());
    // The summary after the swatches only when every row is shown (else it keeps the first row's end).
    const bool summaryLast = flow.summaryLast && layout.legendHeight >= flow.rows * rowHeight;
    auto drawSummary = [&](const QString& summary, int y) {
        p.setPen(kMutedText);
        p.drawText(
            QRect(kMargin, y + 3, summaryRight - kMargin, fm.height()), Qt::AlignRight | Qt::AlignVCenter, summary);
    };
    p.setFont(font());
    const QString firstRowSummary = shownSummary(fm);
    const int legendRight
        = summaryLast ? summaryRight : summaryRight - fm.horizontalAdvance(firstRowSummary) - 2 * kMargin;
    if (!summaryLast)
        drawSummary(firstRowSummary, layout.legendTop);

    int x = kMargin;
    int y = layout.legendTop;
    for (engine::Op op : presentOps()) {
        const QString name = QString::fromUtf8(engine::opName(op));
        const int swatch = fm.height() - 2;
        const int item = swatch + kSwatchGap + fm.horizontalAdvance(name) + kLegendItemGap;
        const int right = y == layout.legendTop ? legendRight : summaryRight;
        if (x + item > right && (x > kMargin || (y == layout.legendTop && !summaryLast))) {
            x = kMargin;
            y += rowHeight;
        }
        if (y + rowHeight > layout.legendTop + layout.legendHeight)
            break; // no room for more rows (see computeLayout)
        p.fillRect(QRect(x, y + 3 + (fm.height() - swatch) / 2, swatch, swatch), opColor(op));
        p.setPen(kText);
        p.drawText(QRect(x + swatch + kSwatchGap, y + 3, item, fm.height()), Qt::AlignLeft | Qt::AlignVCenter, name);
        x += item;
    }
    if (summaryLast) {
        // After the last swatch if it fits there whole (shortened, not cut), else on a row of its own.
        const QString last = shownSummary(fm, width() - x);
        if (!last.endsWith(QChar(0x2026)) && x + fm.horizontalAdvance(last) + 2 * kMargin <= summaryRight)
            drawSummary(last, y);
        else
            drawSummary(shownSummary(fm), y + rowHeight);
    }
}

QString TimelineView::laneLabelTip(int lane) const
{
    const QString busy = m_data.runWallNs() > 0
        ? tr("busy %1% of the run's wall time (from Run to the end), as the Workers tab's \"Busy % of run\"")
        : tr("busy %1% of the time from Run to the latest chunk so far");
    return tr("<b>%1</b>: %2<br>Each pixel column's bar: <b>height</b> = the share of the column's time this worker "
              "was busy, <b>colour</b> = the op that took most of it. Gaps are idle time.")
        .arg(laneName(lane), busy.arg(100.0 * m_data.busyFraction(lane), 0, 'f', 1));
}

void TimelineView::setRunWallNs(int64_t ns)
{
    m_data.setRunWallNs(ns);
    update();
}

QString TimelineView::laneBusyText(int lane) const
{
    return tr("%1% busy").arg(100.0 * m_data.busyFraction(lane), 0, 'f', 1);
}

QString TimelineView::eventDescription(const engine::TraceEvent& ev) const
{
    QString text = QStringLiteral("<b>%1</b>").arg(QString::fromUtf8(engine::opName(ev.op)));
    text += ev.layer >= 0 ? tr(" &middot; layer %1").arg(ev.layer) : tr(" &middot; outside layers");
    if (ev.last > ev.first)
        text += tr("<br>%1 %2&ndash;%3 (%4)")
                    .arg(ev.op == engine::Op::Attention ? tr("heads") : tr("rows"))
                    .arg(ev.first)
                    .arg(ev.last - 1)
                    .arg(ev.last - ev.first);
    text += tr("<br>sequence %1 &middot; token %2").arg(ev.sequence).arg(ev.position);
    if (ev.tokens > 1)
        text += tr("&ndash;%1 (%2 tokens)").arg(ev.position + ev.tokens - 1).arg(ev.tokens);
    text += tr("<br>duration <b>%1</b>").arg(formatDuration(ev.durationNs()));
    const double slowdown = m_data.slowdown(ev);
    if (slowdown >= TimelineData::kStretchFactor)
        text += tr("<br><font color=\"#b00020\"><b>&#9888; stretched: %1&times; this op's usual time per row</b>"
                   "</font><br>the thread was probably preempted by the OS, or its core was busy with another "
                   "process")
                    .arg(slowdown, 0, 'f', 0);
    // Start and end to the microsecond, as the axis would label them.
    text += tr("<br>%1, %2 &rarr; %3").arg(laneName(ev.worker), tickLabel(ev.beginNs, 1000), tickLabel(ev.endNs, 1000));
    if (m_data.enclosingRegion(ev))
        text += tr("<br><i>click: its parallel region in the Why tab</i>");
    return text;
}

bool TimelineView::event(QEvent* e)
{
    if (e->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(e);
        const QRect plot = plotRect();
        if (help->pos().x() < plot.left() && help->pos().y() >= plot.top() && help->pos().y() <= plot.bottom()) {
            for (int lane = 0; lane < laneCount(); ++lane)
                if (laneRect(lane).top() <= help->pos().y() && help->pos().y() <= laneRect(lane).bottom()) {
                    QToolTip::showText(help->globalPos(), laneLabelTip(lane), this);
                    return true;
                }
        }
        const std::optional<engine::TraceEvent> ev = eventAt(help->pos());
        if (!ev) {
            QToolTip::hideText();
            e->ignore();
            return true;
        }
        const QString text = eventDescription(*ev);
        QToolTip::showText(help->globalPos(), text, this);
        return true;
    }
    return QWidget::event(e);
}

void TimelineView::wheelEvent(QWheelEvent* event)
{
    const QPoint delta = event->angleDelta();
    // Shift+wheel, or the wheel over the lane names, scrolls the lanes when they do not all fit.
    const bool overLabels = event->position().x() < plotRect().left();
    if (lanesScroll() && ((event->modifiers() & Qt::ShiftModifier) || overLabels)) {
        const int d = delta.y() != 0 ? delta.y() : delta.x();
        scrollLanesBy(-d * m_laneScroll->singleStep() / 120);
        event->accept();
        return;
    }
    if (delta.y() != 0)
        zoomAt(event->position().x(), std::pow(1.25, delta.y() / 120.0));
    else if (delta.x() != 0)
        panByPixels(delta.x() / 2.0);
    event->accept();
}

void TimelineView::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton) {
        m_dragging = true;
        m_dragX = event->position().x();
        m_pressPos = event->position();
        setCursor(Qt::ClosedHandCursor);
        event->accept();
        return;
    }
    QWidget::mousePressEvent(event);
}

void TimelineView::mouseMoveEvent(QMouseEvent* event)
{
    if (m_dragging) {
        const double x = event->position().x();
        if (x != m_dragX)
            panByPixels(x - m_dragX);
        m_dragX = x;
        return;
    }
    const std::optional<engine::TraceEvent> hit = eventAt(event->position().toPoint());
    const bool same = hit.has_value() == m_hover.has_value()
        && (!hit
            || (hit->beginNs == m_hover->beginNs && hit->worker == m_hover->worker && hit->endNs == m_hover->endNs));
    if (same)
        return;
    m_hover = hit;
    update();
    if (hit)
        Q_EMIT hovered(*hit);
}

void TimelineView::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton && m_dragging) {
        m_dragging = false;
        unsetCursor();
        if ((event->position() - m_pressPos).manhattanLength() < 4)
            selectAt(event->position().toPoint());
        return;
    }
    QWidget::mouseReleaseEvent(event);
}

bool TimelineView::selectAt(QPoint pos)
{
    const std::optional<engine::TraceEvent> hit = eventAt(pos);
    const std::optional<engine::TraceEvent> region = hit ? m_data.enclosingRegion(*hit) : std::nullopt;
    if (!region) {
        clearSelection();
        return false;
    }
    m_selectedRegion = region;
    update();
    Q_EMIT regionSelected(*region, *hit);
    return true;
}

void TimelineView::clearSelection()
{
    if (!m_selectedRegion)
        return;
    m_selectedRegion.reset();
    update();
    Q_EMIT selectionCleared();
}

void TimelineView::mouseDoubleClickEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton)
        fitAll();
}

void TimelineView::keyPressEvent(QKeyEvent* event)
{
    const double centre = plotRect().center().x();
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomAt(centre, 1.5);
        break;
    case Qt::Key_Minus:
        zoomAt(centre, 1 / 1.5);
        break;
    case Qt::Key_Left:
        panByPixels(plotRect().width() / 8.0);
        break;
    case Qt::Key_Right:
        panByPixels(-plotRect().width() / 8.0);
        break;
    case Qt::Key_Up:
        scrollLanesBy(-m_laneScroll->singleStep());
        break;
    case Qt::Key_Down:
        scrollLanesBy(m_laneScroll->singleStep());
        break;
    case Qt::Key_Home:
    case Qt::Key_0:
        fitAll();
        break;
    default:
        QWidget::keyPressEvent(event);
    }
}

void TimelineView::leaveEvent(QEvent* event)
{
    if (m_hover) {
        m_hover.reset();
        update();
    }
    QWidget::leaveEvent(event);
}

} // namespace ui
