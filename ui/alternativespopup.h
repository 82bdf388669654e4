// The popup of a generated token in the output view: the candidates the sampler saw as bars (probability before
// the chain, raw, and after it, drawn from), which of them top-k, top-p, min-p or greedy removed and which the
// repetition penalty lowered, the drawn (or forced) one highlighted, and the entropy. Clicking another candidate
// asks to continue the generation from there with it.
#pragma once

#include "engine/model/sampler.h"

#include <QWidget>

#include <vector>

namespace ui {

class AlternativesPopup : public QWidget {
    Q_OBJECT

public:
    // One line of the list, as shown.
    struct Row {
        int32_t id = -1;
        QString text; // quoted token text
        double before = 0.0; // raw probability (softmax of the model's logits)
        double after = 0.0; // the probability the draw used (0: removed)
        QString note; // "removed by top-k", "penalised", "drawn", "forced" …, joined with " · "
        bool chosen = false;
        bool removed = false;
    };

    explicit AlternativesPopup(QWidget* parent = nullptr);

    // Fills the popup for generated token `index` of prompt `sequence`; does not show it.
    void setToken(int sequence, int index, const engine::TokenAlternatives& alternatives);
    void showAt(const QPoint& globalPos); // below-right of the point, kept on the screen

    const std::vector<Row>& rows() const { return m_rows; }
    QString header() const { return m_header; }
    int sequence() const { return m_sequence; }
    int index() const { return m_index; }

    QSize sizeHint() const override;

Q_SIGNALS:
    // The user clicked a candidate other than the chosen one.
    void continueWith(int sequence, int index, int32_t id);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    int rowAt(const QPoint& pos) const; // -1 outside the rows
    int headerHeight() const;
    int rowHeight() const;

    std::vector<Row> m_rows;
    QString m_header;
    int m_sequence = -1;
    int m_index = -1;
    int m_hover = -1;
};

} // namespace ui
