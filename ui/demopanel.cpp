#include "ui/demopanel.h"

#include "ui/labels.h"

#include <QEvent>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace ui {

namespace {

QFont scaledFont(const QFont& base, double factor, bool bold = false)
{
    QFont f = base;
    f.setPointSizeF(base.pointSizeF() * factor);
    f.setBold(bold);
    return f;
}

QLabel* wrappingLabel(QWidget* parent)
{
    auto* label = new QLabel(parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

QString focusButtonText(engine::lessons::Focus focus)
{
    return DemoPanel::tr("Show the %1").arg(QString::fromLatin1(engine::lessons::focusName(focus)));
}

} // namespace

DemoPanel::DemoPanel(QWidget* parent)
    : QWidget(parent)
{
    // Fonts are relative to the window's, so presentation mode scales the panel with everything else.
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(6, 6, 6, 6);

    auto* header = new QHBoxLayout;
    auto* kicker = new QLabel(tr("Teaching demonstration"), this);
    QPalette grey = kicker->palette();
    grey.setColor(QPalette::WindowText, QColor(0x55, 0x55, 0x55));
    kicker->setPalette(grey);
    auto* close = new QToolButton(this);
    close->setText(QStringLiteral("✕"));
    close->setToolTip(tr("Leave the demonstration: your own settings and prompts come back (Esc)"));
    connect(close, &QToolButton::clicked, this, &DemoPanel::leaveRequested);
    header->addWidget(kicker, 1);
    header->addWidget(close);
    outer->addLayout(header);

    m_title = wrappingLabel(this);
    m_summary = wrappingLabel(this);
    m_step = wrappingLabel(this);
    m_modelNote = wrappingLabel(this);
    m_modelNote->setObjectName(QStringLiteral("syntheticModelNote"));
    m_modelNote->setTextFormat(Qt::PlainText);
    m_modelNote->setStyleSheet(QStringLiteral("color: #555;"));
    m_modelNote->hide();
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(false);
    outer->addWidget(m_title);
    outer->addWidget(m_summary);
    outer->addWidget(m_step);
    outer->addWidget(m_modelNote);
    outer->addWidget(m_progress);

    auto* nav = new QHBoxLayout;
    m_previous = new QPushButton(tr("◀ Previous"), this);
    m_previous->setToolTip(tr("The previous demonstration (Ctrl+[ or Page Up)"));
    m_rerun = new QPushButton(tr("↻ Rerun"), this);
    m_rerun->setToolTip(tr("Run this demonstration again (Ctrl+R)"));
    m_next = new QPushButton(tr("Next ▶"), this);
    m_next->setToolTip(tr("The next demonstration (Ctrl+] or Page Down)"));
    for (QPushButton* b : { m_previous, m_rerun, m_next }) {
        b->setFocusPolicy(Qt::TabFocus);
        nav->addWidget(b);
    }
    outer->addLayout(nav);
    auto* leaveRow = new QHBoxLayout;
    m_stop = new QPushButton(tr("■ Stop"), this);
    m_stop->setToolTip(tr("Stop the demonstration now; your own settings come back (Esc)"));
    m_leave = new QPushButton(tr("Back to my settings"), this);
    m_leave->setToolTip(tr("Close this panel: your own model, prompts and settings come back exactly (Esc)"));
    for (QPushButton* b : { m_stop, m_leave }) {
        b->setFocusPolicy(Qt::TabFocus);
        leaveRow->addWidget(b);
    }
    outer->addLayout(leaveRow);
    connect(m_previous, &QPushButton::clicked, this, &DemoPanel::previousRequested);
    connect(m_rerun, &QPushButton::clicked, this, &DemoPanel::rerunRequested);
    connect(m_next, &QPushButton::clicked, this, &DemoPanel::nextRequested);
    connect(m_stop, &QPushButton::clicked, this, &DemoPanel::stopRequested);
    connect(m_leave, &QPushButton::clicked, this, &DemoPanel::leaveRequested);

    // The reading part scrolls when the explanation is longer than the panel.
    auto* body = new QWidget(this);
    auto* layout = new QVBoxLayout(body);
    layout->setContentsMargins(0, 4, 0, 0);
    m_status = wrappingLabel(body);
    m_contradiction = wrappingLabel(body);
    m_contradiction->setText(tr("⚠ This time the measurement did not show the usual lesson; the explanation says "
                                "what it showed instead."));
    m_contradiction->setStyleSheet(QStringLiteral("QLabel { background: #fff3cd; color: #6b4a00; border: 2px solid "
                                                  "#e0a800; border-radius: 4px; padding: 6px; }"));
    m_explanation = wrappingLabel(body);
    m_explanation->setTextFormat(Qt::PlainText); // the lesson's own words, never markup
    m_lookAt = wrappingLabel(body);
    m_focusButtons = new QVBoxLayout;
    m_measured = wrappingLabel(body);
    m_measured->setTextFormat(Qt::RichText);
    layout->addWidget(m_status);
    layout->addWidget(m_contradiction);
    layout->addWidget(m_explanation);
    layout->addWidget(m_lookAt);
    layout->addLayout(m_focusButtons);
    layout->addWidget(m_measured);
    layout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(body);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    outer->addWidget(scroll, 1);

    setMinimumWidth(300);
    applyFonts();
    clearResults();
    setRunning(false);
}

void DemoPanel::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::FontChange)
        applyFonts();
}

