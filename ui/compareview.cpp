#include "ui/compareview.h"

#include "engine/parallel/scheduler.h"
#include "engine/run/runsettings.h"
#include "ui/speedupchart.h"
#include "ui/timelineview.h"

#include <QHeaderView>
#include <QLabel>
#include <QRegularExpression>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <cmath>

namespace ui {

namespace {

QString valueText(const nlohmann::json& v)
{
    if (v.is_string())
        return QString::fromStdString(v.get<std::string>());
    return QString::fromStdString(v.dump());
}

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
    t->appendEvents(r.trace);
    return t;
}

} // namespace

QString CompareView::diffWords(const QString& a, const QString& b)
{
    static const QRegularExpression words(QStringLiteral("\\s+|[^\\s]+"));
    auto split = [](const QString& s) {
        QStringList out;
        auto it = words.globalMatch(s);
        while (it.hasNext())
            out << it.next().captured();
        return out;
    };
    const QStringList x = split(a), y = split(b);
    const auto n = size_t(x.size()), m = size_t(y.size());
    QString html;
    auto span = [&](const QString& w, const char* style) {
        html += style ? QStringLiteral("<span style=\"%1\">%2</span>").arg(QLatin1String(style), w.toHtmlEscaped())
                      : w.toHtmlEscaped();
    };
    const char* removed = "background:#fdd;color:#a00;text-decoration:line-through";
    const char* added = "background:#dfd;color:#060";
    // Longest common subsequence over words; past ~4M cells (long outputs) the texts are shown whole instead.
    if (n * m > 4'000'000) {
        if (a == b)
            return a.toHtmlEscaped();
        span(a, removed);
        html += QStringLiteral("<br>");
        span(b, added);
        return html;
    }
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            at(i, j) = x[qsizetype(i)] == y[qsizetype(j)] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && x[qsizetype(i)] == y[qsizetype(j)]) {
            span(x[qsizetype(i)], nullptr);
            ++i, ++j;
        } else if (j < m && (i == n || at(i, j + 1) >= at(i + 1, j))) {
            span(y[qsizetype(j++)], added);
        } else {
            span(x[qsizetype(i++)], removed);
        }
    }
    return html;
}

engine::SweepResult CompareView::merged(
    const engine::SweepResult& a, const engine::SweepResult& b, const QString& nameA, const QString& nameB)
{
    engine::SweepResult out = a;
    out.strategies.clear();
    for (const auto& [result, name] : { std::pair(&a, nameA), std::pair(&b, nameB) })
        for (engine::StrategySweep s : result->strategies) {
            s.strategy = name.toStdString() + " · " + s.strategy;
            out.strategies.push_back(std::move(s));
        }
    return out;
}

