#include "ui/historypanel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <set>

namespace ui {

namespace {

constexpr int kKindRole = Qt::UserRole;
constexpr int kIndexRole = Qt::UserRole + 1;

QString when(const std::string& iso)
{
    // "2026-11-30T08:55:29Z" → "08:55:29": the history of one session spans hours, not days.
    const QString s = QString::fromStdString(iso);
    return s.size() >= 19 ? s.mid(11, 8) : s;
}

QString number(double v, int decimals) { return std::isfinite(v) ? QString::number(v, 'f', decimals) : QString(); }

} // namespace

HistoryPanel::HistoryPanel(QWidget* parent)
    : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_list = new QTreeWidget(this);
    m_list->setRootIsDecorated(false);
    m_list->setAlternatingRowColors(true);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setHeaderLabels({ tr("#"), tr("Time"), tr("Kind"), tr("Strategy"), tr("Threads"), tr("Prompts"),
        tr("Tokens"), tr("Decode tok/s"), tr("TTFT ms"), tr("Wall s"), tr("Settings") });
    m_list->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_list->header()->setStretchLastSection(true);
    m_list->setToolTip(tr("Click a run or sweep to show it again; select two of a kind (Ctrl+click) to compare them"));
    layout->addWidget(m_list, 1);
    auto* bar = new QHBoxLayout;
    m_hint = new QLabel(tr("Runs and sweeps of this session appear here."), this);
    m_hint->setStyleSheet(QStringLiteral("color: #666;"));
    m_compare = new QPushButton(tr("Compare the two selected"), this);
    m_compare->setEnabled(false);
    bar->addWidget(m_hint, 1);
    bar->addWidget(m_compare);
    layout->addLayout(bar);
    connect(m_list, &QTreeWidget::itemSelectionChanged, this, &HistoryPanel::selectionChanged);
    connect(m_compare, &QPushButton::clicked, this, &HistoryPanel::compare);
}

void HistoryPanel::setHistory(
    const std::vector<session::RunRecord>& runs, const std::vector<session::SweepRecord>& sweeps)
{
    const QSignalBlocker block(m_list);
    m_list->clear();
    // Newest first, runs and sweeps merged by time (ISO strings sort as times).
    struct Entry {
        std::string at;
        int kind;
        int index;
    };
    std::vector<Entry> entries;
    for (size_t i = 0; i < runs.size(); ++i)
        entries.push_back({ runs[i].startedAt, 0, int(i) });
    for (size_t i = 0; i < sweeps.size(); ++i)
        entries.push_back({ sweeps[i].startedAt, 1, int(i) });
    // Within one second, the later index is the newer one.
    std::stable_sort(entries.begin(), entries.end(),
        [](const Entry& a, const Entry& b) { return a.at != b.at ? a.at > b.at : a.index > b.index; });
    for (const Entry& e : entries) {
        auto* item = new QTreeWidgetItem;
        item->setData(0, kKindRole, e.kind);
        item->setData(0, kIndexRole, e.index);
        item->setText(1, when(e.at));
        if (e.kind == 0) {
            const session::RunRecord& r = runs[size_t(e.index)];
            item->setText(0, tr("run %1").arg(e.index + 1));
            item->setText(2, r.cancelled ? tr("run (stopped)") : tr("run"));
            item->setText(3, QString::fromLatin1(engine::strategyName(r.strategy)));
            item->setText(4, QString::number(r.threads));
            item->setText(5, QString::number(r.settings.prompts.size()));
            item->setText(6, QString::number(r.metrics.generatedTokens));
            item->setText(7, number(r.metrics.decodeTokensPerSecond, 1));
            item->setText(8, number(r.metrics.timeToFirstTokenMs, 0));
            item->setText(9, number(r.metrics.wallMs / 1000.0, 2));
            item->setText(10,
                tr("%1 · grain %2 · %3 tokens max · T %4%5%6")
                    .arg(QString::fromLatin1(engine::partitionerName(r.settings.scheduler.partitioner)))
                    .arg(r.settings.scheduler.grain)
                    .arg(r.settings.maxTokens)
                    .arg(double(r.settings.sampling.temperature))
                    .arg(r.settings.scheduler.pinThreads ? tr(" · pinned") : QString())
                    .arg(r.trace.empty() ? tr(" · untraced") : QString()));
        } else {
            const session::SweepRecord& s = sweeps[size_t(e.index)];
            item->setText(0, tr("sweep %1").arg(e.index + 1));
            item->setText(2, tr("sweep"));
            QStringList strategies;
            std::set<int> threads;
            for (const auto& st : s.result.strategies) {
                strategies << QString::fromStdString(st.strategy);
                for (const auto& p : st.decodeScaling.points)
                    threads.insert(p.threads);
            }
            item->setText(3, strategies.join(QStringLiteral(", ")));
            QStringList t;
            for (int p : threads)
                t << QString::number(p);
            item->setText(4, t.join(QLatin1Char(',')));
            if (!s.result.strategies.empty()) {
                const auto& d = s.result.strategies.front().decodeScaling;
                if (d.valid && !d.points.empty())
                    item->setText(10,
                        tr("%1: decode speedup %2× at %3 threads, serial fraction %4")
                            .arg(strategies.front())
                            .arg(d.points.back().speedup, 0, 'f', 2)
                            .arg(d.points.back().threads)
                            .arg(d.serialFraction, 0, 'f', 3));
            }
        }
        m_list->addTopLevelItem(item);
    }
    m_hint->setText(entries.empty() ? tr("Runs and sweeps of this session appear here.")
                                    : tr("Click one to show it again · Ctrl+click two of a kind to compare"));
    m_compare->setEnabled(false);
}

int HistoryPanel::rowCount() const { return m_list->topLevelItemCount(); }

std::vector<std::pair<int, int>> HistoryPanel::selected() const
{
    std::vector<std::pair<int, int>> out;
    for (QTreeWidgetItem* item : m_list->selectedItems())
        out.emplace_back(item->data(0, kKindRole).toInt(), item->data(0, kIndexRole).toInt());
    std::sort(out.begin(), out.end());
    return out;
}

void HistoryPanel::selectionChanged()
{
    const auto s = selected();
    m_compare->setEnabled(s.size() == 2 && s[0].first == s[1].first);
    if (s.size() != 1)
        return;
    if (s[0].first == 0)
        Q_EMIT runChosen(s[0].second);
    else
        Q_EMIT sweepChosen(s[0].second);
}

void HistoryPanel::compare()
{
    const auto s = selected();
    if (s.size() != 2 || s[0].first != s[1].first)
        return;
    if (s[0].first == 0)
        Q_EMIT compareRuns(s[0].second, s[1].second);
    else
        Q_EMIT compareSweeps(s[0].second, s[1].second);
}

void HistoryPanel::select(const std::vector<std::pair<int, int>>& entries)
{
    m_list->clearSelection();
    for (int i = 0; i < m_list->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = m_list->topLevelItem(i);
        const std::pair<int, int> key(item->data(0, kKindRole).toInt(), item->data(0, kIndexRole).toInt());
        if (std::find(entries.begin(), entries.end(), key) != entries.end())
            item->setSelected(true);
    }
}

void HistoryPanel::selectRun(int index) { select({ { 0, index } }); }
void HistoryPanel::selectRuns(int a, int b) { select({ { 0, a }, { 0, b } }); }
void HistoryPanel::selectSweeps(int a, int b) { select({ { 1, a }, { 1, b } }); }

} // namespace ui
