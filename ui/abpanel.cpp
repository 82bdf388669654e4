#include "ui/abpanel.h"

#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace ui {

namespace {

QTableWidgetItem* number(double value, int decimals)
{
    auto* item
        = new QTableWidgetItem(std::isfinite(value) ? QString::number(value, 'f', decimals) : QStringLiteral("–"));
    item->setData(Qt::UserRole, value);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QTableWidgetItem* text(const QString& s)
{
    auto* item = new QTableWidgetItem(QString(s).replace(QLatin1Char('\n'), QStringLiteral(" ⏎ ")));
    item->setToolTip(s);
    return item;
}

QTableWidget* makeTable(const QStringList& headers, QWidget* parent)
{
    auto* t = new QTableWidget(0, int(headers.size()), parent);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->hide();
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    t->horizontalHeader()->setStretchLastSection(true);
    t->setWordWrap(false);
    return t;
}

QString writeText(const QString& path, const std::string& content)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(content.data(), qint64(content.size())) != qint64(content.size())
        || !file.commit())
        return QObject::tr("cannot write %1: %2").arg(path, file.errorString());
    return {};
}

} // namespace

AbPanel::AbPanel(QWidget* parent)
    : QWidget(parent)
    , m_seeds(new QSpinBox(this))
    , m_run(new QPushButton(tr("Run A/B"), this))
    , m_csv(new QPushButton(tr("Export CSV…"), this))
    , m_json(new QPushButton(tr("Export JSON…"), this))
    , m_status(new QLabel(this))
    , m_summary(makeTable({ tr("Variant"), tr("Tokens"), tr("Mean p"), tr("Perplexity"), tr("TTFT ms"), tr("Tok/s"),
                              tr("Distinct"), tr("Prompt") },
          this))
    , m_samples(makeTable({ tr("Variant"), tr("Seed"), tr("Tokens"), tr("Mean p"), tr("Perplexity"), tr("TTFT ms"),
                              tr("Tok/s"), tr("Stop"), tr("Output") },
          this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto* bar = new QHBoxLayout;
    m_seeds->setRange(1, 100);
    m_seeds->setValue(5);
    m_seeds->setToolTip(tr("Samples per variant: seeds start at the settings' seed and count up; every variant gets "
                           "the same seeds"));
    bar->addWidget(new QLabel(tr("Seeds per variant:"), this));
    bar->addWidget(m_seeds);
    bar->addWidget(m_run);
    bar->addWidget(m_status, 1);
    bar->addWidget(m_csv);
    bar->addWidget(m_json);
    layout->addLayout(bar);
    auto* note = new QLabel(tr("Variants: the prompt list's prompts, same settings and seeds. Mean p: of the drawn "
                               "tokens; perplexity: exp(−mean ln p)."),
        this);
    note->setToolTip(tr("Each seed is one request-parallel run of every variant. Mean p: the mean probability of each "
                        "drawn token under the sampler's final distribution (after penalty, top-k, top-p, min-p and "
                        "temperature; greedy: the raw logits' softmax at temperature 1). Per variant, p and "
                        "perplexity are pooled over all its samples' tokens; the rest are means over its samples."));
    note->setWordWrap(true);
    note->setStyleSheet(QStringLiteral("color: #555"));
    layout->addWidget(note);
    auto* split = new QSplitter(Qt::Vertical, this);
    m_split = split;
    split->addWidget(m_summary);
    split->addWidget(m_samples);
    // The summary has a row per variant: the samples take what the pane gains (fitSummary sizes the summary).
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    for (QTableWidget* t : { m_summary, m_samples }) {
        t->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Ignored); // the pane's height decides; rows scroll
        t->setMinimumHeight(t->horizontalHeader()->sizeHint().height() + t->verticalHeader()->defaultSectionSize());
    }
    split->setChildrenCollapsible(false);
    layout->addWidget(split, 1);
    m_summary->horizontalHeader()->setSectionResizeMode(7, QHeaderView::Stretch);
    m_samples->horizontalHeader()->setSectionResizeMode(8, QHeaderView::Stretch);

    connect(m_run, &QPushButton::clicked, this, [this] { Q_EMIT runRequested(m_seeds->value()); });
    connect(m_csv, &QPushButton::clicked, this, &AbPanel::exportCsv);
    connect(m_json, &QPushButton::clicked, this, &AbPanel::exportJson);
    updateEnabled();
}

int AbPanel::seeds() const { return m_seeds->value(); }
void AbPanel::setSeeds(int seeds) { m_seeds->setValue(seeds); }

void AbPanel::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    fitSummary();
}

