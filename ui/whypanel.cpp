#include "ui/whypanel.h"

#include "engine/measure/analysis.h"
#include "ui/timelineview.h"

#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QPainter>
#include <QToolTip>
#include <QVBoxLayout>

#include <array>

namespace ui {

namespace {

struct Part {
    const char* name;
    QColor colour;
};
// Busy first, then idle by cause, in the order the engine's reading names them.
const std::array<Part, 6> kParts { {
    { QT_TRANSLATE_NOOP("WhyPanel", "busy"), QColor(67, 160, 71) },
    { QT_TRANSLATE_NOOP("WhyPanel", "serial"), QColor(229, 57, 53) },
    { QT_TRANSLATE_NOOP("WhyPanel", "fork/join overhead"), QColor(142, 36, 170) },
    { QT_TRANSLATE_NOOP("WhyPanel", "imbalance"), QColor(251, 140, 0) },
    { QT_TRANSLATE_NOOP("WhyPanel", "untraced"), QColor(158, 158, 158) },
    { QT_TRANSLATE_NOOP("WhyPanel", "stretched (preempted?)"), QColor(93, 64, 55) },
} };

// A task-parallel phase (request-parallel, pipeline) has no fork/join regions: its "overhead" part is the busiest
// lane's waits while another lane works (engine/measure/analysis.h), and it has no serial sections.
QString partName(size_t i, bool task)
{
    if (task && i == 2)
        return WhyPanel::tr("waiting");
    return WhyPanel::tr(kParts[i].name);
}

// Whether part i can be non-zero in a task-parallel phase (no serial sections, no region periods to be stretched).
bool appliesToTask(size_t i) { return i != 1 && i != 5; }

std::array<int64_t, 6> parts(const engine::TimeBreakdown& t)
{
    return { t.busyNs, t.idle.serial, t.idle.overhead, t.idle.imbalance, t.idle.untraced, t.idle.disturbed };
}

QString ms(int64_t ns) { return QString::number(double(ns) / 1e6, 'f', 2) + QStringLiteral(" ms"); }

} // namespace

QString percentText(int64_t part, int64_t whole)
{
    return QString::number(whole > 0 ? 100.0 * double(part) / double(whole) : 0.0, 'f', 1) + QLatin1Char('%');
}

// One stacked bar per phase: the shares of its lane-time, with a legend under them.
class PhaseBars : public QWidget {
public:
    explicit PhaseBars(QWidget* parent)
        : QWidget(parent)
    {
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    }
    void setPhases(std::vector<std::pair<QString, engine::TimeBreakdown>> phases)
    {
        m_phases = std::move(phases);
        m_task = false;
        for (const auto& [name, t] : m_phases)
            m_task = m_task || t.taskPeriods > 0;
        updateGeometry();
        update();
    }
    QSize sizeHint() const override { return QSize(360, height(std::max<size_t>(2, m_phases.size()))); }
    QSize minimumSizeHint() const override { return QSize(240, sizeHint().height()); }

    // What the segment under `pos` stands for, or empty.
    QString tipAt(QPoint pos) const
    {
        const int row = pos.y() / rowHeight();
        if (pos.y() < 0 || row >= int(m_phases.size()))
            return {};
        const auto& [name, t] = m_phases[size_t(row)];
        const int left = labelWidth();
        const double width = double(this->width() - left - 1);
        if (t.laneNs <= 0 || pos.x() < left || width <= 0)
            return {};
        const auto values = parts(t);
        double x = left;
        for (size_t i = 0; i < values.size(); ++i) {
            x += width * double(values[i]) / double(t.laneNs);
            if (pos.x() < x)
                return WhyPanel::tr("<b>%1 · %2</b>: %3 of the lane-time (%4 of %5 lane-ms: %6 lane(s) × %7)")
                    .arg(name, partName(i, t.taskPeriods > 0), percentText(values[i], t.laneNs), ms(values[i]))
                    .arg(double(t.laneNs) / 1e6, 0, 'f', 2)
                    .arg(t.lanes)
                    .arg(ms(t.wallNs));
        }
        return {};
    }

protected:
    bool event(QEvent* e) override
    {
        if (e->type() == QEvent::ToolTip) {
            auto* help = static_cast<QHelpEvent*>(e);
            const QString tip = tipAt(help->pos());
            if (tip.isEmpty())
                QToolTip::showText(help->globalPos(), toolTip(), this);
            else
                QToolTip::showText(help->globalPos(), tip, this);
            return true;
        }
        return QWidget::event(e);
    }

