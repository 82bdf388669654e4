#include "ui/speedupchart.h"

#include <QButtonGroup>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QCursor>
#include <QFileInfo>
#include <QGraphicsLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QLegend>
#include <QLineSeries>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>
#include <QPushButton>
#include <QResizeEvent>
#include <QScrollArea>
#include <QStackedWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kCurveSamples = 96;

// Okabe & Ito's colour-blind-safe palette (yellow left out: it vanishes on white, worse on a projector).
const QColor kPalette[] = {
    QColor(0x00, 0x72, 0xB2), // blue
    QColor(0xD5, 0x5E, 0x00), // vermillion
    QColor(0x00, 0x9E, 0x73), // bluish green
    QColor(0xCC, 0x79, 0xA7), // reddish purple
    QColor(0xE6, 0x9F, 0x00), // orange
    QColor(0x56, 0xB4, 0xE9), // sky blue
    QColor(0x33, 0x33, 0x33), // near black
};
const QColor kReferenceColor(0x80, 0x80, 0x80);

constexpr double kLineWidth = 3.0;
constexpr double kFitWidth = 2.5;
constexpr double kBarWidth = 2.5;
constexpr int kMarkerPixels = 15;

// A second cue besides colour: each strategy's points get their own marker shape.
QImage markerImage(int index, const QColor& color)
{
    const int size = kMarkerPixels * 2; // drawn at twice the size for smooth edges once scaled down
    QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(Qt::white, 3.0));
    painter.setBrush(color);
    const QRectF r(2.5, 2.5, size - 5.0, size - 5.0);
    QPainterPath path;
    switch (index % 4) {
    case 0:
        path.addEllipse(r);
        break;
    case 1:
        path.addRect(r.adjusted(2, 2, -2, -2));
        break;
    case 2:
        path.moveTo(r.center().x(), r.top());
        path.lineTo(r.right(), r.bottom());
        path.lineTo(r.left(), r.bottom());
        path.closeSubpath();
        break;
    default:
        path.moveTo(r.center().x(), r.top());
        path.lineTo(r.right(), r.center().y());
        path.lineTo(r.center().x(), r.bottom());
        path.lineTo(r.left(), r.center().y());
        path.closeSubpath();
        break;
    }
    painter.drawPath(path);
    painter.end();
    return image;
}

QPen makePen(const QColor& color, double width, Qt::PenStyle style = Qt::SolidLine)
{
    QPen pen(color, width, style, Qt::RoundCap, Qt::RoundJoin);
    return pen;
}

// A step of 1, 2, 2.5 or 5 × 10^k that cuts [0, top] into at most `maxTicks` intervals.
double niceStep(double top, int maxTicks)
{
    const double raw = top / maxTicks;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : { 1.0, 2.0, 2.5, 5.0, 10.0 })
        if (m * magnitude >= raw)
            return m * magnitude;
    return 10.0 * magnitude;
}

// A legend key: a stretch of the series' own pen (so dashes show) with its point marker in the middle.
QPixmap legendSwatch(const QPen& pen, const QImage& marker)
{
    QPixmap pixmap(52, 22);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    QPen flat = pen;
    flat.setCapStyle(Qt::FlatCap);
    painter.setPen(flat);
    painter.drawLine(QPointF(2, 11), QPointF(50, 11));
    if (!marker.isNull())
        painter.drawImage(
            QRectF(26 - kMarkerPixels / 2.0, 11 - kMarkerPixels / 2.0, kMarkerPixels, kMarkerPixels), marker);
    return pixmap;
}

QString joinThreads(const std::vector<int>& threads)
{
    QStringList parts;
    for (int p : threads)
        parts << QString::number(p);
    return parts.join(QStringLiteral(", "));
}

// What the scheduler did, not what was asked: pinning is skipped at thread counts above the CPUs, and the sweep
// records where it applied ("pinned_threads").
QString describePinning(const nlohmann::json& w)
{
    if (!w.contains("pin_threads") || !w["pin_threads"].is_boolean() || !w["pin_threads"].get<bool>())
        return SpeedupChart::tr("threads not pinned");
    if (!w.contains("pinned_threads") || !w["pinned_threads"].is_array() || !w.contains("threads")
        || !w["threads"].is_array())
        return SpeedupChart::tr("pinning asked for");
    std::vector<int> pinned, notPinned;
    for (const nlohmann::json& p : w["threads"]) {
        if (!p.is_number_integer())
            continue;
        const bool was
            = std::find(w["pinned_threads"].begin(), w["pinned_threads"].end(), p) != w["pinned_threads"].end();
        (was ? pinned : notPinned).push_back(p.get<int>());
    }
    if (pinned.empty())
        return SpeedupChart::tr("threads not pinned (more threads than CPUs)");
    if (notPinned.empty())
        return SpeedupChart::tr("threads pinned");
    return SpeedupChart::tr("threads pinned at p = %1, not at p = %2 (more threads than CPUs)")
        .arg(joinThreads(pinned), joinThreads(notPinned));
}

// "model · prompts · tokens · repetitions · partitioner · pinning · machine" from the sweep's workload and machine
// records.
QString describe(const engine::SweepResult& result)
{
    QStringList parts;
    const nlohmann::json& w = result.workload;
    if (w.is_object()) {
        if (w.contains("model") && w["model"].is_string())
            parts << QFileInfo(QString::fromStdString(w["model"].get<std::string>())).fileName(); // not the whole path
        if (w.contains("prompts") && w["prompts"].is_array())
            parts << (w["prompts"].size() == 1 ? SpeedupChart::tr("1 prompt")
                                               : SpeedupChart::tr("%1 prompts").arg(w["prompts"].size()));
        if (w.contains("max_tokens") && w["max_tokens"].is_number_integer())
            parts << SpeedupChart::tr("%1 tokens each").arg(w["max_tokens"].get<int>());
        // The runs each point really has: a cancelled sweep's last point may have fewer than asked.
        int fewest = std::numeric_limits<int>::max(), most = 0;
        for (const auto& strategy : result.strategies)
            for (const auto& point : strategy.decodeScaling.points) {
                fewest = std::min(fewest, point.repetitions);
                most = std::max(most, point.repetitions);
            }
        const bool asked = w.contains("repeat") && w["repeat"].is_number_integer();
        if (asked && most > 0 && fewest != most)
            parts << SpeedupChart::tr("median and min–max of %1–%2 runs per point").arg(fewest).arg(most);
        else if (asked && most > 0)
            parts << SpeedupChart::tr("median and min–max of %1 runs per point").arg(most);
        if (w.value("cancelled", false))
            parts << SpeedupChart::tr("cancelled: partial");
        if (w.contains("partitioner") && w["partitioner"].is_string())
            parts << SpeedupChart::tr("partitioner %1, grain %2")
                         .arg(QString::fromStdString(w["partitioner"].get<std::string>()))
                         .arg(w.contains("grain") && w["grain"].is_number_integer() ? w["grain"].get<int>() : 1);
        parts << describePinning(w);
    }
    const nlohmann::json& m = result.machine;
    if (m.is_object()) {
        QString machine;
        if (m.contains("cpu") && m["cpu"].is_string())
            machine = QString::fromStdString(m["cpu"].get<std::string>());
        if (m.contains("logical_cores") && m["logical_cores"].is_number_integer())
            machine += (machine.isEmpty() ? QString() : QStringLiteral(", "))
                + SpeedupChart::tr("%1 logical cores").arg(m["logical_cores"].get<int>());
        if (m.contains("isa") && m["isa"].is_string()) // the kernels' SIMD level, chosen at run time
            machine += (machine.isEmpty() ? QString() : QStringLiteral(", "))
                + SpeedupChart::tr("%1 kernels").arg(QString::fromStdString(m["isa"].get<std::string>()));
        if (!machine.isEmpty())
            parts << machine;
    }
    return parts.join(QStringLiteral("  ·  "));
}