CompareView::CompareView(const session::RunRecord& a, const session::RunRecord& b, const QString& nameA,
    const QString& nameB, QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Compare %1 and %2").arg(nameA, nameB));
    auto* layout = new QVBoxLayout(this);

    // Settings: every key of the run settings' JSON, the differing ones highlighted and first.
    m_settings = makeTable({ tr("Setting"), nameA, nameB }, this);
    const nlohmann::json ja = engine::toJson(a.settings), jb = engine::toJson(b.settings);
    std::vector<std::pair<std::string, bool>> keys;
    for (auto it = ja.begin(); it != ja.end(); ++it)
        keys.emplace_back(it.key(), jb.value(it.key(), nlohmann::json()) != it.value());
    std::stable_partition(keys.begin(), keys.end(), [](const auto& k) { return k.second; });
    for (const auto& [key, differs] : keys) {
        const int row = m_settings->rowCount();
        m_settings->insertRow(row);
        m_settings->setItem(row, 0, cell(QString::fromStdString(key), differs));
        m_settings->setItem(row, 1, cell(valueText(ja[key]), differs));
        m_settings->setItem(row, 2, cell(valueText(jb.value(key, nlohmann::json())), differs));
        if (differs)
            m_differing << QString::fromStdString(key);
    }

    // Metrics with the ratio B ÷ A.
    m_metrics = makeTable({ tr("Metric"), nameA, nameB, tr("%1 ÷ %2").arg(nameB, nameA) }, this);
    const auto& ma = a.metrics;
    const auto& mb = b.metrics;
    const std::vector<std::tuple<QString, double, double, int>> rows {
        { tr("wall time, ms"), ma.wallMs, mb.wallMs, 1 },
        { tr("prefill, ms"), ma.prefillMs, mb.prefillMs, 1 },
        { tr("decode, ms"), ma.decodeMs, mb.decodeMs, 1 },
        { tr("time to first token, ms"), ma.timeToFirstTokenMs, mb.timeToFirstTokenMs, 1 },
        { tr("prompt tokens"), double(ma.promptTokens), double(mb.promptTokens), 0 },
        { tr("generated tokens"), double(ma.generatedTokens), double(mb.generatedTokens), 0 },
        { tr("prefill tok/s"), ma.prefillTokensPerSecond, mb.prefillTokensPerSecond, 1 },
        { tr("decode tok/s"), ma.decodeTokensPerSecond, mb.decodeTokensPerSecond, 1 },
        { tr("total tok/s"), ma.totalTokensPerSecond, mb.totalTokensPerSecond, 1 },
        { tr("load imbalance (max ÷ mean busy)"), ma.loadImbalance, mb.loadImbalance, 2 },
        { tr("parallel regions"), double(ma.parallelRegions), double(mb.parallelRegions), 0 },
        { tr("mean region, µs"), ma.meanRegionNs / 1000, mb.meanRegionNs / 1000, 1 },
        { tr("threads"), double(a.threads), double(b.threads), 0 },
    };
    for (const auto& [name, va, vb, decimals] : rows) {
        const int row = m_metrics->rowCount();
        m_metrics->insertRow(row);
        m_metrics->setItem(row, 0, cell(name));
        m_metrics->setItem(row, 1, cell(QString::number(va, 'f', decimals)));
        m_metrics->setItem(row, 2, cell(QString::number(vb, 'f', decimals)));
        m_metrics->setItem(row, 3, cell(va != 0 ? QStringLiteral("%1×").arg(vb / va, 0, 'f', 2) : QStringLiteral("–")));
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

    auto* tables = new QSplitter(Qt::Vertical, this);
    tables->addWidget(m_settings);
    tables->addWidget(m_metrics);
    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(tables);
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

    // Both timelines on the longer run's time scale, zoomed and panned together.
    const int lanes = std::max(a.threads, b.threads);
    m_timelineA = timelineOf(a, lanes, this);
    m_timelineB = timelineOf(b, lanes, this);
    const int64_t end = std::max({ a.metrics.wallNs, b.metrics.wallNs, int64_t(1000) });
    auto* timelines = new QWidget(this);
    auto* tl = new QVBoxLayout(timelines);
    tl->setContentsMargins(0, 0, 0, 0);
    auto label = [&](const QString& name, const session::RunRecord& r) {
        return new QLabel(tr("<b>%1</b> — %2, %3 threads, %4 ms%5")
                              .arg(name.toHtmlEscaped(), QString::fromLatin1(engine::strategyName(r.strategy)))
                              .arg(r.threads)
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
    all->setStretchFactor(0, 1);
    all->setStretchFactor(1, 1);
    layout->addWidget(all);
}

CompareView::CompareView(const session::SweepRecord& a, const session::SweepRecord& b, const QString& nameA,
    const QString& nameB, QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Compare %1 and %2").arg(nameA, nameB));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Both sweeps on one chart: each strategy is named after its sweep."), this));
    m_chart = new SpeedupChart(this);
    m_chart->setSweep(merged(a.result, b.result, nameA, nameB));
    layout->addWidget(m_chart, 1);
}

QString CompareView::diffHtml() const { return m_diff ? m_diff->toHtml() : QString(); }

} // namespace ui
