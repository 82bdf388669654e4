#include "ui/alternativespopup.h"

#include "ui/tokenprobabilitystyle.h"

#include <QGuiApplication>
#include <QMouseEvent>
#include <QPainter>
#include <QScreen>

#include <algorithm>

namespace ui {

namespace {
constexpr int kMargin = 8;
constexpr int kTextWidth = 130;
constexpr int kBarWidth = 150;
constexpr int kNumbersWidth = 120;
constexpr int kNoteWidth = 170;
constexpr int kHeaderLines = 3;
} // namespace

AlternativesPopup::AlternativesPopup(QWidget* parent)
    : QWidget(parent, Qt::Popup)
{
    setMouseTracking(true);
    setAttribute(Qt::WA_DeleteOnClose, false);
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
}

void AlternativesPopup::setToken(int sequence, int index, const engine::TokenAlternatives& a)
{
    m_sequence = sequence;
    m_index = index;
    m_hover = -1;
    m_rows.clear();
    const engine::TokenAlternative* chosen = a.find(a.chosen);
    for (const engine::TokenAlternative& c : a.candidates) {
        Row r;
        r.id = c.id;
        r.text = tokenLabel(c.text);
        r.before = c.rawProbability;
        r.after = c.finalProbability;
        r.chosen = c.id == a.chosen;
        r.removed = c.removedBy.has_value();
        QStringList notes;
        if (r.chosen)
            notes << (a.forced ? tr("forced") : tr("drawn"));
        if (c.removedBy)
            notes << (*c.removedBy == engine::SamplerStage::Greedy ? tr("not the argmax")
                                                                   : tr("removed by %1").arg(stageLabel(*c.removedBy)));
        if (c.penalized)
            notes << tr("penalised");
        r.note = notes.join(QStringLiteral(" · "));
        m_rows.push_back(r);
    }
    const QString token = chosen ? tokenLabel(chosen->text) : QString::number(a.chosen);
    const double p = chosen ? chosen->finalProbability : 0.0;
    QString how;
    if (a.greedy)
        how = tr("greedy (temperature 0): the most likely token is taken with probability 1");
    else if (a.forced)
        how = tr("forced; the sampler would have given it %1").arg(probabilityText(p));
    else
        how = tr("drawn with probability %1").arg(probabilityText(p));
    m_header = tr("Token %1: %2, %3\nentropy %4 bits raw → %5 bits drawn from · kept %6 of %7 candidates\n"
                  "grey: raw · colour: after the sampler's chain · click another token to continue with it")
                   .arg(index + 1)
                   .arg(token, how)
                   .arg(a.rawEntropyBits, 0, 'f', 2)
                   .arg(a.finalEntropyBits, 0, 'f', 2)
                   .arg(a.keptAfterMinP)
                   .arg(a.vocabulary);
    updateGeometry();
    resize(sizeHint());
    update();
}

void AlternativesPopup::showAt(const QPoint& globalPos)
{
    resize(sizeHint());
    QPoint pos = globalPos;
    if (const QScreen* screen = QGuiApplication::screenAt(globalPos)) {
        const QRect area = screen->availableGeometry();
        pos.setX(std::clamp(pos.x(), area.left(), std::max(area.left(), area.right() - width())));
        if (pos.y() + height() > area.bottom())
            pos.setY(std::max(area.top(), globalPos.y() - height() - 24));
    }
    move(pos);
    show();
}

int AlternativesPopup::rowHeight() const { return fontMetrics().height() + 6; }

int AlternativesPopup::headerHeight() const { return kHeaderLines * fontMetrics().height() + kMargin; }

QSize AlternativesPopup::sizeHint() const
{
    const int width = 2 * kMargin + kTextWidth + kBarWidth + kNumbersWidth + kNoteWidth;
    return { width, kMargin + headerHeight() + int(m_rows.size()) * rowHeight() + kMargin };
}

int AlternativesPopup::rowAt(const QPoint& pos) const
{
    const int y = pos.y() - kMargin - headerHeight();
    if (y < 0 || pos.x() < 0 || pos.x() > width())
        return -1;
    const int row = y / rowHeight();
    return row < int(m_rows.size()) ? row : -1;
}

void AlternativesPopup::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    const QPalette pal = palette();
    painter.setPen(pal.color(QPalette::Mid));
    painter.drawRect(rect().adjusted(0, 0, -1, -1));
    painter.setPen(pal.color(QPalette::Text));
    painter.drawText(
        QRect(kMargin, kMargin, width() - 2 * kMargin, headerHeight()), Qt::AlignLeft | Qt::AlignTop, m_header);
    const int h = rowHeight();
    int y = kMargin + headerHeight();
    for (int i = 0; i < int(m_rows.size()); ++i, y += h) {
        const Row& r = m_rows[size_t(i)];
        const QRect line(1, y, width() - 2, h);
        if (r.chosen)
            painter.fillRect(line, pal.color(QPalette::Highlight).lighter(170));
        else if (i == m_hover)
            painter.fillRect(line, pal.color(QPalette::AlternateBase).darker(105));
        QFont f = font();
        f.setBold(r.chosen);
        painter.setFont(f);
        painter.setPen(r.removed ? pal.color(QPalette::PlaceholderText) : pal.color(QPalette::Text));
        int x = kMargin;
        painter.drawText(QRect(x, y, kTextWidth - 6, h), Qt::AlignVCenter | Qt::AlignLeft,
            fontMetrics().elidedText(r.text, Qt::ElideRight, kTextWidth - 6));
        x += kTextWidth;
        // Two bars: raw above in grey, after the chain below in its colour.
        const int barH = std::max(3, (h - 6) / 2);
        painter.fillRect(QRect(x, y + 3, int(kBarWidth * r.before), barH), QColor(0xa0, 0xa0, 0xa0));
        if (r.after > 0.0) {
            const QColor c = probabilityColor(r.after).darker(125);
            painter.fillRect(QRect(x, y + 3 + barH, std::max(1, int(kBarWidth * r.after)), barH), c);
        }
        painter.setPen(QColor(0xd0, 0xd0, 0xd0));
        painter.drawLine(x + kBarWidth, y + 2, x + kBarWidth, y + h - 2);
        x += kBarWidth + 6;
        painter.setPen(r.removed ? pal.color(QPalette::PlaceholderText) : pal.color(QPalette::Text));
        painter.drawText(QRect(x, y, kNumbersWidth - 6, h), Qt::AlignVCenter | Qt::AlignLeft,
            QStringLiteral("%1 → %2").arg(probabilityText(r.before), probabilityText(r.after)));
        x += kNumbersWidth;
        painter.drawText(QRect(x, y, kNoteWidth - 4, h), Qt::AlignVCenter | Qt::AlignLeft,
            fontMetrics().elidedText(r.note, Qt::ElideRight, kNoteWidth - 4));
    }
}

void AlternativesPopup::mouseMoveEvent(QMouseEvent* event)
{
    const int row = rowAt(event->position().toPoint());
    if (row != m_hover) {
        m_hover = row;
        setCursor(row >= 0 && !m_rows[size_t(row)].chosen ? Qt::PointingHandCursor : Qt::ArrowCursor);
        update();
    }
}

void AlternativesPopup::mousePressEvent(QMouseEvent* event)
{
    if (!rect().contains(event->position().toPoint())) { // a click outside closes the popup
        close();
        return;
    }
    const int row = rowAt(event->position().toPoint());
    if (row < 0 || m_rows[size_t(row)].chosen)
        return;
    close();
    Q_EMIT continueWith(m_sequence, m_index, m_rows[size_t(row)].id);
}

void AlternativesPopup::leaveEvent(QEvent*)
{
    m_hover = -1;
    update();
}

} // namespace ui