QString formatFraction(double s) { return QString::number(s, 'f', std::abs(s) < 0.01 && s != 0.0 ? 3 : 2); }

QString formatSeconds(double seconds)
{
    return seconds < 1.0 ? SpeedupChart::tr("%1 ms").arg(seconds * 1000.0, 0, 'f', seconds < 0.01 ? 2 : 1)
                         : SpeedupChart::tr("%1 s").arg(seconds, 0, 'f', 3);
}

// The machine's logical cores as the sweep recorded them; 0 if unknown.
int coresOf(const engine::SweepResult& result)
{
    const nlohmann::json& m = result.machine;
    if (m.is_object() && m.contains("logical_cores") && m["logical_cores"].is_number_integer())
        return std::max(0, m["logical_cores"].get<int>());
    return 0;
}

// Other processes' CPU use during the sweep, when it was enough to disturb the timings; empty otherwise.
QString busyWarning(const engine::SweepResult& result)
{
    const engine::BackgroundLoad& load = result.backgroundLoad;
    if (!load.significant())
        return {};
    QString text = SpeedupChart::tr("⚠ Machine busy: other processes kept %1 of %2 CPUs busy during this sweep; "
                                    "the timings are disturbed.")
                       .arg(load.otherCores, 0, 'f', 2)
                       .arg(load.cpus);
    // Name the thread counts that suffered most, from the per-point records.
    QStringList worst;
    for (const engine::StrategySweep& s : result.strategies)
        for (const engine::StrategySweep::PointLoad& l : s.backgroundLoads)
            if (l.load.significant())
                worst << SpeedupChart::tr("%1 at p = %2").arg(QString::fromStdString(s.strategy)).arg(l.threads);
    if (!worst.isEmpty())
        text += QLatin1Char(' ') + SpeedupChart::tr("Busy during: %1.").arg(worst.join(QStringLiteral(", ")));
    return text;
}

} // namespace

SpeedupChart::SpeedupChart(QWidget* parent)
    : QWidget(parent)
{
    m_basePoint = std::max(font().pointSizeF(), 12.0);

    auto* controls = new QHBoxLayout;
    // The rows of buttons, and the same choices as combo boxes for when the buttons are wider than the chart (the
    // large text of presentation mode in a narrow pane): fitControls shows one or the other.
    m_buttonBar = new QWidget(this);
    auto* buttons = new QHBoxLayout(m_buttonBar);
    buttons->setContentsMargins(0, 0, 0, 0);
    m_comboBar = new QWidget(this);
    auto* combos = new QHBoxLayout(m_comboBar);
    combos->setContentsMargins(0, 0, 0, 0);
    auto addGroup = [&](const QString& label, const QStringList& names, QButtonGroup*& group, QComboBox*& combo) {
        auto* caption = new QLabel(label, m_buttonBar);
        m_groupCaptions.append(caption);
        buttons->addWidget(caption);
        group = new QButtonGroup(this);
        group->setExclusive(true);
        for (int i = 0; i < names.size(); ++i) {
            auto* button = new QPushButton(names[i], m_buttonBar);
            button->setCheckable(true);
            button->setFocusPolicy(Qt::TabFocus);
            group->addButton(button, i);
            buttons->addWidget(button);
        }
        buttons->addSpacing(24);
        auto* comboCaption = new QLabel(label, m_comboBar);
        m_groupCaptions.append(comboCaption);
        combos->addWidget(comboCaption);
        combo = new QComboBox(m_comboBar);
        combo->addItems(names);
        combos->addWidget(combo);
        combos->addSpacing(16);
    };
    addGroup(tr("Phase:"), { tr("Prefill"), tr("Decode"), tr("Total") }, m_phaseButtons, m_phaseCombo);
    addGroup(tr("View:"), { tr("Speedup"), tr("Efficiency"), tr("Throughput (tokens/s)") }, m_viewButtons, m_viewCombo);
    buttons->addStretch(1);
    combos->addStretch(1);
    // Neither bar sets the chart's least width: the buttons give way to the combo boxes instead.
    m_buttonBar->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);
    m_comboBar->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);
    m_comboBar->hide();
    controls->addWidget(m_buttonBar, 1);
    controls->addWidget(m_comboBar, 1);
    m_predictBox = new QCheckBox(tr("Predict to 64 threads"), this);
    m_predictBox->setToolTip(tr("Extend the thread axis with the scaling predicted from this sweep's traced run: a "
                                "model of a machine with more cores like these and this memory bandwidth, not a "
                                "measurement (see the Why tab's reading and docs/ARCHITECTURE.md)"));
    m_predictBox->hide(); // shown under the chart when the sweep carries a prediction
    connect(m_predictBox, &QCheckBox::toggled, this, &SpeedupChart::setShowPrediction);
    m_phaseButtons->button(0)->setToolTip(tr("Processing the prompt: all prompt tokens in one batch per layer"));
    m_phaseButtons->button(1)->setToolTip(tr("Generating tokens one at a time after the prompt"));
    m_phaseButtons->button(2)->setToolTip(tr("Prefill and decode together"));
    m_viewButtons->button(0)->setToolTip(tr("S(p) = T(1) / T(p): how many times faster than one thread"));
    m_viewButtons->button(1)->setToolTip(tr("S(p) / p: the share of each added thread that turns into speed"));
    m_viewButtons->button(2)->setToolTip(tr("Tokens per second: tokens ÷ median time"));
    for (int i = 0; i < 3; ++i) {
        m_phaseCombo->setItemData(i, m_phaseButtons->button(i)->toolTip(), Qt::ToolTipRole);
        m_viewCombo->setItemData(i, m_viewButtons->button(i)->toolTip(), Qt::ToolTipRole);
    }
    connect(m_phaseCombo, &QComboBox::activated, this, [this](int index) { setPhase(Phase(index)); });
    connect(m_viewCombo, &QComboBox::activated, this, [this](int index) { setView(View(index)); });
    connect(m_phaseButtons, &QButtonGroup::idClicked, this, [this](int id) { setPhase(Phase(id)); });
    connect(m_viewButtons, &QButtonGroup::idClicked, this, [this](int id) { setView(View(id)); });

    m_chart = new QChart;
    m_chart->setAnimationOptions(QChart::NoAnimation);
    m_chart->setBackgroundRoundness(0);
    m_chart->setMargins(QMargins(8, 8, 8, 8));
    // Qt Charts' legend lays out in one row and truncates long names such as the fits'; ours is a grid below.
    m_chart->legend()->setVisible(false);

    const QPen gridPen(QColor(0xD8, 0xD8, 0xD8), 1.0);

    m_axisX = new QCategoryAxis;
    m_axisX->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
    m_axisX->setTitleText(tr("threads (p)"));
    m_axisX->setGridLinePen(gridPen);
    m_axisY = new QValueAxis;
    m_axisY->setGridLinePen(gridPen);
    m_axisY->setMinorTickCount(0);
    m_chart->addAxis(m_axisX, Qt::AlignBottom);
    m_chart->addAxis(m_axisY, Qt::AlignLeft);

    // After the layout settles (queued: not from inside it), fit the y title and ticks to the plot's height.
    connect(
        m_chart, &QChart::plotAreaChanged, this,
        [this] {
            fitYTitle();
            if (hasSweep()) {
                applyYScale();
                fitCoreLabel();
            }
        },
        Qt::QueuedConnection);
    m_chartView = new QChartView(m_chart, this);
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chartView->setMinimumSize(480, 240); // small enough that legend and footer fit beside the timeline
    m_chartView->setFrameShape(QFrame::NoFrame);
    // Hover values: the viewport's mouse moves are matched to the nearest measured point by hand, because a line
    // series' own hover signal fires only on its thin line, not around the marker.
    m_chartView->setMouseTracking(true);
    m_chartView->viewport()->setMouseTracking(true);
    m_chartView->viewport()->installEventFilter(this);
    m_chartView->setBackgroundBrush(Qt::white);

    // The legend, the caption and the warning: under the plot, or in a column beside it (placeFooter).
    m_footer = new QWidget(this);
    m_footer->setAutoFillBackground(true);
    QPalette white = m_footer->palette();
    white.setColor(QPalette::Window, Qt::white);
    m_footer->setPalette(white);
    m_sideTitle = new QLabel(m_footer);
    m_sideTitle->setWordWrap(true);
    m_sideTitle->setMinimumWidth(1);
    m_sideTitle->hide();
    m_legend = new QGridLayout;
    m_legend->setHorizontalSpacing(8);
    m_legend->setVerticalSpacing(4);
    auto* legendRow = new QHBoxLayout;
    legendRow->addStretch(1);
    legendRow->addLayout(m_legend, 100); // beside the plot: the column's whole width, not its size hint
    legendRow->addStretch(1);
    m_caption = new QLabel(m_footer);
    m_caption->setAlignment(Qt::AlignCenter);
    m_caption->setWordWrap(true);
    m_caption->setMinimumWidth(1);
    QPalette grey = m_caption->palette();
    grey.setColor(QPalette::WindowText, QColor(0x55, 0x55, 0x55));
    m_caption->setPalette(grey);
    m_warning = new QLabel(m_footer);
    m_warning->setAlignment(Qt::AlignCenter);
    m_warning->setWordWrap(true);
    m_warning->setMinimumWidth(1);
    QPalette red = m_warning->palette();
    red.setColor(QPalette::WindowText, QColor(0xA0, 0x20, 0x20));
    m_warning->setPalette(red);
    m_warning->hide();
    auto* footerLayout = new QVBoxLayout(m_footer);
    footerLayout->setContentsMargins(0, 0, 0, 0);
    footerLayout->addWidget(m_sideTitle);
    footerLayout->addLayout(legendRow);
    footerLayout->addWidget(m_caption);
    footerLayout->addWidget(m_warning);
    footerLayout->addStretch(1);
    m_sideScroll = new QScrollArea(this);
    m_sideScroll->setWidgetResizable(true);
    m_sideScroll->setFrameShape(QFrame::NoFrame);
    m_sideScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    // Always there: a bar that came and went would change the width the names wrap to after they wrapped.
    m_sideScroll->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOn);
    m_sideScroll->setPalette(white);
    m_sideScroll->hide();

    m_chartPage = new QWidget(this);
    m_chartPage->setAutoFillBackground(true);
    m_chartPage->setPalette(white);
    auto* pageLayout = new QBoxLayout(QBoxLayout::TopToBottom, m_chartPage);
    pageLayout->setContentsMargins(0, 0, 0, 8);
    pageLayout->addWidget(m_chartView, 1);
    pageLayout->addWidget(m_footer);
    pageLayout->addWidget(m_sideScroll);

    m_hint = new QLabel(tr("Run a sweep to chart speedup…\n\nSweep… repeats the workload over thread counts and "
                           "strategies and draws speedup, efficiency and throughput here."),
        this);
    m_hint->setAlignment(Qt::AlignCenter);
    m_hint->setWordWrap(true);
    QPalette hintPalette = m_hint->palette();
    hintPalette.setColor(QPalette::WindowText, QColor(0x66, 0x66, 0x66));
    hintPalette.setColor(QPalette::Window, Qt::white);
    m_hint->setPalette(hintPalette);
    m_hint->setAutoFillBackground(true);

    m_stack = new QStackedWidget(this);
    m_stack->addWidget(m_hint);
    m_stack->addWidget(m_chartPage);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(m_stack, 1);

    applyFonts();
    syncButtons();
    clear();
    fitControls();
}