    void paintEvent(QPaintEvent*) override
    {
        QPainter p(this);
        const QFontMetrics fm = fontMetrics();
        const int row = rowHeight();
        const int labelWidth = this->labelWidth();
        int y = 0;
        for (const auto& [name, t] : m_phases) {
            p.setPen(palette().color(QPalette::WindowText));
            p.drawText(QRect(0, y, labelWidth, row), Qt::AlignVCenter | Qt::AlignLeft, name);
            const QRect bar(labelWidth, y + 2, width() - labelWidth - 1, row - 4);
            p.fillRect(bar, palette().color(QPalette::Base));
            const auto values = parts(t);
            double x = bar.left();
            for (size_t i = 0; i < values.size(); ++i) {
                if (t.laneNs <= 0)
                    break;
                const double w = double(bar.width()) * double(values[i]) / double(t.laneNs);
                const QRectF seg(x, bar.top(), w, bar.height());
                p.fillRect(seg, kParts[i].colour);
                const QString pct = percentText(values[i], t.laneNs);
                if (fm.horizontalAdvance(pct) + 6 < w) {
                    p.setPen(i == 4 ? Qt::black : Qt::white);
                    p.drawText(seg, Qt::AlignCenter, pct);
                }
                x += w;
            }
            p.setPen(palette().color(QPalette::Mid));
            p.setBrush(Qt::NoBrush);
            p.drawRect(bar.adjusted(0, 0, -1, -1));
            y += row;
        }
        // Legend.
        int x = 0;
        const int box = fm.height() - 4;
        for (size_t i = 0; i < kParts.size(); ++i) {
            if (m_task && !appliesToTask(i))
                continue; // no serial sections or region periods in a task-parallel run
            const Part& part = kParts[i];
            const QString name = partName(i, m_task);
            const int w = box + 4 + fm.horizontalAdvance(name) + 14;
            if (x > 0 && x + w > width()) {
                x = 0;
                y += fm.height() + 2;
            }
            p.fillRect(QRect(x, y + (fm.height() - box) / 2 + 2, box, box), part.colour);
            p.setPen(palette().color(QPalette::WindowText));
            p.drawText(QRect(x + box + 4, y + 2, w, fm.height()), Qt::AlignLeft | Qt::AlignVCenter, name);
            x += w;
        }
    }
    void resizeEvent(QResizeEvent*) override
    {
        if (height() != height(std::max<size_t>(2, m_phases.size())))
            updateGeometry();
    }

private:
    int rowHeight() const { return fontMetrics().height() + 10; }
    int labelWidth() const
    {
        int w = 0;
        for (const auto& [name, t] : m_phases)
            w = std::max(w, fontMetrics().horizontalAdvance(name));
        return w + 8;
    }
    int legendRows(int width) const
    {
        const QFontMetrics fm = fontMetrics();
        int rows = 1;
        int x = 0;
        for (size_t i = 0; i < kParts.size(); ++i) {
            if (m_task && !appliesToTask(i))
                continue;
            const int w = fm.height() + fm.horizontalAdvance(partName(i, m_task)) + 14;
            if (x > 0 && x + w > width) {
                x = 0;
                ++rows;
            }
            x += w;
        }
        return rows;
    }
    int height(size_t phases) const
    {
        return int(phases) * rowHeight() + legendRows(std::max(width(), 240)) * (fontMetrics().height() + 2) + 4;
    }
    using QWidget::height;

