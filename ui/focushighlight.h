// A thick coloured frame drawn over a view for a few seconds: "look here" while a lesson's explanation is read.
#pragma once

#include <QWidget>

namespace ui {

class FocusHighlight : public QWidget {
    Q_OBJECT

public:
    // Frames `target` for `milliseconds`, then removes itself; a new flash on the same target replaces the old one.
    static FocusHighlight* flash(QWidget* target, int milliseconds = 4000);
    static QColor color();

protected:
    void paintEvent(QPaintEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    explicit FocusHighlight(QWidget* target);
};

} // namespace ui