SpeedupChart::~SpeedupChart() = default;

QString SpeedupChart::phaseName(Phase phase)
{
    switch (phase) {
    case Phase::Prefill:
        return tr("Prefill");
    case Phase::Decode:
        return tr("Decode");
    case Phase::Total:
        break;
    }
    return tr("Total");
}

QString SpeedupChart::viewName(View view)
{
    switch (view) {
    case View::Speedup:
        return tr("speedup");
    case View::Efficiency:
        return tr("efficiency");
    case View::Throughput:
        break;
    }
    return tr("throughput");
}

void SpeedupChart::setSweep(const engine::SweepResult& result)
{
    m_result = result;
    if (m_result.strategies.empty()) {
        clear();
        return;
    }
    // Series are rebuilt only when what they stand for changes; otherwise their points are replaced.
    QString structure;
    for (const engine::StrategySweep& s : m_result.strategies) {
        const size_t bars
            = std::max({ s.prefillScaling.points.size(), s.decodeScaling.points.size(), s.totalScaling.points.size() });
        structure += QString::fromStdString(s.strategy) + QLatin1Char('|') + QString::number(bars) + QLatin1Char('|')
            + QLatin1Char(s.scaledWork ? 'g' : '-') + QLatin1Char('\n');
    }
    if (structure != m_structure || m_series.empty()) {
        m_structure = structure;
        rebuildSeries();
    }
    refresh();
    m_stack->setCurrentWidget(m_chartPage);
}

void SpeedupChart::clear()
{
    m_result = {};
    m_structure.clear();
    m_series.clear();
    m_reference = nullptr;
    m_coreMark = nullptr;
    if (m_predictBox)
        m_predictBox->hide();
    m_inLegend.clear();
    m_warning->clear();
    m_warning->hide();
    m_chart->removeAllSeries();
    m_chart->setTitle(QString());
    m_sideTitle->clear();
    rebuildLegend();
    m_caption->clear();
    m_stack->setCurrentWidget(m_hint);
}

void SpeedupChart::applyFonts()
{
    QFont base = font();
    base.setPointSizeF(m_basePoint * m_scale);
    setFont(base);
    QFont bold = base;
    bold.setBold(true);
    for (QLabel* caption : m_groupCaptions)
        caption->setFont(bold);
    QFont titleFont = bold;
    titleFont.setPointSizeF(base.pointSizeF() + 2 * m_scale); // the plot, not the title, needs the height
    m_chart->setTitleFont(titleFont);
    QFont axisTitleFont = bold;
    axisTitleFont.setPointSizeF(base.pointSizeF() + m_scale);
    m_sideTitle->setFont(axisTitleFont);
    for (QAbstractAxis* axis : std::initializer_list<QAbstractAxis*> { m_axisX, m_axisY }) {
        axis->setTitleFont(axisTitleFont);
        axis->setLabelsFont(base);
    }
    // The footer is read once per sweep; a point smaller leaves the plot a line more of height.
    QFont footerFont = base;
    footerFont.setPointSizeF(base.pointSizeF() - m_scale);
    m_caption->setFont(footerFont);
    m_warning->setFont(footerFont);
    QFont hintFont = base;
    hintFont.setPointSizeF(base.pointSizeF() + 4 * m_scale);
    m_hint->setFont(hintFont);
}

