#include "ui/rooflinechart.h"

#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QLegend>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QScrollArea>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace ui {

namespace {

// `font` `scale` times larger, whether it was sized in points or in pixels.
QFont scaled(QFont font, double scale)
{
    if (font.pointSizeF() > 0)
        font.setPointSizeF(font.pointSizeF() * scale);
    else if (font.pixelSize() > 0)
        font.setPixelSize(int(std::lround(font.pixelSize() * scale)));
    return font;
}

// The log axes' ends: whole powers of ten around [lo, hi].
std::pair<double, double> decades(double lo, double hi)
{
    return { std::pow(10.0, std::floor(std::log10(lo))), std::pow(10.0, std::ceil(std::log10(hi))) };
}

} // namespace

RooflineChart::RooflineChart(QWidget* parent)
    : QWidget(parent)
    , m_chart(new QChart)
    , m_x(new QLogValueAxis(this))
    , m_y(new QLogValueAxis(this))
    , m_bandwidth(new QLineSeries(this))
    , m_compute(new QLineSeries(this))
    , m_prefill(new QScatterSeries(this))
    , m_decode(new QScatterSeries(this))
    , m_machine(new QLabel(this))
{
    m_chart->setAnimationOptions(QChart::NoAnimation);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    // Height is scarce under the timeline: the legend sits right of the plot and the title is the side text's.
    m_chart->legend()->setAlignment(Qt::AlignRight);
    m_chart->legend()->setShowToolTips(true);
    m_x->setTitleText(tr("arithmetic intensity (FLOP/byte)"));
    m_y->setTitleText(tr("GFLOP/s"));
    for (QLogValueAxis* a : { m_x, m_y }) {
        a->setBase(10);
        a->setLabelFormat(QStringLiteral("%g"));
        a->setMinorTickCount(0);
    }
    m_chart->addAxis(m_x, Qt::AlignBottom);
    m_chart->addAxis(m_y, Qt::AlignLeft);

    m_bandwidth->setName(tr("memory bandwidth ceiling"));
    m_bandwidth->setPen(QPen(QColor(30, 90, 200), 2));
    m_compute->setName(tr("arithmetic peak"));
    m_compute->setPen(QPen(QColor(200, 40, 40), 2));
    m_prefill->setName(tr("prefill ops"));
    m_prefill->setMarkerShape(QScatterSeries::MarkerShapeCircle);
    m_prefill->setColor(QColor(0, 150, 136));
    m_prefill->setMarkerSize(11);
    m_decode->setName(tr("decode ops"));
    m_decode->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    m_decode->setColor(QColor(255, 152, 0));
    m_decode->setMarkerSize(10);
    for (QXYSeries* s : std::initializer_list<QXYSeries*> { m_bandwidth, m_compute, m_prefill, m_decode }) {
        m_chart->addSeries(s);
        s->attachAxis(m_x);
        s->attachAxis(m_y);
    }

    m_view = new QChartView(m_chart, this);
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->viewport()->installEventFilter(this); // tool tips: the op under the pointer
    m_view->setMinimumSize(260, 120);
    m_machine->setWordWrap(true);
    m_machine->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_machine->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_machine->setMinimumWidth(160);
    // Presentation mode's legend: the chart's own one, right of the plot, cuts its names at large text ("memory
    // band...") and takes the plot's width; this one sits at the top of the side text and wraps.
    m_legendText = new QLabel(this);
    m_legendText->setObjectName(QStringLiteral("rooflineLegend"));
    m_legendText->setWordWrap(true);
    m_legendText->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_legendText->setTextFormat(Qt::RichText);
    const auto entry = [](const QColor& c, const QString& symbol, const QString& name) {
        return QStringLiteral("<span style=\"color:%1\">%2</span> %3").arg(c.name(), symbol, name.toHtmlEscaped());
    };
    m_legendText->setText(QStringList { entry(m_bandwidth->pen().color(), QStringLiteral("━━"), m_bandwidth->name()),
        entry(m_compute->pen().color(), QStringLiteral("━━"), m_compute->name()),
        entry(m_prefill->color(), QStringLiteral("●"), m_prefill->name()),
        entry(m_decode->color(), QStringLiteral("■"), m_decode->name()) }
                              .join(QStringLiteral("<br>")));
    m_legendText->hide();
    // The side text scrolls rather than be cut under large text on a short pane.
    auto* sideScroll = new QScrollArea(this);
    sideScroll->setWidgetResizable(true);
    sideScroll->setFrameShape(QFrame::NoFrame);
    sideScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto* sidePage = new QWidget(sideScroll);
    auto* side = new QVBoxLayout(sidePage);
    side->setContentsMargins(0, 0, 0, 0);
    side->addWidget(m_legendText);
    side->addWidget(m_machine, 1);
    m_legendText->setParent(sidePage);
    m_machine->setParent(sidePage);
    sideScroll->setWidget(sidePage);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 2, 4, 2);
    layout->setSpacing(8);
    layout->addWidget(m_view, 2);
    layout->addWidget(sideScroll, 1);
    m_labelsFont = m_x->labelsFont();
    m_titleFont = m_x->titleFont();
    m_legendFont = m_chart->legend()->font();
    clear();
}