    std::vector<std::pair<QString, engine::TimeBreakdown>> m_phases;
    bool m_task = false; // a task-parallel run: the parts are named for it
};

WhyPanel::WhyPanel(QWidget* parent)
    : QWidget(parent)
    , m_status(new QLabel(this))
    , m_bars(new PhaseBars(this))
    , m_phaseText(new QLabel(this))
    , m_region(new QLabel(this))
    , m_reading(new QLabel(this))
{
    for (QLabel* l : { m_status, m_phaseText, m_region, m_reading }) {
        l->setWordWrap(true);
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
        l->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    }
    m_reading->setTextFormat(Qt::RichText);
    m_phaseText->setTextFormat(Qt::RichText);
    m_region->setTextFormat(Qt::RichText);
    m_bars->setToolTip(
        tr("Each phase's lane-time (threads × wall time), split into the time the lanes worked "
           "(busy) and the time they waited, by cause: serial sections (one lane works, the others "
           "wait), fork/join overhead (a region's time beyond its busiest lane's work), imbalance "
           "(lanes done early while another still works), untraced time, and regions stretched far beyond their work, "
           "most likely a lane preempted by the operating system (counted apart from fork/join). In request-parallel "
           "and pipeline runs, "
           "which have no serial sections or fork/join regions, \"waiting\" is the busiest lane's idle "
           "time while another lane works (a task starting, a stage waiting for its input)."));

    auto* left = new QVBoxLayout;
    left->addWidget(m_status);
    left->addWidget(m_bars);
    left->addWidget(m_phaseText);
    left->addStretch(1);
    // A clicked region goes first on the right, where it shows without scrolling.
    auto* right = new QVBoxLayout;
    right->addWidget(m_region);
    right->addWidget(m_reading);
    right->addStretch(1);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 6, 8, 6);
    layout->addLayout(left, 3);
    layout->addSpacing(12);
    layout->addLayout(right, 2);
    clear();
}

QSize WhyPanel::minimumSizeHint() const { return QSize(320, 120); }

void WhyPanel::setNoAnalysis(const QString& why)
{
    clear();
    m_status->setText(why);
}

void WhyPanel::clear()
{
    m_report.reset();
    m_status->setText(tr("After a run, this panel explains the timeline: for prefill and decode, how much of the "
                         "threads' time was work and why the rest was idle (serial sections, fork/join overhead, "
                         "imbalance), the serial fraction measured from the trace, and a reading of the run. Click "
                         "a chunk in the timeline to see its parallel region."));
    m_bars->setPhases({});
    m_bars->hide();
    m_phaseText->clear();
    m_reading->clear();
    clearRegion();
}

void WhyPanel::setRunning()
{
    clear();
    m_status->setText(tr("Running… the analysis follows when the run ends."));
}

void WhyPanel::setAnalysing(bool measuringMachine)
{
    m_status->setText(measuringMachine
            ? tr("Measuring this machine's ceilings (memory bandwidth, arithmetic peak, fork/join cost: a few "
                 "seconds, once), then analysing the run…")
            : tr("Analysing the run…"));
}

void WhyPanel::setUntraced()
{
    clear();
    m_status->setText(tr("This run was not traced, so there is nothing to explain: turn tracing on and run again."));
}

void WhyPanel::setAnalysisFailed()
{
    clear();
    m_status->setText(tr("The run's analysis failed; the timeline and the output stand."));
}

void WhyPanel::setReport(const engine::RunReport& report, bool stopped)
{
    if (!report.analysis.valid) {
        setUntraced();
        return;
    }
    clearRegion();
    m_report = report;
    const engine::RunAnalysis& a = report.analysis;
    m_status->setText(tr("<b>Where the threads' time went</b> (%1 thread(s), %2)%3")
                          .arg(report.threads)
                          .arg(QString::fromLatin1(engine::strategyName(report.strategy)))
                          .arg(stopped ? tr(" — the run was stopped: up to the stop") : QString()));

    std::vector<std::pair<QString, engine::TimeBreakdown>> phases;
    QStringList lines;
    for (const auto& [name, t] : { std::pair { tr("prefill"), &a.prefill }, std::pair { tr("decode"), &a.decode } }) {
        if (t->wallNs <= 0)
            continue;
        phases.emplace_back(name, *t);
        const auto values = parts(*t);
        const bool task = t->taskPeriods > 0;
        QStringList shares;
        for (size_t i = 0; i < values.size(); ++i)
            if (!task || appliesToTask(i)) // a task-parallel phase has no serial sections or region periods
                shares << QStringLiteral("%1 %2").arg(partName(i, task), percentText(values[i], t->laneNs));
        if (task)
            lines << tr("<b>%1</b> %2 on %3 lane(s): %4. Two or more lanes worked at once for <b>%5</b> of it. "
                        "Each sequence runs on one lane at a time, so no serial fraction is given (see the "
                        "reading).")
                         .arg(name, ms(t->wallNs))
                         .arg(t->lanes)
                         .arg(shares.join(QStringLiteral(" · ")))
                         .arg(percentText(t->concurrentNs, t->wallNs));
        else
            lines << tr("<b>%1</b> %2 on %3 lane(s): %4. Serial fraction from the trace: <b>%5%</b> (%6 region(s)).")
                         .arg(name, ms(t->wallNs))
                         .arg(t->lanes)
                         .arg(shares.join(QStringLiteral(" · ")))
                         .arg(QString::number(100.0 * t->serialFraction(), 'f', 1))
                         .arg(t->regions);
    }
    m_bars->setPhases(phases);
    m_bars->setVisible(!phases.empty());
    m_phaseText->setText(lines.join(QStringLiteral("<br>")));

    QString reading = QStringLiteral("<b>%1</b><ul style=\"margin-left:-20px\">").arg(tr("Reading"));
    for (const std::string& line : engine::readRunReport(report))
        reading += QStringLiteral("<li>%1</li>").arg(QString::fromStdString(line).toHtmlEscaped());
    reading += QStringLiteral("</ul>");
    m_reading->setText(reading);
}