void SpeedupChart::setPresentationScale(double scale)
{
    if (scale == m_scale)
        return;
    m_scale = scale;
    applyFonts();
    // A projector's large text: the legend and the footer beside the plot, which keeps the height.
    m_besidePlot = scale > 1;
    placeFooter();
    fitControls();
    if (hasSweep()) {
        rebuildSeries(); // the pens are thicker
        refresh();
    }
}

bool SpeedupChart::showsHint() const { return m_stack->currentWidget() == m_hint; }

void SpeedupChart::setPhase(Phase phase)
{
    if (phase == m_phase)
        return;
    m_phase = phase;
    syncButtons();
    if (hasSweep())
        refresh();
    Q_EMIT phaseChanged(phase);
}

void SpeedupChart::setView(View view)
{
    if (view == m_view)
        return;
    m_view = view;
    syncButtons();
    if (hasSweep())
        refresh();
    Q_EMIT viewChanged(view);
}

void SpeedupChart::syncButtons()
{
    m_phaseButtons->button(int(m_phase))->setChecked(true);
    m_viewButtons->button(int(m_view))->setChecked(true);
    m_phaseCombo->setCurrentIndex(int(m_phase));
    m_viewCombo->setCurrentIndex(int(m_view));
}

bool SpeedupChart::compactControls() const { return !m_comboBar->isHidden(); }

void SpeedupChart::fitControls()
{
    // The buttons while they fit; a row wider than the chart would make its pane scroll sideways.
    const bool compact = m_buttonBar->sizeHint().width() > contentsRect().width() - 8;
    m_buttonBar->setVisible(!compact);
    m_comboBar->setVisible(compact);
}

void SpeedupChart::placeFooter()
{
    auto* page = static_cast<QBoxLayout*>(m_chartPage->layout());
    if (m_besidePlot && m_sideScroll->widget() != m_footer) {
        page->removeWidget(m_footer);
        m_sideScroll->setWidget(m_footer);
        m_sideScroll->show();
        page->setDirection(QBoxLayout::LeftToRight);
    } else if (!m_besidePlot && m_sideScroll->widget() == m_footer) {
        m_sideScroll->takeWidget();
        m_sideScroll->hide();
        page->setDirection(QBoxLayout::TopToBottom);
        page->insertWidget(1, m_footer);
        m_footer->show();
    }
    const Qt::Alignment align = m_besidePlot ? Qt::AlignLeft | Qt::AlignTop : Qt::AlignCenter;
    m_caption->setAlignment(align);
    m_warning->setAlignment(align);
    m_sideTitle->setVisible(m_besidePlot);
    // Beside the plot every margin the chart keeps is height the plot does not get.
    page->setContentsMargins(0, 0, 0, m_besidePlot ? 0 : 8);
    m_chart->setMargins(m_besidePlot ? QMargins(2, 2, 6, 0) : QMargins(8, 8, 8, 8));
    if (QGraphicsLayout* layout = m_chart->layout()) {
        if (!m_chartLayoutMargins) {
            qreal l = 0, t = 0, r = 0, b = 0;
            layout->getContentsMargins(&l, &t, &r, &b);
            m_chartLayoutMargins = QMarginsF(l, t, r, b);
        }
        const QMarginsF m = m_besidePlot ? QMarginsF() : *m_chartLayoutMargins;
        layout->setContentsMargins(m.left(), m.top(), m.right(), m.bottom());
    }
    m_chart->setTitle(m_besidePlot ? QString() : m_sideTitle->text());
    fitSideColumn();
    rebuildLegend();
}

void SpeedupChart::fitSideColumn()
{
    // A third of the width at most: the plot is what the room watches.
    const int w = std::clamp(width() * 3 / 10, 160, int(360 * m_scale));
    m_sideScroll->setFixedWidth(w);
}

void SpeedupChart::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    fitControls();
    if (m_besidePlot)
        fitSideColumn();
}

void SpeedupChart::rebuildSeries()
{
    m_chart->removeAllSeries();
    m_series.clear();
    m_inLegend.clear();

    auto add = [this](QLineSeries* series) {
        m_chart->addSeries(series);
        series->attachAxis(m_axisX);
        series->attachAxis(m_axisY);
        return series;
    };

    // Added first so it is drawn beneath the measurements.
    m_reference = add(new QLineSeries);
    m_reference->setPen(makePen(kReferenceColor, kFitWidth * m_scale, Qt::DashLine));
    m_coreMark = add(new QLineSeries);
    m_coreMark->setPen(makePen(QColor(0xB0, 0x30, 0x30), 1.5 * m_scale, Qt::DotLine));

    int index = 0;
    for (const engine::StrategySweep& s : m_result.strategies) {
        StrategySeries entry;
        entry.name = QString::fromStdString(s.strategy);
        entry.color = kPalette[index % std::size(kPalette)];
        const size_t bars
            = std::max({ s.prefillScaling.points.size(), s.decodeScaling.points.size(), s.totalScaling.points.size() });
        for (size_t i = 0; i < bars; ++i) {
            QLineSeries* bar = add(new QLineSeries);
            bar->setPen(makePen(entry.color, kBarWidth * m_scale));
            setInLegend(bar, false);
            entry.bars.append(bar);
        }
        entry.measured = add(new QLineSeries);
        entry.measured->setName(entry.name);
        entry.measured->setPen(makePen(entry.color, kLineWidth * m_scale));
        entry.measured->setPointsVisible(true);
        entry.measured->setMarkerSize(kMarkerPixels * m_scale);
        entry.measured->setLightMarker(markerImage(index, entry.color));

        entry.amdahl = add(new QLineSeries);
        entry.amdahl->setPen(makePen(entry.color, kFitWidth * m_scale, Qt::DashLine));
        entry.predicted = add(new QLineSeries);
        entry.predicted->setPen(makePen(entry.color.lighter(125), kFitWidth * m_scale, Qt::DashDotLine));
        m_series.push_back(std::move(entry));
        ++index;
    }
}

const engine::ScalingAnalysis& SpeedupChart::analysisOf(const engine::StrategySweep& sweep) const
{
    switch (m_phase) {
    case Phase::Prefill:
        return sweep.prefillScaling;
    case Phase::Decode:
        return sweep.decodeScaling;
    case Phase::Total:
        break;
    }
    return sweep.totalScaling;
}

double SpeedupChart::tokensOf(const engine::StrategySweep& sweep, int threads) const
{
    double tokens = double(sweep.promptTokens) + double(sweep.generatedTokens);
    if (m_phase == Phase::Prefill)
        tokens = sweep.promptTokens;
    else if (m_phase == Phase::Decode)
        tokens = sweep.generatedTokens;
    // With scaled work, p threads process p copies of the p = 1 workload (as the exports count it).
    return sweep.scaledWork ? tokens * threads : tokens;
}

void SpeedupChart::setInLegend(QLineSeries* series, bool shown)
{
    if (shown)
        m_inLegend.insert(series);
    else
        m_inLegend.remove(series);
}

