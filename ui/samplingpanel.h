// The "Sampling" tab: one generated token's candidates step by step through the sampler's chain, in the order the
// engine applies it (engine::samplerChain): raw, then after each stage, with how many candidates each stage kept.
// Every figure comes from the engine's TokenAlternatives; the panel only lays them out.
#pragma once

#include "engine/model/sampler.h"

#include <QWidget>

class QLabel;
class QTableWidget;

namespace ui {

class SamplingPanel : public QWidget {
    Q_OBJECT

public:
    explicit SamplingPanel(QWidget* parent = nullptr);

    void clear(const QString& why = {}); // nothing to show, and why
    // Token `index` of prompt `sequence`, generated with `params`.
    void showToken(
        int sequence, int index, const engine::TokenAlternatives& alternatives, const engine::SamplingParams& params);

    QTableWidget* table() const { return m_table; }
    QString title() const;

private:
    QLabel* m_title;
    QTableWidget* m_table;
};

} // namespace ui