void RooflineChart::setPresentationScale(double scale)
{
    if (scale == m_scale)
        return;
    m_scale = scale;
    for (QLogValueAxis* a : { m_x, m_y }) {
        a->setLabelsFont(scaled(m_labelsFont, scale));
        a->setTitleFont(scaled(m_titleFont, scale));
    }
    m_chart->legend()->setFont(scaled(m_legendFont, scale));
    // At large text the legend moves beside the plot, into the side text, whole.
    m_chart->legend()->setVisible(scale <= 1);
    m_legendText->setVisible(scale > 1);
    m_bandwidth->setPen(QPen(m_bandwidth->pen().color(), 2 * scale));
    m_compute->setPen(QPen(m_compute->pen().color(), 2 * scale));
    m_prefill->setMarkerSize(11 * scale);
    m_decode->setMarkerSize(10 * scale);
}

QScatterSeries* RooflineChart::points(engine::Phase phase) const
{
    return phase == engine::Phase::Prefill ? m_prefill : m_decode;
}

QString RooflineChart::pointDescription(engine::Phase phase, int index) const
{
    const auto& tips = phase == engine::Phase::Prefill ? m_prefillTips : m_decodeTips;
    return index >= 0 && size_t(index) < tips.size() ? tips[size_t(index)] : QString();
}

QString RooflineChart::machineText() const { return m_machine->text(); }

void RooflineChart::clear()
{
    for (QXYSeries* s : std::initializer_list<QXYSeries*> { m_bandwidth, m_compute, m_prefill, m_decode })
        s->clear();
    m_prefillTips.clear();
    m_decodeTips.clear();
    m_x->setRange(0.1, 100);
    m_y->setRange(0.1, 100);
    m_machine->setText(tr("<b>Roofline</b><br>After a run: this machine's memory bandwidth (GB/s × FLOP/byte) and "
                          "arithmetic peak (GFLOP/s) for the run's threads as the roof, and each op of the run as a "
                          "point under it. Hover a point for its figures."));
}