void SpeedupChart::rebuildLegend()
{
    while (QLayoutItem* item = m_legend->takeAt(0)) {
        if (item->widget() != m_predictBox)
            delete item->widget();
        delete item;
    }
    // One row per strategy (measurements, then their fits), and a last row for the ideal line and the core mark, in
    // every view: the legend keeps its size when the view changes, so the chart and the buttons do not jump, and
    // it stays narrow enough for the window.
    // textColumns > 1: the text spans the columns to its right, so a long name does not widen its own column.
    if (m_besidePlot) {
        // Beside the plot the column is narrow: one entry a row, long names wrapped, in the order below.
        int row = 0;
        auto addRow = [&](QLineSeries* series, const QString* prefix = nullptr) {
            if (!series || !m_inLegend.contains(series))
                return;
            auto* swatch = new QLabel(m_footer);
            swatch->setPixmap(legendSwatch(series->pen(), series->lightMarker()));
            swatch->setAlignment(Qt::AlignTop);
            // A fit's entry is under its strategy's: its name need not say the strategy again.
            QString name = series->name();
            if (prefix && name.startsWith(*prefix + QLatin1Char(' ')))
                name = name.mid(prefix->size() + 1);
            auto* text = new QLabel(name, m_footer);
            text->setWordWrap(true);
            text->setMinimumWidth(1); // wraps to the column's width rather than widen it past the edge
            m_legend->addWidget(swatch, row, 0, Qt::AlignTop);
            m_legend->addWidget(text, row, 1);
            ++row;
        };
        for (const StrategySeries& s : m_series) {
            addRow(s.measured);
            addRow(s.amdahl, &s.name);
        }
        addRow(m_reference);
        addRow(m_coreMark);
        for (const StrategySeries& s : m_series)
            addRow(s.predicted);
        if (m_predictBox && hasPrediction())
            m_legend->addWidget(m_predictBox, row, 0, 1, 2);
        m_legend->setColumnStretch(1, 1);
        return;
    }
    m_legend->setColumnStretch(1, 0);
    auto addEntry = [this](QLineSeries* series, int row, int column, int textColumns = 1) {
        if (!series || !m_inLegend.contains(series))
            return false;
        auto* swatch = new QLabel(m_footer);
        swatch->setPixmap(legendSwatch(series->pen(), series->lightMarker()));
        auto* text = new QLabel(series->name(), m_footer);
        text->setWordWrap(m_besidePlot);
        m_legend->addWidget(swatch, row, 2 * column);
        m_legend->addWidget(text, row, 2 * column + 1, 1, textColumns);
        return true;
    };
    for (size_t i = 0; i < m_series.size(); ++i) {
        const StrategySeries& s = m_series[i];
        addEntry(s.measured, int(i), 0);
        addEntry(s.amdahl, int(i), 1);
    }
    const int last = int(m_series.size());
    // Predictions below the ideal line's row, one row each: beside the fits the legend would outgrow the window.
    int predictedRow = last + 1;
    for (const StrategySeries& s : m_series)
        if (addEntry(s.predicted, predictedRow, 0, 3))
            ++predictedRow;
    // The switch that extends the axis, under the predictions.
    if (m_predictBox && hasPrediction())
        m_legend->addWidget(m_predictBox, predictedRow, 1, 1, 3);
    const bool reference = addEntry(m_reference, last, 0);
    const bool cores = addEntry(m_coreMark, last, 1);
    if (!reference && !cores) { // hold the row's height (the throughput view has no ideal line)
        auto* placeholder = new QWidget(m_footer);
        placeholder->setFixedSize(1, legendSwatch(QPen(), QImage()).height());
        m_legend->addWidget(placeholder, last, 0);
    }
}

void SpeedupChart::YExtent::grow(double y)
{
    if (std::isfinite(y))
        max = std::max(max, y);
}

void SpeedupChart::refresh()
{
    m_predictBox->setVisible(hasPrediction());
    ThreadRange range = threadRange();
    if (m_showPrediction)
        for (const engine::StrategySweep& s : m_result.strategies)
            if (s.prediction.available && !s.scaledWork)
                for (const engine::PredictionPoint& p : s.prediction.points) {
                    range.counts.insert(p.threads);
                    range.min = std::min(range.min, double(p.threads));
                    range.max = std::max(range.max, double(p.threads));
                }
    YExtent extent;
    for (size_t i = 0; i < m_series.size(); ++i) {
        const engine::StrategySweep& sweep = m_result.strategies[i];
        updateMeasured(m_series[i], sweep, range, extent);
        updateAmdahlFit(m_series[i], sweep, range, extent);
        updatePrediction(m_series[i], sweep, range, extent);
    }
    updateReference(range, extent);
    updateAxes(range, extent.max);
    updateTitle();
}

SpeedupChart::ThreadRange SpeedupChart::threadRange() const
{
    ThreadRange range;
    range.min = std::numeric_limits<double>::infinity();
    range.max = 0;
    for (const engine::StrategySweep& s : m_result.strategies) {
        for (const engine::ScalingPoint& point : analysisOf(s).points) {
            range.counts.insert(point.threads);
            range.min = std::min(range.min, double(point.threads));
            range.max = std::max(range.max, double(point.threads));
        }
    }
    if (range.counts.empty())
        range.min = range.max = 1;
    return range;
}

// The measured points of the current view with their min–max bars.
void SpeedupChart::updateMeasured(
    StrategySeries& series, const engine::StrategySweep& sweep, const ThreadRange& range, YExtent& extent)
{
    const engine::ScalingAnalysis& analysis = analysisOf(sweep);
    const double capHalfWidth = std::max(0.04, (range.max - range.min) * 0.012);
    QList<QPointF> measured;
    QList<QList<QPointF>> bars;
    measured.reserve(qsizetype(analysis.points.size()));
    for (const engine::ScalingPoint& point : analysis.points) {
        const double p = point.threads;
        double y = kNaN, low = kNaN, high = kNaN;
        // With scaled work (p copies of the workload at p threads) T(1)/T(p) compares different amounts of
        // work: the engine's Gustafson scaled speedup p · T(1)/T(p) and efficiency T(1)/T(p) are shown instead,
        // their bars from the same min and max times.
        switch (m_view) {
        case View::Speedup:
            if (sweep.scaledWork)
                y = point.scaledSpeedup, low = point.speedupLow * p, high = point.speedupHigh * p;
            else
                y = point.speedup, low = point.speedupLow, high = point.speedupHigh;
            break;
        case View::Efficiency:
            if (sweep.scaledWork)
                y = point.scaledEfficiency, low = point.speedupLow, high = point.speedupHigh;
            else
                y = point.efficiency, low = point.speedupLow / p, high = point.speedupHigh / p;
            break;
        case View::Throughput: {
            const double tokens = tokensOf(sweep, point.threads);
            y = tokens / point.medianSeconds, low = tokens / point.maxSeconds, high = tokens / point.minSeconds;
            break;
        }
        }
        if (!std::isfinite(y))
            continue;
        measured.append(QPointF(p, y));
        extent.grow(y);
        if (std::isfinite(low) && std::isfinite(high)) {
            extent.grow(high);
            // One polyline: top cap, stem, bottom cap. Retracing the stem keeps it a single series.
            bars.append(QList<QPointF> { QPointF(p - capHalfWidth, high), QPointF(p + capHalfWidth, high),
                QPointF(p, high), QPointF(p, low), QPointF(p - capHalfWidth, low), QPointF(p + capHalfWidth, low) });
        }
    }
    series.measured->replace(measured);
    for (qsizetype b = 0; b < series.bars.size(); ++b) {
        QLineSeries* bar = series.bars[b];
        bar->replace(b < bars.size() ? bars[b] : QList<QPointF>());
        bar->setVisible(b < bars.size());
        setInLegend(bar, false);
    }
    // With scaled work the figures are Gustafson's; the legend says so.
    QString name = series.name;
    if (sweep.scaledWork && m_view == View::Speedup)
        name = tr("%1 Gustafson scaled speedup").arg(series.name);
    else if (sweep.scaledWork && m_view == View::Efficiency)
        name = tr("%1 scaled efficiency").arg(series.name);
    series.measured->setName(name);
    series.measured->setVisible(true);
    setInLegend(series.measured, true);
}