void WhyPanel::showRegion(
    const engine::TraceEvent& region, const engine::TraceEvent& chunk, const std::vector<engine::TraceEvent>& trace)
{
    if (!m_report) {
        m_region->setText(tr("The region's figures appear once the run's analysis is done."));
        return;
    }
    const engine::RunReport& r = *m_report;
    const engine::TimeBreakdown t = engine::analyzeLaneTime(trace, r.threads, region.beginNs, region.endNs);
    const engine::Phase phase = region.beginNs < r.analysis.prefill.endNs && r.analysis.prefill.wallNs > 0
        ? engine::Phase::Prefill
        : engine::Phase::Decode;
    QString bound = tr("not modelled (it has no cost model)");
    for (const engine::OpStats& s : r.ops)
        if (s.op == chunk.op && s.phase == phase && s.modelled) {
            bound = tr("%1-bound over the %2 (%3 GB/s, %4 GFLOP/s, %5 of the roofline's ceiling)")
                        .arg(QString::fromLatin1(engine::boundName(s.bound(r.machine, r.threads))))
                        .arg(QString::fromLatin1(engine::phaseName(phase)))
                        .arg(s.gbps(), 0, 'f', 1)
                        .arg(s.gflops(), 0, 'f', 1)
                        .arg(QString::number(100.0 * s.ceilingShare(r.machine, r.threads), 'f', 0) + QLatin1Char('%'));
            break;
        }
    QString where = chunk.layer >= 0 ? tr("layer %1, ").arg(chunk.layer) : QString();
    m_region->setText(
        tr("<b>Selected region</b>: %1 in the %2 (%3sequence %4, token %5), %6 from fork to join. Lane work %7 "
           "(%8 of its lane-time); imbalance %9; fork/join overhead %10. The op is %11. <i>Click empty space to "
           "clear.</i>")
            .arg(QString::fromLatin1(engine::opName(chunk.op)), QString::fromLatin1(engine::phaseName(phase)), where)
            .arg(chunk.sequence)
            .arg(chunk.position)
            .arg(formatDuration(t.wallNs))
            .arg(formatDuration(t.busyNs), percentText(t.busyNs, t.laneNs),
                QStringLiteral("%1 (%2)").arg(
                    formatDuration(t.idle.imbalance), percentText(t.idle.imbalance, t.laneNs)),
                QStringLiteral("%1 (%2)").arg(formatDuration(t.idle.overhead), percentText(t.idle.overhead, t.laneNs)),
                bound));
    m_region->show();
}

void WhyPanel::clearRegion()
{
    m_region->clear();
    m_region->hide();
}

QString WhyPanel::barTipAt(QPoint pos) const { return m_bars->tipAt(m_bars->mapFrom(this, pos)); }

QRect WhyPanel::barsGeometry() const { return m_bars->isVisible() ? m_bars->geometry() : QRect(); }

QString WhyPanel::regionText() const { return m_region->isHidden() ? QString() : m_region->text(); }

QString WhyPanel::text() const
{
    QStringList all;
    for (const QLabel* l : { m_status, m_phaseText, m_region, m_reading })
        if (!l->text().isEmpty())
            all << l->text();
    return all.join(QLatin1Char('\n'));
}

} // namespace ui
