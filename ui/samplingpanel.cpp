#include "ui/samplingpanel.h"

#include "ui/tokenprobabilitystyle.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ui {

SamplingPanel::SamplingPanel(QWidget* parent)
    : QWidget(parent)
    , m_title(new QLabel(this))
    , m_table(new QTableWidget(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_title->setWordWrap(true);
    m_title->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    layout->addWidget(m_title);
    layout->addWidget(m_table, 1);
    clear();
}

void SamplingPanel::clear(const QString& why)
{
    m_table->clear();
    m_table->setRowCount(0);
    m_table->setColumnCount(0);
    m_title->setText(why.isEmpty() ? tr("Run with token probabilities on (View menu), then click a generated token: "
                                        "its candidates appear here stage by stage through the sampler.")
                                   : why);
}

QString SamplingPanel::title() const { return m_title->text(); }

void SamplingPanel::showToken(
    int sequence, int index, const engine::TokenAlternatives& a, const engine::SamplingParams& params)
{
    const auto chain = engine::samplerChain(params);
    const engine::TokenAlternative* chosen = a.find(a.chosen);
    m_title->setText(tr("Prompt %1, token %2 %3 (%4): its best candidates through the sampler, in the order the "
                        "engine applies the stages. Each column is the softmax over what that stage kept; "
                        "entropy %5 bits raw, %6 bits drawn from.")
                         .arg(sequence + 1)
                         .arg(index + 1)
                         .arg(chosen ? tokenLabel(chosen->text) : QString::number(a.chosen),
                             a.forced       ? tr("forced")
                                 : a.greedy ? tr("greedy")
                                            : tr("drawn"))
                         .arg(a.rawEntropyBits, 0, 'f', 2)
                         .arg(a.finalEntropyBits, 0, 'f', 2));

    QStringList headers { tr("token"), tr("raw\n%1 candidates").arg(a.vocabulary) };
    for (engine::SamplerStage stage : chain) {
        int kept = a.vocabulary;
        switch (stage) {
        case engine::SamplerStage::TopK:
            kept = a.keptAfterTopK;
            break;
        case engine::SamplerStage::TopP:
            kept = a.keptAfterTopP;
            break;
        case engine::SamplerStage::MinP:
        case engine::SamplerStage::Temperature:
            kept = a.keptAfterMinP;
            break;
        case engine::SamplerStage::Greedy:
            kept = 1;
            break;
        case engine::SamplerStage::RepetitionPenalty:
            break;
        }
        headers << tr("after %1\n%n kept", nullptr, kept).arg(stageWithSetting(stage, params));
    }
    m_table->clear();
    m_table->setColumnCount(int(headers.size()));
    m_table->setHorizontalHeaderLabels(headers);
    m_table->setRowCount(int(a.candidates.size()));
    for (int row = 0; row < int(a.candidates.size()); ++row) {
        const engine::TokenAlternative& c = a.candidates[size_t(row)];
        const bool isChosen = c.id == a.chosen;
        auto put = [&](int column, const QString& text, double p, bool removed) {
            auto* item = new QTableWidgetItem(text);
            if (removed)
                item->setForeground(palette().color(QPalette::PlaceholderText));
            else if (column > 0)
                item->setBackground(probabilityColor(p));
            QFont f = item->font();
            f.setBold(isChosen);
            item->setFont(f);
            m_table->setItem(row, column, item);
        };
        put(0, tokenLabel(c.text) + (isChosen ? (a.forced ? tr("  ← forced") : tr("  ← drawn")) : QString()), 0.0,
            false);
        put(1, probabilityText(c.rawProbability), c.rawProbability, false);
        bool removed = false;
        for (int s = 0; s < int(chain.size()); ++s) {
            const engine::SamplerStage stage = chain[size_t(s)];
            const bool removedHere = c.removedBy == stage;
            removed = removed || removedHere;
            QString text;
            if (removedHere)
                text = tr("removed");
            else if (removed)
                text = QStringLiteral("–");
            else
                text = probabilityText(c.probabilityAfter(stage));
            if (stage == engine::SamplerStage::RepetitionPenalty && c.penalized)
                text += tr(" (penalised)");
            put(2 + s, text, c.probabilityAfter(stage), removed);
        }
    }
}

} // namespace ui