// Says what the fit used: the p range and the number of points (p = 1 included), and that a two-point fit is exact.
// Points left out for having no core of their own are named by the core mark's legend entry.
QString SpeedupChart::fitName(const QString& strategy, const engine::ScalingAnalysis& analysis, const QString& limit)
{
    const QString range = analysis.fitThreads.front() == analysis.fitThreads.back()
        ? QString::number(analysis.fitThreads.front())
        : QStringLiteral("%1–%2").arg(analysis.fitThreads.front()).arg(analysis.fitThreads.back());
    const QString values = tr("s = %1, %2").arg(formatFraction(analysis.serialFraction), limit);
    return analysis.fitExact()
        ? tr("%1 Amdahl fit to p = %2, 2 points (exact, not evidence): %3").arg(strategy, range, values)
        : tr("%1 Amdahl fit to p = %2, %3 points: %4").arg(strategy, range).arg(analysis.fitPoints()).arg(values);
}

// Amdahl's curve for the fitted serial fraction, speedup view only.
void SpeedupChart::updateAmdahlFit(
    StrategySeries& series, const engine::StrategySweep& sweep, const ThreadRange& range, YExtent& extent)
{
    const engine::ScalingAnalysis& analysis = analysisOf(sweep);
    const double s = analysis.serialFraction;
    const double maxThreads = range.max;
    // Amdahl's law is about a fixed amount of work: a fit to a scaled-work sweep is meaningless (Gustafson
    // covers it), so there the curve is left out.
    const bool showFit = m_view == View::Speedup && !sweep.scaledWork && analysis.valid && std::isfinite(s)
        && analysis.fitPoints() >= 2 && maxThreads > 1;
    QList<QPointF> curve;
    if (showFit) {
        curve.reserve(kCurveSamples);
        for (int k = 0; k < kCurveSamples; ++k) {
            const double p = 1.0 + (maxThreads - 1.0) * k / (kCurveSamples - 1);
            const double y = engine::amdahlSpeedup(s, p);
            // A negative fit (superlinear measurements) has a pole; stop the curve before it.
            if (!std::isfinite(y) || y <= 0)
                break;
            curve.append(QPointF(p, y));
            extent.grow(y);
        }
        // Amdahl's bound 1/s; with s >= 1 the best is one thread, so "max" would mislead.
        const QString limit = !std::isfinite(analysis.asymptoticSpeedup) ? tr("no limit")
            : s >= 1.0                                                   ? tr("slower with threads")
                       : tr("max %1×").arg(analysis.asymptoticSpeedup, 0, 'f', analysis.asymptoticSpeedup < 2 ? 2 : 1);
        series.amdahl->setName(fitName(series.name, analysis, limit));
    }
    series.amdahl->replace(curve);
    series.amdahl->setVisible(showFit);
    setInLegend(series.amdahl, showFit);
}

// The replayed trace's prediction (engine/measure/prediction.h), anchored to the measured one-thread time so that it
// meets the measurements where they overlap.
void SpeedupChart::updatePrediction(
    StrategySeries& series, const engine::StrategySweep& sweep, const ThreadRange& range, YExtent& extent)
{
    QList<QPointF> curve;
    const engine::ScalingPrediction& prediction = sweep.prediction;
    const bool show = prediction.available && !sweep.scaledWork;
    if (show) {
        // T(1) measured for this phase (median), else the prediction's own one-thread time.
        double measured1 = kNaN;
        for (const engine::ScalingPoint& point : analysisOf(sweep).points)
            if (point.threads == 1)
                measured1 = point.medianSeconds;
        auto predictedSeconds = [&](const engine::PredictionPoint& p) {
            switch (m_phase) {
            case Phase::Prefill:
                return p.prefillMs / 1e3;
            case Phase::Decode:
                return p.decodeMs / 1e3;
            case Phase::Total:
                break;
            }
            return (p.prefillMs + p.decodeMs) / 1e3;
        };
        double predicted1 = kNaN;
        for (const engine::PredictionPoint& p : prediction.points)
            if (p.threads == 1)
                predicted1 = predictedSeconds(p);
        const double base = std::isfinite(measured1) ? measured1 : predicted1;
        for (const engine::PredictionPoint& p : prediction.points) {
            if (p.threads > range.max)
                continue;
            const double t = predictedSeconds(p);
            if (!(t > 0))
                continue;
            double y = kNaN;
            switch (m_view) {
            case View::Speedup:
                y = base / t;
                break;
            case View::Efficiency:
                y = base / t / p.threads;
                break;
            case View::Throughput:
                y = tokensOf(sweep, p.threads) / t;
                break;
            }
            if (!std::isfinite(y))
                continue;
            curve.append(QPointF(p.threads, y));
            extent.grow(y);
        }
        series.predicted->setName(
            tr("%1 predicted (a model, from the %2-thread trace)").arg(series.name).arg(prediction.measuredThreads));
    }
    const bool drawn = show && curve.size() >= 2;
    series.predicted->replace(drawn ? curve : QList<QPointF>());
    series.predicted->setVisible(drawn);
    setInLegend(series.predicted, drawn);
}

bool SpeedupChart::hasPrediction() const
{
    for (const engine::StrategySweep& s : m_result.strategies)
        if (s.prediction.available && !s.scaledWork)
            return true;
    return false;
}

void SpeedupChart::setShowPrediction(bool show)
{
    if (m_showPrediction == show)
        return;
    m_showPrediction = show;
    if (m_predictBox->isChecked() != show)
        m_predictBox->setChecked(show);
    if (hasSweep())
        refresh();
}

QList<QPointF> SpeedupChart::predictedPoints(const QString& strategy) const
{
    const StrategySeries* s = seriesOf(strategy);
    return s && s->predicted->isVisible() ? s->predicted->points() : QList<QPointF>();
}

