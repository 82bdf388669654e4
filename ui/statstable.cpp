#include "ui/statstable.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ui {

StatsTable::StatsTable(QWidget* parent)
    : QWidget(parent)
    , m_table(new QTableWidget(0, 6, this))
    , m_totals(new QLabel(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_table->setHorizontalHeaderLabels(
        { tr("Worker"), tr("Busy (ms)"), tr("Idle (ms)"), tr("Busy % of run"), tr("Chunks"), tr("Mean chunk (µs)") });
    m_table->horizontalHeaderItem(3)->setToolTip(
        tr("Busy time over the run's whole wall time (from Run to the end), as the timeline's lane labels. The Why "
           "panel divides by each phase's lane-time, so its shares can differ slightly."));
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_totals->setWordWrap(true);
    m_totals->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_totals);
    layout->addWidget(m_table, 1);
    clear();
}

void StatsTable::clear(const QString& message)
{
    m_table->setRowCount(0);
    m_totals->setText(message.isEmpty() ? tr("Run something to see how busy each worker thread was.") : message);
}

QString StatsTable::totalsText() const { return m_totals->text(); }

void StatsTable::setSummary(const RunSummary& summary)
{
    const engine::RunMetrics& m = summary.metrics;
    m_table->setRowCount(int(m.workers.size()));
    auto cell = [](const QString& text) {
        auto* item = new QTableWidgetItem(text);
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        return item;
    };
    for (int row = 0; row < int(m.workers.size()); ++row) {
        const engine::WorkerStats& w = m.workers[size_t(row)];
        const double wall = double(w.busyNs + w.idleNs);
        QString name = row == 0 ? tr("0 (caller)") : QString::number(w.slot);
        if (size_t(w.slot) < summary.pinnedCpus.size())
            name += tr(" · CPU %1").arg(summary.pinnedCpus[size_t(w.slot)]);
        m_table->setItem(row, 0, cell(name));
        m_table->setItem(row, 1, cell(QString::number(double(w.busyNs) / 1e6, 'f', 2)));
        m_table->setItem(row, 2, cell(QString::number(double(w.idleNs) / 1e6, 'f', 2)));
        m_table->setItem(row, 3, cell(QString::number(wall > 0 ? 100.0 * double(w.busyNs) / wall : 0.0, 'f', 1)));
        m_table->setItem(row, 4, cell(QString::number(qulonglong(w.chunks))));
        m_table->setItem(row, 5, cell(QString::number(w.meanChunkNs / 1e3, 'f', 2)));
    }
    // The decode rate here is the run's aggregate (engine RunMetrics::decodeTokensPerSecond); each
    // output pane shows its own prompt's rate, so the labels say which is which.
    m_totals->setText(
        tr("%13<b>%1</b>, %2 thread(s): wall %3 ms · prefill phase %4 ms (all prompts %5 tok/s) · decode phase "
           "%6 ms (all prompts %7 tok/s) · first token %8 ms · %9 tokens generated · busiest ÷ mean worker busy "
           "time %10× · %11 parallel regions, mean length %12 µs")
            .arg(QString::fromLatin1(engine::strategyName(summary.strategy)))
            .arg(summary.threads)
            .arg(m.wallMs, 0, 'f', 1)
            .arg(m.prefillMs, 0, 'f', 1)
            .arg(m.prefillTokensPerSecond, 0, 'f', 0)
            .arg(m.decodeMs, 0, 'f', 1)
            .arg(m.decodeTokensPerSecond, 0, 'f', 1)
            .arg(m.timeToFirstTokenMs, 0, 'f', 1)
            .arg(m.generatedTokens)
            .arg(m.loadImbalance, 0, 'f', 2)
            .arg(qulonglong(m.parallelRegions))
            .arg(m.meanRegionNs / 1e3, 0, 'f', 1)
            .arg(summary.cancelled ? tr("<b>Stopped</b>: what was measured up to the stop. ") : QString()));
    if (m.droppedTraceEvents > 0)
        m_totals->setText(m_totals->text()
            + tr(" · <b>%1 trace events dropped</b> (the recorder's buffers were full): busy and idle figures are "
                 "incomplete")
                  .arg(qulonglong(m.droppedTraceEvents)));
    m_totals->setToolTip(tr("Prefill and decode phase: the run's whole phases. \"All prompts\" divides every "
                            "prompt's tokens (in decode, after the first) by the phase's time; an output pane's "
                            "prefill and decode speeds are its own prompt's, over its own steps. \"Busiest ÷ mean "
                            "worker busy time\" is a ratio (1 = even); the Why panel's \"imbalance\" is a share of "
                            "the lanes' time. A parallel region's mean length is fork to join, work included; the "
                            "Why panel's fork/join figure is the time beyond the busiest lane's work."));
}

} // namespace ui