void DemoPanel::applyFonts()
{
    // Explicit sizes relative to the panel's font: set once, they would no longer follow presentation mode.
    const QFont base = font();
    m_title->setFont(scaledFont(base, 1.45, true));
    m_explanation->setFont(scaledFont(base, 1.15));
    m_step->setFont(scaledFont(base, 1.0, true));
}

void DemoPanel::showLesson(const QString& title, const QString& summary, int index, int count)
{
    m_title->setText(title);
    m_summary->setText(tr("%1 <span style=\"color:#777\">(demonstration %2 of %3)</span>")
                           .arg(summary.toHtmlEscaped())
                           .arg(index + 1)
                           .arg(count));
    m_previous->setEnabled(index > 0);
    m_next->setEnabled(index + 1 < count);
    clearResults();
    m_modelNote->clear();
    m_modelNote->hide();
    m_step->setText(tr("Getting ready…"));
    setProgress(0);
    setRunning(true);
}

void DemoPanel::showStep(int step, int steps, const QString& caption, const QString& model, bool synthetic)
{
    m_step->setText(tr("Step %1 of %2: %3").arg(step + 1).arg(steps).arg(caption)
        + (model.isEmpty() ? QString() : QStringLiteral(" — ") + model));
    if (synthetic) {
        // Its text streams into the output as if it meant something.
        m_modelNote->setText(
            tr("Note: this demonstration's model (%1) is synthetic: its weights are random, so the text "
               "it writes is meaningless. Only its timings and trace count.")
                .arg(model));
        m_modelNote->show();
    }
}

QString DemoPanel::modelNote() const { return m_modelNote->isHidden() ? QString() : m_modelNote->text(); }

void DemoPanel::setProgress(double fraction) { m_progress->setValue(int(std::clamp(fraction, 0.0, 1.0) * 1000)); }

void DemoPanel::showExplanation(
    const engine::lessons::Measured& measured, const engine::lessons::Explanation& explanation)
{
    clearResults();
    setRunning(false);
    setProgress(1);
    m_step->setText(tr("Done: what this machine just measured"));
    m_contradiction->setVisible(explanation.contradicts);
    m_explanation->setText(QString::fromStdString(explanation.text));
    m_explanation->show();
    if (!explanation.lookAt.empty() || !explanation.lookAtText.empty()) {
        m_lookAt->setText(tr("<b>Look at:</b> %1").arg(QString::fromStdString(explanation.lookAtText).toHtmlEscaped()));
        m_lookAt->show();
    }
    for (engine::lessons::Focus focus : explanation.lookAt) {
        auto* b = new QPushButton(focusButtonText(focus), this);
        b->setFocusPolicy(Qt::TabFocus);
        connect(b, &QPushButton::clicked, this, [this, focus] { Q_EMIT focusRequested(focus); });
        m_focusButtons->addWidget(b, 0, Qt::AlignLeft);
    }
    QString rows;
    for (const engine::lessons::Measurement& m : measured.values) {
        m_measuredNames << QString::fromStdString(m.name);
        rows += QStringLiteral("<tr><td>%1</td><td align=right><b>%2</b></td></tr>")
                    .arg(measurementLabel(m.name).toHtmlEscaped(), QString::fromStdString(m.text()).toHtmlEscaped());
    }
    if (!rows.isEmpty()) {
        m_measured->setText(
            tr("<b>Measured on this machine</b><table cellspacing=2 cellpadding=1>%1</table>").arg(rows));
        m_measured->show();
    }
}

void DemoPanel::showFailure(const QString& message)
{
    clearResults();
    setRunning(false);
    m_step->setText(tr("The demonstration failed"));
    m_status->setText(
        tr("<b style=\"color:#b00020\">%1</b><br>Your own settings are back.").arg(message.toHtmlEscaped()));
    m_status->show();
}

void DemoPanel::showStopped()
{
    setRunning(false);
    m_step->setText(tr("Stopped"));
    m_status->setText(tr("Stopped before the end: nothing to explain. Your own model, prompts and settings are back; "
                         "Rerun starts the demonstration again."));
    m_status->show();
}

QString DemoPanel::explanationText() const { return m_explanation->isHidden() ? QString() : m_explanation->text(); }

bool DemoPanel::showsContradiction() const { return !m_contradiction->isHidden(); }

QString DemoPanel::stepText() const { return m_step->text(); }

QStringList DemoPanel::measuredNames() const { return m_measuredNames; }

void DemoPanel::setRunning(bool running)
{
    m_running = running;
    m_stop->setEnabled(running);
    m_rerun->setEnabled(!running);
}

void DemoPanel::clearResults()
{
    for (QLabel* l : { m_status, m_contradiction, m_explanation, m_lookAt, m_measured }) {
        l->clear();
        l->hide();
    }
    m_contradiction->setText(tr("⚠ This time the measurement did not show the usual lesson; the explanation says "
                                "what it showed instead."));
    while (QLayoutItem* item = m_focusButtons->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_measuredNames.clear();
}

} // namespace ui
