// The live per-thread timeline: one lane per worker slot, chunks coloured by op, zoom, pan, hover, highlight.
#pragma once

#include "engine/parallel/trace.h"
#include "ui/timelinedata.h"

#include <QColor>
#include <QFont>
#include <QString>
#include <QWidget>

class QFontMetrics;
class QScrollBar;

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace ui {

// "850 ns", "12.4 µs", "3.21 ms", "1.23 s": three significant digits in the largest unit that keeps the number
// at least 1.
QString formatDuration(int64_t ns);
// The 1-2-5 step (in ns, >= 1) nearest above `rawStepNs`.
int64_t niceTimeStep(double rawStepNs);
// The fixed colour of an op: attention projections blues and cyan, the attention itself red, FFN greens
// and teal, logits orange, norms/rope/serial greys, embedding brown, sampling and tokenize purples. Any
// two ops differ by a CIE76 colour difference of at least 20, so neighbouring chunks read apart.
QColor opColor(engine::Op op);

class TimelineView : public QWidget {
    Q_OBJECT
public:
    explicit TimelineView(QWidget* parent = nullptr);
    ~TimelineView() override;

    const TimelineData& data() const { return m_data; }
    // Lanes shown even before a worker records anything (the run's thread count).
    void setLaneCount(int lanes);
    // The CPU each lane's thread was pinned to (index = lane), shown under its name; empty: not pinned.
    void setLaneCpus(std::vector<int> cpus);
    int laneCount() const;
    // The finished run's wall time (ns): the lane labels' busy share divides by it, as the Workers tab's "Busy %
    // of run" does; until it is given (while a run goes), by the time elapsed so far. clear() forgets it.
    void setRunWallNs(int64_t ns);
    // A lane label's busy share as drawn ("12.3% busy").
    QString laneBusyText(int lane) const;
    // Lanes never get lower than this; when they do not all fit, the lanes scroll (scroll bar on the
    // right, Shift+wheel, Up/Down) while the legend and the time axis stay put.
    int minimumLaneHeight() const;
    bool lanesScroll() const;
    int laneScrollOffset() const; // pixels scrolled down
    void scrollLanesBy(int pixels);

    // Mapping between time (ns since the run started) and widget x, over the visible range.
    double timeToX(int64_t ns) const;
    int64_t xToTime(double x) const;
    void setVisibleRange(int64_t beginNs, int64_t endNs); // user-level: turns follow off
    std::pair<int64_t, int64_t> visibleRange() const { return { m_viewBegin, m_viewEnd }; }
    // factor > 1 zooms in, keeping the time under x where it is; turns follow off.
    void zoomAt(double x, double factor);
    // Moves the content right by dx pixels (the visible range moves back in time); turns follow off.
    void panByPixels(double dx);
    // While following, every append refits the view to the whole run.
    bool isFollowing() const { return m_follow; }

    // Where lanes and chunks are drawn. laneRect is in widget coordinates after scrolling, so it can lie
    // partly or wholly outside plotRect.
    QRect laneRect(int lane) const;
    QRect plotRect() const; // the visible area of the lanes (x range of the time mapping)
    // The legend's rows: those its ops need at the view's width, and those drawn (fewer only when the view is
    // shorter than its minimum height).
    int legendRowsNeeded() const { return legendFlow(width()).rows; }
    int legendRowsShown() const;

    // The innermost chunk under a widget point (within a pixel or two for chunks narrower than that).
    std::optional<engine::TraceEvent> eventAt(QPoint pos) const;

    // What the hover tooltip says about a chunk (rich text): op, layer, rows, sequence, token(s), duration, times.
    QString eventDescription(const engine::TraceEvent& event) const;

    // The events highlightToken() selected (every lane, each lane in time order).
    std::vector<engine::TraceEvent> highlightedEvents() const;
    std::optional<std::pair<int, int>> highlightedToken() const { return m_highlight; }

    // Clicking a chunk selects the parallel region around it (the enclosing Op::Region span): drawn as a band
    // over all lanes, announced with regionSelected. selectAt is what a click does; false where no chunk with a
    // region is (the selection is cleared then).
    bool selectAt(QPoint pos);
    std::optional<engine::TraceEvent> selectedRegion() const { return m_selectedRegion; }
    void clearSelection();

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

public Q_SLOTS:
    void appendEvents(const std::vector<engine::TraceEvent>& events);
    void clear();
    void fitAll();
    // Highlights the chunks that worked on token `position` of prompt `sequence` (their
    // [position, position + tokens) contains it).
    void highlightToken(int sequence, int position);
    void clearHighlight();

Q_SIGNALS:
    void hovered(const engine::TraceEvent& event);
    // `region` is the span (fork to join) around the clicked `chunk`.
    void regionSelected(const engine::TraceEvent& region, const engine::TraceEvent& chunk);
    void selectionCleared();
    void visibleRangeChanged(int64_t beginNs, int64_t endNs);

protected:
    void paintEvent(QPaintEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;
    bool event(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Layout {
        QRect plot; // all lanes
        int labelWidth = 0; // left of plot
        int legendTop = 0;
        int legendHeight = 0;
        int laneHeight = 0;
        int laneGap = 0;
        int axisTop = 0;
        int contentHeight = 0; // all lanes and gaps; more than plot.height() when the lanes scroll
    };
    // Layout depends on size, font, lane count and the ops in the legend; cached because mapping calls it per chunk.
    const Layout& layout() const;
    Layout computeLayout() const;
    QString summaryText() const;
    // summaryText() to fit `width` (the view's): the "bar height" part dropped first (the lanes' tool tips say it),
    // then cut between words.
    QString shownSummary(const QFontMetrics& fm, int width = -1) const;
    // Rows the legend needs at `width` to name every op and give the summary: the summary at the end of the first
    // row, or (when that takes fewer rows) after the last swatch.
    struct LegendFlow {
        int rows = 1;
        bool summaryLast = false;
    };
    LegendFlow legendFlow(int width) const;
    // The minimum height holds the whole legend (up to kMaxMinimumLegendRows rows): updated when the width or the
    // ops change.
    static constexpr int kMaxMinimumLegendRows = 4;
    int minimumLegendRows() const;
    void updateMinimumLegend();
    std::vector<engine::Op> presentOps() const;
    QString laneName(int lane) const;
    void setRange(int64_t beginNs, int64_t endNs);
    void fitRange();
    void setFollow(bool follow);
    bool matchesHighlight(const engine::TraceEvent& e) const;
    void addHighlights(const std::vector<engine::TraceEvent>& events);

    void syncLaneScroll();
    QString laneLabelTip(int lane) const;
    void paintLegend(QPainter& p, const Layout& layout) const;
    void paintLane(QPainter& p, const Layout& layout, int lane) const;
    int64_t tickStep(const Layout& layout) const;
    void paintAxis(QPainter& p, const Layout& layout) const;
    void paintHighlight(QPainter& p, const Layout& layout, bool band) const;

    TimelineData m_data;
    QScrollBar* m_laneScroll;
    int m_minLanes = 0;
    int m_minLegendRows = 1; // what minimumSizeHint() last made room for
    std::vector<int> m_laneCpus;
    int64_t m_viewBegin = 0;
    int64_t m_viewEnd = 1'000'000;
    bool m_follow = true;

    std::optional<std::pair<int, int>> m_highlight;
    std::vector<std::vector<std::pair<int64_t, int64_t>>> m_highlightSpans; // per lane, sorted, merged
    int64_t m_highlightBegin = 0;
    int64_t m_highlightEnd = 0;

    std::optional<engine::TraceEvent> m_hover;
    bool m_dragging = false;
    double m_dragX = 0;
    QPointF m_pressPos; // where the left button went down: a release near it is a click
    std::optional<engine::TraceEvent> m_selectedRegion;

    struct LayoutKey {
        QSize size;
        int lanes = -1;
        uint32_t ops = 0;
        size_t events = 0;
        int64_t span = 0;
        bool follow = true;
        QFont font;
        bool operator==(const LayoutKey&) const = default;
    };
    mutable LayoutKey m_layoutKey;
    mutable Layout m_layout;
};

} // namespace ui