void SpeedupChart::updateReference(const ThreadRange& range, YExtent& extent)
{
    const double minThreads = range.min, maxThreads = range.max;
    QList<QPointF> reference;
    switch (m_view) {
    case View::Speedup:
        reference = { QPointF(1, 1), QPointF(maxThreads, maxThreads) };
        m_reference->setName(tr("ideal S = p"));
        // Show the ideal line in full unless it would squash the measurements (many threads, little speedup).
        extent.max = std::max(extent.max, maxThreads <= 8 ? maxThreads : std::min(maxThreads, 2.5 * extent.max));
        m_yTitles = scaledWork() ? QStringList { tr("scaled speedup p·T(1)/T(p)"), tr("scaled speedup"), tr("S(p)") }
                                 : QStringList { tr("speedup T(1)/T(p)"), tr("speedup"), tr("S(p)") };
        break;
    case View::Efficiency:
        reference = { QPointF(minThreads, 1), QPointF(maxThreads, 1) };
        m_reference->setName(tr("ideal efficiency 1.0"));
        extent.max = std::max(extent.max, 1.0);
        m_yTitles = scaledWork() ? QStringList { tr("scaled efficiency S/p"), tr("scaled efficiency"), tr("E(p)") }
                                 : QStringList { tr("efficiency S/p"), tr("efficiency"), tr("E(p)") };
        break;
    case View::Throughput:
        m_yTitles = { tr("tokens/s"), tr("tok/s") };
        break;
    }
    fitYTitle();
    m_reference->replace(reference);
    m_reference->setVisible(!reference.isEmpty());
    setInLegend(m_reference, !reference.isEmpty());
}

void SpeedupChart::fitYTitle()
{
    // Qt Charts cuts an axis title longer than the plot is high ("speedup …"); take the longest that fits.
    if (m_yTitles.isEmpty())
        return;
    const QFontMetrics metrics(m_axisY->titleFont());
    const qreal room = m_chart->plotArea().height();
    QString chosen = m_yTitles.back();
    for (const QString& title : m_yTitles)
        if (room <= 0 || metrics.horizontalAdvance(title) + 8 <= room) {
            chosen = title;
            break;
        }
    if (m_axisY->titleText() != chosen)
        m_axisY->setTitleText(chosen);
}

void SpeedupChart::updateTitle()
{
    QString what;
    switch (m_view) {
    case View::Speedup:
        what = scaledWork() ? tr("scaled speedup vs threads (work grows with p)") : tr("speedup vs threads");
        break;
    case View::Efficiency:
        what = scaledWork() ? tr("scaled efficiency vs threads (work grows with p)")
                            : tr("parallel efficiency vs threads");
        break;
    case View::Throughput:
        what = tr("throughput (tokens/s) vs threads");
        break;
    }
    const QString title = tr("%1 — %2").arg(phaseName(m_phase), what);
    // Beside the plot the title heads the column: the plot keeps the height it would take.
    m_chart->setTitle(m_besidePlot ? QString() : title);
    m_sideTitle->setText(title);
    m_caption->setText(describe(m_result));
    m_warning->setText(busyWarning(m_result));
    m_warning->setVisible(!m_warning->text().isEmpty());
    rebuildLegend();
}

void SpeedupChart::updateAxes(const ThreadRange& range, double yMax)
{
    const double minThreads = range.min, maxThreads = range.max;
    // Ticks at the measured thread counts, thinned where they would collide.
    const QStringList old = m_axisX->categoriesLabels();
    for (const QString& label : old)
        m_axisX->remove(label);
    const double pad = std::max(0.35, (maxThreads - minThreads) * 0.04);
    m_axisX->setStartValue(minThreads - pad);
    double lastLabelled = -std::numeric_limits<double>::infinity();
    // The machine's core count is marked on the axis and by a vertical line: to its right threads share cores.
    const int cores = coresOf(m_result);
    const bool markCores = cores >= minThreads && cores <= maxThreads;
    std::set<int> ticks = range.counts;
    if (markCores)
        ticks.insert(cores);
    for (int p : ticks) {
        if (p != cores && p - lastLabelled < (maxThreads - minThreads) / 24.0)
            continue;
        m_axisX->append(p == cores && markCores && !m_shortCoreLabel ? tr("%1 = cores").arg(p) : QString::number(p), p);
        lastLabelled = p;
    }
    m_axisX->setRange(minThreads - pad, maxThreads + pad);

    m_yMax = yMax > 0 ? yMax : 1.0;
    m_coreX = markCores ? cores : 0;
    if (m_coreMark) {
        // Points right of the line are measured but not fitted (engine::analyzeSweep leaves them out).
        m_coreMark->setName(cores >= maxThreads ? tr("%1 logical cores").arg(cores)
                : scaledWork()                  ? tr("%1 logical cores: more threads share cores").arg(cores)
                               : tr("%1 logical cores: more threads share cores, not fitted").arg(cores));
        m_coreMark->setVisible(markCores);
        setInLegend(m_coreMark, markCores);
    }
    applyYScale();
}

void SpeedupChart::applyYScale()
{
    // No more ticks than the plot has room for: Qt Charts turns labels that would touch into "…".
    const double plotHeight = m_chart->plotArea().height();
    const int maxTicks = plotHeight > 0 ? std::clamp(int(plotHeight / 30.0), 2, 8) : 8;
    const double step = niceStep(m_yMax * 1.08, maxTicks);
    const double top = std::ceil(m_yMax * 1.08 / step) * step;
    m_axisY->setRange(0, top);
    m_axisY->setTickCount(int(std::lround(top / step)) + 1);
    m_axisY->setLabelFormat(step >= 1 ? QStringLiteral("%.0f")
            : step >= 0.1             ? QStringLiteral("%.1f")
                                      : QStringLiteral("%.2f"));
    if (m_coreMark)
        m_coreMark->replace(
            m_coreX > 0 ? QList<QPointF> { QPointF(m_coreX, 0), QPointF(m_coreX, top) } : QList<QPointF>());
}

const SpeedupChart::StrategySeries* SpeedupChart::seriesOf(const QString& strategy) const
{
    for (const StrategySeries& s : m_series)
        if (s.name == strategy)
            return &s;
    return nullptr;
}

const engine::StrategySweep* SpeedupChart::sweepOf(const QString& strategy) const
{
    for (const engine::StrategySweep& s : m_result.strategies)
        if (QString::fromStdString(s.strategy) == strategy)
            return &s;
    return nullptr;
}

QStringList SpeedupChart::strategies() const
{
    QStringList names;
    for (const StrategySeries& s : m_series)
        names.append(s.name);
    return names;
}

QList<QPointF> SpeedupChart::measuredPoints(const QString& strategy) const
{
    const StrategySeries* s = seriesOf(strategy);
    return s ? s->measured->points() : QList<QPointF>();
}

QList<SpeedupChart::Bar> SpeedupChart::errorBars(const QString& strategy) const
{
    QList<Bar> bars;
    const StrategySeries* s = seriesOf(strategy);
    if (!s)
        return bars;
    for (const QLineSeries* series : s->bars) {
        const QList<QPointF> points = series->points();
        if (points.size() == 6) // cap, stem (points 2 and 3), cap
            bars.append({ points[2].x(), points[3].y(), points[2].y() });
    }
    return bars;
}

QList<QPointF> SpeedupChart::amdahlPoints(const QString& strategy) const
{
    const StrategySeries* s = seriesOf(strategy);
    return s && s->amdahl->isVisible() ? s->amdahl->points() : QList<QPointF>();
}

QList<QPointF> SpeedupChart::gustafsonPoints(const QString& strategy) const
{
    const engine::StrategySweep* sweep = sweepOf(strategy);
    return sweep && sweep->scaledWork && m_view == View::Speedup ? measuredPoints(strategy) : QList<QPointF>();
}

bool SpeedupChart::scaledWork() const
{
    // One sweep request: every strategy has the same kind of work.
    return !m_result.strategies.empty() && m_result.strategies.front().scaledWork;
}

QList<QPointF> SpeedupChart::referencePoints() const
{
    return m_reference && m_reference->isVisible() ? m_reference->points() : QList<QPointF>();
}