void RooflineChart::setReport(const engine::RunReport& r)
{
    clear();
    const engine::MachinePeaks& m = r.machine;
    if (!r.analysis.valid || !m.valid()) {
        m_machine->setText(r.analysis.valid ? tr("<b>Roofline</b><br>The machine's ceilings are not known.")
                                            : tr("<b>Roofline</b><br>The run was not traced."));
        return;
    }
    const double bandwidth = m.bandwidthGBps(r.threads);
    const double peak = m.peakGflops(r.threads);
    const double ridge = m.ridge(r.threads);

    double xlo = ridge, xhi = ridge, ylo = peak, yhi = peak;
    for (const engine::OpStats& s : r.ops) {
        if (!s.modelled || s.intensity() <= 0 || s.gflops() <= 0)
            continue; // no cost model, or nothing a log axis can place
        const QPointF p(s.intensity(), s.gflops());
        xlo = std::min(xlo, p.x());
        xhi = std::max(xhi, p.x());
        ylo = std::min(ylo, p.y());
        yhi = std::max(yhi, p.y());
        const QString tip
            = tr("<b>%1</b> (%2)<br>%3 GB/s · %4 GFLOP/s · %5 FLOP/byte<br>%6-bound · %7 of the "
                 "ceiling here")
                  .arg(QString::fromLatin1(engine::opName(s.op)), QString::fromLatin1(engine::phaseName(s.phase)))
                  .arg(s.gbps(), 0, 'f', 2)
                  .arg(s.gflops(), 0, 'f', 2)
                  .arg(s.intensity(), 0, 'f', 3)
                  .arg(QString::fromLatin1(engine::boundName(s.bound(m, r.threads))))
                  .arg(QString::number(100.0 * s.ceilingShare(m, r.threads), 'f', 0) + QLatin1Char('%'));
        if (s.phase == engine::Phase::Prefill) {
            m_prefill->append(p);
            m_prefillTips.push_back(tip);
        } else {
            m_decode->append(p);
            m_decodeTips.push_back(tip);
        }
    }
    auto [x0, x1] = decades(xlo / 2, xhi * 2);
    auto [y0, y1] = decades(std::min(ylo, bandwidth * x0) / 2, yhi * 2);
    m_x->setRange(x0, x1);
    m_y->setRange(y0, y1);
    // The roof: bandwidth × intensity up to the ridge, the arithmetic peak past it.
    m_bandwidth->append(x0, bandwidth * x0);
    m_bandwidth->append(ridge, bandwidth * ridge);
    m_compute->append(ridge, peak);
    m_compute->append(x1, peak);

    m_machine->setText(tr("<b>Roofline of the last run</b> (%1 thread(s), %2)<br>Ceilings on %1 thread(s): read "
                          "bandwidth <b>%3 GB/s</b>, FMA peak (%4) <b>%5 GFLOP/s</b>; ridge %6 FLOP/byte.<br>%7, "
                          "%8 logical cores; %9.<br>Hover a point for its op.")
                           .arg(r.threads)
                           .arg(QString::fromLatin1(engine::strategyName(r.strategy)))
                           .arg(bandwidth, 0, 'f', 1)
                           .arg(QString::fromStdString(m.fmaKernel))
                           .arg(peak, 0, 'f', 1)
                           .arg(ridge, 0, 'f', 2)
                           .arg(QString::fromStdString(m.cpu).toHtmlEscaped())
                           .arg(m.cores)
                           .arg(m.fromCache ? tr("figures from the cache") : tr("measured now")));
}

QString RooflineChart::tipAt(QPoint viewPos) const
{
    const QPointF scene = m_view->mapToScene(viewPos);
    const QPointF inChart = m_chart->mapFromScene(scene);
    double best = 8.0; // pixels
    QString tip;
    for (engine::Phase phase : { engine::Phase::Prefill, engine::Phase::Decode }) {
        const QScatterSeries* s = points(phase);
        for (int i = 0; i < s->count(); ++i) {
            const QPointF at = m_chart->mapToPosition(s->at(i), const_cast<QScatterSeries*>(s));
            const double d = std::hypot(at.x() - inChart.x(), at.y() - inChart.y());
            if (d <= best) {
                best = d;
                tip = pointDescription(phase, i);
            }
        }
    }
    return tip;
}

bool RooflineChart::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_view->viewport() && event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QString tip = tipAt(help->pos());
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), tip, m_view->viewport());
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace ui
