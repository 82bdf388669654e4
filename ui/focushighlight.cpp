#include "ui/focushighlight.h"

#include <QEvent>
#include <QPainter>
#include <QTimer>

#include <algorithm>

namespace ui {

FocusHighlight::FocusHighlight(QWidget* target)
    : QWidget(target)
{
    // Over the view, never in the way: clicks and the mouse wheel go through to it.
    setAttribute(Qt::WA_TransparentForMouseEvents);
    setAttribute(Qt::WA_NoSystemBackground);
    setGeometry(target->rect());
    target->installEventFilter(this);
}

FocusHighlight* FocusHighlight::flash(QWidget* target, int milliseconds)
{
    if (!target)
        return nullptr;
    for (FocusHighlight* old : target->findChildren<FocusHighlight*>(Qt::FindDirectChildrenOnly))
        delete old;
    auto* frame = new FocusHighlight(target);
    frame->show();
    frame->raise();
    QTimer::singleShot(milliseconds, frame, &QObject::deleteLater);
    return frame;
}

QColor FocusHighlight::color() { return QColor(0xE6, 0x5C, 0x00); }

void FocusHighlight::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    // Thick enough to see from the back of a room, in the font's proportion (presentation mode makes it thicker).
    const double width = std::max(4.0, fontMetrics().height() / 4.0);
    p.setPen(QPen(color(), width));
    p.setBrush(Qt::NoBrush);
    p.drawRoundedRect(QRectF(rect()).adjusted(width / 2, width / 2, -width / 2, -width / 2), 6, 6);
}

bool FocusHighlight::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == parent() && event->type() == QEvent::Resize)
        setGeometry(parentWidget()->rect());
    return QWidget::eventFilter(watched, event);
}

} // namespace ui