double SpeedupChart::fittedSerialFraction(const QString& strategy) const
{
    const engine::StrategySweep* s = sweepOf(strategy);
    return s ? analysisOf(*s).serialFraction : kNaN;
}

QStringList SpeedupChart::seriesNames() const
{
    // The legend lists series in the order they were added.
    QStringList names;
    for (QAbstractSeries* series : m_chart->series())
        if (m_inLegend.contains(series))
            names.append(series->name());
    return names;
}

QString SpeedupChart::caption() const { return m_caption->text(); }

QString SpeedupChart::warning() const { return m_warning->text(); }

QString SpeedupChart::yAxisTitle() const { return m_axisY->titleText(); }

void SpeedupChart::fitCoreLabel()
{
    // "N = cores" where the plot is wide enough between its neighbours' labels; else "N", which Qt Charts would
    // otherwise cut to "…" (the core line's legend entry names it either way).
    const QRectF plot = m_chart->plotArea();
    const double span = m_axisX->max() - m_axisX->min();
    if (m_coreX <= 0 || plot.width() <= 0 || span <= 0)
        return;
    const double pixelsPerThread = plot.width() / span;
    const QFontMetrics metrics(m_axisX->labelsFont());
    const double half = metrics.horizontalAdvance(tr("%1 = cores").arg(m_coreX)) / 2.0;
    bool fits = (m_coreX - m_axisX->min()) * pixelsPerThread + 16 >= half
        && (m_axisX->max() - m_coreX) * pixelsPerThread + 16 >= half;
    for (const QString& label : m_axisX->categoriesLabels()) {
        const double at = m_axisX->endValue(label);
        if (std::lround(at) == m_coreX)
            continue;
        // Qt Charts gives a label the room up to the next tick, not half of it.
        fits = fits && std::abs(at - m_coreX) * pixelsPerThread >= 2 * half + 8;
    }
    if (fits == !m_shortCoreLabel)
        return;
    m_shortCoreLabel = !fits;
    updateAxes(threadRange(), m_yMax);
}

QStringList SpeedupChart::threadAxisLabels() const { return m_axisX->categoriesLabels(); }

int SpeedupChart::coreMark() const
{
    return m_coreMark && m_coreMark->isVisible() && !m_coreMark->points().isEmpty()
        ? int(std::lround(m_coreMark->points().front().x()))
        : 0;
}

QString SpeedupChart::pointToolTip(const QString& strategy, int threads) const
{
    const engine::StrategySweep* sweep = sweepOf(strategy);
    if (!sweep)
        return {};
    const engine::ScalingAnalysis& analysis = analysisOf(*sweep);
    const auto point = std::find_if(analysis.points.begin(), analysis.points.end(),
        [threads](const engine::ScalingPoint& p) { return p.threads == threads; });
    if (point == analysis.points.end())
        return {};
    QStringList lines;
    lines << tr("%1, p = %2 (%3)").arg(strategy).arg(threads).arg(phaseName(m_phase).toLower());
    lines << tr("median %1 (min %2 – max %3, %4 runs)")
                 .arg(formatSeconds(point->medianSeconds), formatSeconds(point->minSeconds),
                     formatSeconds(point->maxSeconds))
                 .arg(point->repetitions);
    const double tokens = tokensOf(*sweep, threads);
    if (tokens > 0)
        lines << tr("throughput %1 tokens/s").arg(tokens / point->medianSeconds, 0, 'f', 1);
    if (analysis.valid && sweep->scaledWork) {
        // p copies of the workload at p threads: Gustafson's figures; Karp–Flatt and Amdahl assume fixed work.
        lines << tr("scaled speedup %1× (p·T(1)/T(p), Gustafson; %2–%3)")
                     .arg(point->scaledSpeedup, 0, 'f', 2)
                     .arg(point->speedupLow * threads, 0, 'f', 2)
                     .arg(point->speedupHigh * threads, 0, 'f', 2);
        lines << tr("scaled efficiency %1").arg(point->scaledEfficiency, 0, 'f', 2);
    } else if (analysis.valid) {
        lines << tr("speedup %1× (%2–%3)")
                     .arg(point->speedup, 0, 'f', 2)
                     .arg(point->speedupLow, 0, 'f', 2)
                     .arg(point->speedupHigh, 0, 'f', 2);
        lines << tr("efficiency %1").arg(point->efficiency, 0, 'f', 2);
        lines << (std::isfinite(point->karpFlatt)
                ? tr("Karp–Flatt serial fraction e = %1").arg(point->karpFlatt, 0, 'f', 3)
                : tr("Karp–Flatt: undefined at p = 1"));
    } else {
        lines << tr("no p = 1 baseline: no speedup");
    }
    const bool fitted
        = std::find(analysis.fitThreads.begin(), analysis.fitThreads.end(), threads) != analysis.fitThreads.end();
    if (!fitted && !sweep->scaledWork && analysis.fitThreadLimit > 0 && threads > analysis.fitThreadLimit)
        lines << tr("not in the Amdahl fit: more threads than the %1 logical cores").arg(analysis.fitThreadLimit);
    for (const engine::StrategySweep::PointLoad& l : sweep->backgroundLoads)
        if (l.threads == threads && l.load.measured)
            lines << tr("other processes: %1 of %2 CPUs busy%3")
                         .arg(l.load.otherCores, 0, 'f', 2)
                         .arg(l.load.cpus)
                         .arg(l.load.significant() ? tr(" (disturbed)") : QString());
    return lines.join(QLatin1Char('\n'));
}

bool SpeedupChart::eventFilter(QObject* watched, QEvent* event)
{
    if (m_chartView && watched == m_chartView->viewport()) {
        // Qt's tooltip event (after the hover delay, as in the timeline) shows the values; moving off the
        // point hides them at once.
        if (event->type() == QEvent::ToolTip) {
            const auto* help = static_cast<QHelpEvent*>(event);
            hoverAt(help->pos());
            if (m_hoverText.isEmpty())
                QToolTip::hideText();
            else
                QToolTip::showText(help->globalPos(), m_hoverText, m_chartView->viewport());
            return true;
        }
        if (event->type() == QEvent::MouseMove) {
            hoverAt(static_cast<QMouseEvent*>(event)->position().toPoint());
            if (m_hoverText.isEmpty())
                QToolTip::hideText();
        } else if (event->type() == QEvent::Leave) {
            m_hoverText.clear();
            QToolTip::hideText();
        }
    }
    return QWidget::eventFilter(watched, event);
}

void SpeedupChart::hoverAt(const QPoint& viewportPos)
{
    constexpr double kHoverPixels = 14.0; // about a marker's size around its centre
    const QPointF at = m_chart->mapFromScene(m_chartView->mapToScene(viewportPos));
    QString text;
    double best = kHoverPixels;
    for (const StrategySeries& s : m_series) {
        if (!s.measured || !s.measured->isVisible())
            continue;
        for (const QPointF& point : s.measured->points()) {
            const QPointF on = m_chart->mapToPosition(point, s.measured);
            const double distance = std::hypot(on.x() - at.x(), on.y() - at.y());
            if (distance <= best) {
                best = distance;
                text = pointToolTip(s.name, int(std::lround(point.x())));
            }
        }
    }
    m_hoverText = text;
}

QString SpeedupChart::title() const { return m_sideTitle->text(); }

} // namespace ui