void AbPanel::fitSummary()
{
    const QList<int> sizes = m_split->sizes();
    const int total = sizes.value(0) + sizes.value(1);
    if (total <= 0)
        return;
    const int rows = std::clamp(m_summary->rowCount() > 0 ? m_summary->rowCount() : m_variants, 2, 5);
    const int wanted = m_summary->horizontalHeader()->sizeHint().height()
        + rows * m_summary->verticalHeader()->defaultSectionSize() + 2 * m_summary->frameWidth()
        + m_summary->horizontalScrollBar()->sizeHint().height();
    const int summary = std::min(wanted, total / 2);
    m_split->setSizes({ summary, total - summary });
}

void AbPanel::setVariantCount(int count)
{
    m_variants = count;
    fitSummary();
    if (!m_busy)
        m_status->setText(count < 2 ? tr("add a second prompt to the prompt list to compare variants")
                                    : tr("%1 variants from the prompt list").arg(count));
    updateEnabled();
}

void AbPanel::setBusy(bool busy)
{
    m_busy = busy;
    updateEnabled();
}

void AbPanel::updateEnabled()
{
    m_run->setEnabled(!m_busy && m_variants >= 1);
    m_seeds->setEnabled(!m_busy);
    m_csv->setEnabled(m_result.has_value());
    m_json->setEnabled(m_result.has_value());
}

void AbPanel::started(int variants, int seeds)
{
    m_status->setText(tr("running %1 variants × %2 seeds…").arg(variants).arg(seeds));
}

void AbPanel::setProgress(int done, int total) { m_status->setText(tr("seed %1 of %2 done…").arg(done).arg(total)); }

void AbPanel::setFailed(const QString& message) { m_status->setText(tr("failed: %1").arg(message)); }

void AbPanel::setResult(const engine::PromptAbResult& r)
{
    m_result = r;
    m_summary->setRowCount(int(r.summary.size()));
    for (int v = 0; v < int(r.summary.size()); ++v) {
        const engine::PromptAbVariant& a = r.summary[size_t(v)];
        m_summary->setItem(v, 0, number(v + 1, 0)); // numbered from 1, as the prompt list is
        m_summary->setItem(v, 1, number(a.meanTokens, 1));
        m_summary->setItem(v, 2, number(a.meanProbability, 3));
        m_summary->setItem(v, 3, number(a.perplexity, 2));
        m_summary->setItem(v, 4, number(a.meanTimeToFirstTokenMs, 0));
        m_summary->setItem(v, 5, number(a.meanTokensPerSecond, 1));
        m_summary->setItem(v, 6, text(QStringLiteral("%1/%2").arg(a.distinctOutputs).arg(a.samples)));
        m_summary->setItem(v, 7, text(QString::fromStdString(a.prompt)));
    }
    fitSummary();
    m_samples->setRowCount(int(r.samples.size()));
    for (int i = 0; i < int(r.samples.size()); ++i) {
        const engine::PromptAbSample& s = r.samples[size_t(i)];
        m_samples->setItem(i, 0, number(s.variant + 1, 0));
        m_samples->setItem(i, 1, number(double(s.seed), 0));
        m_samples->setItem(i, 2, number(s.tokens, 0));
        m_samples->setItem(i, 3, number(s.meanProbability, 3));
        m_samples->setItem(i, 4, number(s.perplexity, 2));
        m_samples->setItem(i, 5, number(s.timeToFirstTokenMs, 0));
        m_samples->setItem(i, 6, number(s.tokensPerSecond, 1));
        m_samples->setItem(i, 7, text(QString::fromLatin1(engine::stopReasonName(s.stopReason))));
        m_samples->setItem(i, 8, text(QString::fromStdString(s.output)));
    }
    m_status->setText((r.cancelled ? tr("stopped: %1 samples in %2 s") : tr("done: %1 samples in %2 s"))
                          .arg(r.samples.size())
                          .arg(r.wallMs / 1000.0, 0, 'f', 1));
    updateEnabled();
}

void AbPanel::exportCsv()
{
    if (!m_result)
        return;
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export A/B as CSV"), QStringLiteral("prompt-ab.csv"), tr("CSV (*.csv)"));
    if (path.isEmpty())
        return;
    const QString error = writeText(path, engine::promptAbToCsv(*m_result));
    m_status->setText(error.isEmpty() ? tr("wrote %1").arg(path) : error);
}

void AbPanel::exportJson()
{
    if (!m_result)
        return;
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export A/B as JSON"), QStringLiteral("prompt-ab.json"), tr("JSON (*.json)"));
    if (path.isEmpty())
        return;
    const std::string json
        = engine::promptAbToJson(*m_result).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    const QString error = writeText(path, json);
    m_status->setText(error.isEmpty() ? tr("wrote %1").arg(path) : error);
}

} // namespace ui
