#include "ui/compareview.h"

#include "engine/parallel/scheduler.h"
#include "session/comparison.h"
#include "ui/labels.h"
#include "ui/speedupchart.h"
#include "ui/timelineview.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <cmath>

namespace ui {

namespace {

QTableWidgetItem* cell(const QString& text, bool highlight = false)
{
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    if (highlight) {
        item->setBackground(QColor(255, 236, 150));
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
    }
    return item;
}

QTableWidget* makeTable(const QStringList& headers, QWidget* parent)
{
    auto* t = new QTableWidget(0, int(headers.size()), parent);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->hide();
    t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    t->horizontalHeader()->setStretchLastSection(true);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setWordWrap(false);
    return t;
}

TimelineView* timelineOf(const session::RunRecord& r, int lanes, QWidget* parent)
{
    auto* t = new TimelineView(parent);
    t->setLaneCount(lanes);
    t->setLaneCpus(r.pinnedCpus);
    // The lane labels' busy share over the run's wall time, as the main window's Workers tab and timeline give it.
    t->setRunWallNs(int64_t(r.metrics.wallMs * 1e6));
    t->appendEvents(r.trace);
    return t;
}

} // namespace

QString CompareView::diffWords(const QString& a, const QString& b)
{
    using Kind = session::Comparison::DiffPiece::Kind;
    QString html;
    for (const auto& piece : session::Comparison::diffWords(a.toStdString(), b.toStdString())) {
        const QString text = QString::fromStdString(piece.text).toHtmlEscaped();
        if (piece.kind == Kind::Same)
            html += text;
        else
            html += QStringLiteral("<span style=\"%1\">%2</span>")
                        .arg(piece.kind == Kind::Removed
                                ? QLatin1String("background:#fdd;color:#a00;text-decoration:line-through")
                                : QLatin1String("background:#dfd;color:#060"),
                            text);
    }
    return html;
}

CompareView::CompareView(const session::RunRecord& a, const session::RunRecord& b, const QString& nameA,
    const QString& nameB, QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Compare %1 and %2").arg(nameA, nameB));
    auto* layout = new QVBoxLayout(this);

    // Settings: every key of the run settings' JSON, the differing ones highlighted and first.
    m_settings = makeTable({ tr("Setting"), nameA, nameB }, this);
    for (const auto& setting : session::Comparison::settings(a.settings, b.settings)) {
        const int row = m_settings->rowCount();
        m_settings->insertRow(row);
        m_settings->setItem(row, 0, cell(settingLabel(setting.key), setting.differs));
        m_settings->setItem(
            row, 1, cell(QString::fromStdString(session::Comparison::valueText(setting.a)), setting.differs));
        m_settings->setItem(
            row, 2, cell(QString::fromStdString(session::Comparison::valueText(setting.b)), setting.differs));
        if (setting.differs)
            m_differing << QString::fromStdString(setting.key); // the key, for tests and the report
    }

    // Metrics with the ratio B ÷ A.
    m_metrics = makeTable({ tr("Metric"), nameA, nameB, tr("%1 ÷ %2").arg(nameB, nameA) }, this);
    const auto fa = session::Comparison::figures(a), fb = session::Comparison::figures(b);
    for (size_t i = 0; i < fa.size(); ++i) {
        const int row = m_metrics->rowCount();
        const double ratio = session::Comparison::ratio(fa[i].value, fb[i].value);
        m_metrics->insertRow(row);
        m_metrics->setItem(row, 0, cell(QString::fromStdString(fa[i].name)));
        m_metrics->setItem(row, 1, cell(QString::number(fa[i].value, 'f', fa[i].decimals)));
        m_metrics->setItem(row, 2, cell(QString::number(fb[i].value, 'f', fb[i].decimals)));
        m_metrics->setItem(
            row, 3, cell(std::isfinite(ratio) ? QStringLiteral("%1×").arg(ratio, 0, 'f', 2) : QStringLiteral("–")));
    }

    // Outputs, prompt by prompt.
    m_diff = new QTextBrowser(this);
    QString html;
    const size_t n = std::max(a.sequences.size(), b.sequences.size());
    for (size_t i = 0; i < n; ++i) {
        const QString ta = i < a.sequences.size() ? QString::fromStdString(a.sequences[i].text) : QString();
        const QString tb = i < b.sequences.size() ? QString::fromStdString(b.sequences[i].text) : QString();
        const QString prompt = i < b.settings.prompts.size() ? QString::fromStdString(b.settings.prompts[i])
                                                             : QString::fromStdString(a.settings.prompts.at(i));
        html += QStringLiteral("<p><b>%1</b> %2<br>%3</p>")
                    .arg(tr("Prompt %1:").arg(i + 1), prompt.toHtmlEscaped(),
                        ta == tb ? tr("<i>(same output)</i> ") + ta.toHtmlEscaped() : diffWords(ta, tb));
    }
    m_diff->setHtml(html);

    // Settings, metrics and outputs side by side: stacked, the two tables showed two rows each at 1366×768.
    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(m_settings);
    top->addWidget(m_metrics);
    auto* diffBox = new QWidget(this);
    auto* diffLayout = new QVBoxLayout(diffBox);
    diffLayout->setContentsMargins(0, 0, 0, 0);
    diffLayout->addWidget(
        new QLabel(tr("<b>Outputs</b>: <span style=\"background:#fdd;color:#a00\">only in %1</span> · "
                      "<span style=\"background:#dfd;color:#060\">only in %2</span>")
                       .arg(nameA.toHtmlEscaped(), nameB.toHtmlEscaped()),
            diffBox));
    diffLayout->addWidget(m_diff, 1);
    top->addWidget(diffBox);
    for (int i = 0; i < 3; ++i)
        top->setCollapsible(i, false);

    // Both timelines on the longer run's time scale, zoomed and panned together.
    const int lanes = std::max(a.threads, b.threads);
    m_timelineA = timelineOf(a, lanes, this);
    m_timelineB = timelineOf(b, lanes, this);
    const int64_t end = std::max({ a.metrics.wallNs, b.metrics.wallNs, int64_t(1000) });
    auto* timelines = new QWidget(this);
    auto* tl = new QVBoxLayout(timelines);
    tl->setContentsMargins(0, 0, 0, 0);
    auto label = [&](const QString& name, const session::RunRecord& r) {
        return new QLabel(tr("<b>%1</b> — %2, %3, %4 ms%5")
                              .arg(name.toHtmlEscaped(), QString::fromLatin1(engine::strategyName(r.strategy)),
                                  r.threads == 1 ? tr("1 thread") : tr("%1 threads").arg(r.threads))
                              .arg(r.metrics.wallMs, 0, 'f', 1)
                              .arg(r.trace.empty() ? tr(" (not traced: no timeline)") : QString()),
            timelines);
    };
    tl->addWidget(label(nameA, a));
    tl->addWidget(m_timelineA, 1);
    tl->addWidget(label(nameB, b));
    tl->addWidget(m_timelineB, 1);
    for (TimelineView* t : { m_timelineA, m_timelineB })
        t->setVisibleRange(0, end);
    connect(m_timelineA, &TimelineView::visibleRangeChanged, m_timelineB, &TimelineView::setVisibleRange);
    connect(m_timelineB, &TimelineView::visibleRangeChanged, m_timelineA, &TimelineView::setVisibleRange);

    auto* all = new QSplitter(Qt::Vertical, this);
    all->addWidget(top);
    all->addWidget(timelines);
    // The tables' rows before the timelines' height: the timelines keep their lanes at a third.
    all->setStretchFactor(0, 2);
    all->setStretchFactor(1, 1);
    all->setCollapsible(0, false);
    all->setCollapsible(1, false);
    layout->addWidget(all);
    addExportButton(layout);
}

CompareView::CompareView(const session::SweepRecord& a, const session::SweepRecord& b, const QString& nameA,
    const QString& nameB, QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Compare %1 and %2").arg(nameA, nameB));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Both sweeps on one chart: each strategy is named after its sweep."), this));
    m_chart = new SpeedupChart(this);
    m_chart->setSweep(session::Comparison::mergedSweeps(a.result, b.result, nameA.toStdString(), nameB.toStdString()));
    layout->addWidget(m_chart, 1);
    addExportButton(layout);
}

void CompareView::addExportButton(QVBoxLayout* layout)
{
    m_export = new QPushButton(tr("Export report (HTML)…"), this);
    m_export->setToolTip(tr("This comparison as a one-page HTML report: settings, outputs, figures, timelines, "
                            "analysis and machine, in one file"));
    m_export->setAutoDefault(false);
    auto* row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(m_export);
    layout->addLayout(row);
    connect(m_export, &QPushButton::clicked, this, &CompareView::exportReportRequested);
}

QString CompareView::diffHtml() const { return m_diff ? m_diff->toHtml() : QString(); }

} // namespace ui
