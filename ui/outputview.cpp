#include "ui/outputview.h"

#include "ui/alternativespopup.h"
#include "ui/tokenprobabilitystyle.h"

#include <QHelpEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QSplitter>
#include <QTextCursor>
#include <QToolTip>
#include <QVBoxLayout>

#include <QResizeEvent>

#include <algorithm>

namespace ui {

namespace {

// Line breaking may cut after a slash: "tok/" at a line's end and "s" on the next. A word joiner keeps the unit
// whole; statsText() gives the text without it.
const QChar kWordJoiner(0x2060);
const QString kTokPerSecond = QStringLiteral("tok/") + kWordJoiner + QStringLiteral("s");

// A word-wrapped label as tall as its text needs at its width. QLabel's own hint assumes a wider label: in a narrow
// pane (several prompts side by side, large text) its last lines were cut mid-word.
class WrappedLabel : public QLabel {
public:
    explicit WrappedLabel(const QString& text, QWidget* parent)
        : QLabel(text, parent)
    {
        setWordWrap(true);
        // Never sets the window's minimum width: the text wraps instead.
        setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Minimum);
    }
    // Its height is in its hints: a height-for-width layout around it would make the output's scroll area give
    // the whole view its preferred height (and scroll) rather than shrink the text.
    bool hasHeightForWidth() const override { return false; }
    QSize minimumSizeHint() const override { return { 0, neededHeight() }; }
    QSize sizeHint() const override { return { QLabel::sizeHint().width(), neededHeight() }; }

protected:
    void resizeEvent(QResizeEvent* event) override
    {
        QLabel::resizeEvent(event);
        if (event->oldSize().width() != width())
            updateGeometry();
    }

private:
    // Before its pane is laid out a label's width is arbitrary (narrow): one line until it has a real width.
    int neededHeight() const
    {
        const int line = QLabel::minimumSizeHint().height();
        return isVisible() && width() >= 8 * fontMetrics().averageCharWidth() ? std::max(line, heightForWidth(width()))
                                                                              : line;
    }
};

} // namespace

OutputView::OutputView(QWidget* parent)
    : QWidget(parent)
    , m_splitter(new QSplitter(Qt::Horizontal, this))
    , m_message(new QLabel(this))
    , m_legend(new WrappedLabel({}, this))
    , m_popup(new AlternativesPopup(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    // Wraps under large text rather than losing its end ("click a token for its alternatives").
    m_legend->setTextFormat(Qt::RichText);
    m_legend->hide();
    connect(m_popup, &AlternativesPopup::continueWith, this, &OutputView::continueRequested);
    m_message->setWordWrap(true);
    m_message->setAlignment(Qt::AlignCenter);
    m_message->setText(tr("Type a prompt and press Run (Ctrl+Enter). Tokens stream here while every worker "
                          "thread's timeline draws below."));
    m_message->setStyleSheet(QStringLiteral("color: #555; padding: 24px;"));
    layout->addWidget(m_message);
    layout->addWidget(m_legend);
    layout->addWidget(m_splitter, 1);
    m_splitter->hide();
}

void OutputView::startRun(const QStringList& prompts)
{
    for (Pane& p : m_panes)
        delete p.box;
    m_panes.clear();
    for (int i = 0; i < prompts.size(); ++i) {
        Pane p;
        p.box = new QWidget(m_splitter);
        auto* v = new QVBoxLayout(p.box);
        v->setContentsMargins(2, 2, 2, 2);
        p.title = new QLabel(p.box);
        QString title = prompts[i].simplified();
        if (title.size() > 80)
            title = title.left(77) + QStringLiteral("…");
        p.title->setText(QStringLiteral("<b>%1.</b> %2").arg(i + 1).arg(title.toHtmlEscaped()));
        p.title->setToolTip(prompts[i]);
        // Neither label may set the window's minimum width: with several panes side by side that
        // pushed the window past the screen. The title is clipped (its tool tip has it all), the
        // figures wrap.
        p.title->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
        p.text = new QPlainTextEdit(p.box);
        p.text->setReadOnly(true);
        // Two lines at least: on a short screen the pane's figures under it come before more lines of text.
        p.text->setMinimumHeight(2 * p.text->fontMetrics().lineSpacing() + 2 * p.text->frameWidth() + 8);
        p.text->setPlainText(prompts[i]);
        // The prompt in grey, the generated text after it in the normal colour.
        QTextCharFormat grey;
        grey.setForeground(QColor(0x70, 0x70, 0x70));
        QTextCursor c(p.text->document());
        c.select(QTextCursor::Document);
        c.setCharFormat(grey);
        p.length = int(p.text->document()->characterCount()) - 1;
        p.stats = new WrappedLabel(tr("waiting…"), p.box);
        p.stats->setStyleSheet(QStringLiteral("color: #333;"));
        v->addWidget(p.title);
        v->addWidget(p.text, 1);
        v->addWidget(p.stats);
        const int sequence = i;
        QPlainTextEdit* edit = p.text;
        connect(edit, &QPlainTextEdit::cursorPositionChanged, this, [this, sequence, edit] {
            const int position = tokenPositionAt(sequence, edit->textCursor().position());
            if (position >= 0)
                Q_EMIT tokenSelected(sequence, position);
            const int index = tokenIndexAt(sequence, edit->textCursor().position());
            if (index >= 0 && alternatives(sequence, index))
                Q_EMIT tokenAlternativesSelected(sequence, index);
        });
        // Clicks open a token's alternatives; hovering shows its probability.
        edit->viewport()->installEventFilter(this);
        m_splitter->addWidget(p.box);
        m_panes.push_back(p);
    }
    m_message->hide();
    m_splitter->show();
    m_finished = false;
    updateLegend();
}

void OutputView::appendPieces(const QVector<TokenPiece>& pieces)
{
    // One insertion and one label update per pane and batch: each insertText relays out the
    // document, and on a two-core machine this thread's work is taken from a worker.
    std::vector<QString> pending(m_panes.size());
    for (const TokenPiece& piece : pieces) {
        if (piece.sequence < 0 || piece.sequence >= int(m_panes.size()))
            continue;
        Pane& p = m_panes[size_t(piece.sequence)];
        if (piece.id >= 0) {
            p.tokenStarts.push_back(p.length);
            p.tokenPositions.push_back(piece.position);
            ++p.tokens;
        }
        pending[size_t(piece.sequence)] += piece.text;
        p.length += int(piece.text.size());
    }
    QTextCharFormat normal;
    normal.setForeground(palette().color(QPalette::Text));
    for (size_t i = 0; i < m_panes.size(); ++i) {
        if (pending[i].isEmpty())
            continue;
        Pane& p = m_panes[i];
        QScrollBar* bar = p.text->verticalScrollBar();
        const bool atEnd = bar->value() >= bar->maximum() - 4;
        QTextCursor c(p.text->document());
        c.movePosition(QTextCursor::End);
        c.insertText(pending[i], normal);
        if (atEnd)
            bar->setValue(bar->maximum());
        p.stats->setText(tr("%n token(s)…", nullptr, p.tokens));
    }
}

void OutputView::finishRun(const RunSummary& summary)
{
    m_finished = true;
    for (size_t i = 0; i < summary.sequences.size() && i < m_panes.size(); ++i) {
        const engine::GenerationStats& s = summary.sequences[i].stats;
        QString reason = QString::fromLatin1(engine::stopReasonName(s.stopReason));
        if (reason == QLatin1String("max_tokens"))
            reason = tr("max tokens");
        else if (reason == QLatin1String("eos"))
            reason = tr("end of text");
        else if (reason == QLatin1String("context_full"))
            reason = tr("context full");
        else if (reason == QLatin1String("cancelled"))
            reason = tr("stopped");
        // Before the first token there is no speed to report, only how far it got.
        const QString firstToken
            = s.generatedTokens > 0 ? tr("first token %1 ms").arg(s.timeToFirstTokenMs, 0, 'f', 1) : tr("no token yet");
        // This prompt's own prefill and decode speeds (its tokens over its own steps' time); the Workers tab shows
        // the run's phases over all prompts, so the words say whose they are.
        Pane& p = m_panes[i];
        p.stats->setText(tr("%1 prompt + %2 generated tokens (%3) · %4 · this prompt: prefill %5 tok/s, "
                            "decode %6 tok/s")
                             .arg(s.promptTokens)
                             .arg(s.generatedTokens)
                             .arg(reason)
                             .arg(firstToken)
                             .arg(s.prefillTokensPerSecond(), 0, 'f', 0)
                             .arg(s.decodeTokensPerSecond(), 0, 'f', 1)
                             .replace(QStringLiteral("tok/s"), kTokPerSecond));
        p.stats->setToolTip(tr("Speeds of this prompt alone. Prefill: its prompt tokens over the time its own "
                               "prompt pass took (the layer pipeline: from its start to its first token). Decode: "
                               "its tokens after the first over the time its own decode steps took. The Workers "
                               "tab's \"all prompts\" figures divide every prompt's tokens by the phase's wall "
                               "time."));
        p.tokenIds = summary.sequences[i].tokenIds;
        p.alternatives = summary.sequences[i].alternatives;
        if (m_colouring)
            applyColouring(p);
    }
    updateLegend();
}

void OutputView::setProbabilityColouring(bool on)
{
    if (on == m_colouring)
        return;
    m_colouring = on;
    for (Pane& p : m_panes)
        applyColouring(p);
    updateLegend();
}

void OutputView::applyColouring(Pane& p)
{
    // Token k spans [tokenStarts[k], tokenStarts[k + 1]); the last one runs to the end of the text.
    const size_t n = std::min(p.tokenStarts.size(), p.alternatives.size());
    if (n == 0)
        return;
    QTextCursor c(p.text->document());
    for (size_t k = 0; k < n; ++k) {
        const int begin = p.tokenStarts[k];
        const int end = k + 1 < p.tokenStarts.size() ? p.tokenStarts[k + 1] : p.length;
        if (end <= begin)
            continue; // a token that completed no character yet (half a UTF-8 sequence)
        QTextCharFormat f;
        if (m_colouring) {
            const engine::TokenAlternatives& a = p.alternatives[k];
            const engine::TokenAlternative* chosen = a.find(a.chosen);
            f.setBackground(probabilityColor(chosen ? chosen->finalProbability : 0.0));
        } else {
            f.setBackground(QBrush()); // back to plain text
        }
        c.setPosition(begin);
        c.setPosition(end, QTextCursor::KeepAnchor);
        c.mergeCharFormat(f);
    }
}

void OutputView::updateLegend()
{
    bool kept = false;
    for (const Pane& p : m_panes)
        kept = kept || !p.alternatives.empty();
    if (!m_colouring || m_panes.empty()) {
        m_legend->hide();
        return;
    }
    m_legend->setText(kept ? tr("Token colour = probability the sampler gave the chosen token: %1 · click a token "
                                "for its alternatives")
                                 .arg(probabilityLegendHtml())
            : m_finished
            ? tr("This run kept no token probabilities (demonstrations do not keep them): press Run to see them.")
            : tr("Token probabilities are on: they colour the text when the run finishes."));
    m_legend->show();
}

int OutputView::tokenIndexAt(int sequence, int charOffset) const
{
    if (sequence < 0 || sequence >= int(m_panes.size()))
        return -1;
    const Pane& p = m_panes[size_t(sequence)];
    if (p.tokenStarts.empty() || charOffset < p.tokenStarts.front() || charOffset > p.length)
        return -1;
    const auto it = std::upper_bound(p.tokenStarts.begin(), p.tokenStarts.end(), charOffset);
    return int(it - p.tokenStarts.begin()) - 1;
}

const engine::TokenAlternatives* OutputView::alternatives(int sequence, int tokenIndex) const
{
    if (sequence < 0 || sequence >= int(m_panes.size()) || tokenIndex < 0)
        return nullptr;
    const Pane& p = m_panes[size_t(sequence)];
    return size_t(tokenIndex) < p.alternatives.size() ? &p.alternatives[size_t(tokenIndex)] : nullptr;
}

std::vector<int32_t> OutputView::generatedTokens(int sequence) const
{
    if (sequence < 0 || sequence >= int(m_panes.size()))
        return {};
    return m_panes[size_t(sequence)].tokenIds;
}

int OutputView::charOffsetOfToken(int sequence, int tokenIndex) const
{
    if (sequence < 0 || sequence >= int(m_panes.size()) || tokenIndex < 0)
        return -1;
    const Pane& p = m_panes[size_t(sequence)];
    return size_t(tokenIndex) < p.tokenStarts.size() ? p.tokenStarts[size_t(tokenIndex)] : -1;
}

bool OutputView::showAlternatives(int sequence, int tokenIndex)
{
    const engine::TokenAlternatives* a = alternatives(sequence, tokenIndex);
    if (!a)
        return false;
    QPlainTextEdit* edit = m_panes[size_t(sequence)].text;
    QTextCursor c(edit->document());
    c.setPosition(charOffsetOfToken(sequence, tokenIndex));
    const QRect at = edit->cursorRect(c);
    m_popup->setToken(sequence, tokenIndex, *a);
    m_popup->showAt(edit->viewport()->mapToGlobal(at.bottomLeft() + QPoint(0, 4)));
    return true;
}

int OutputView::paneOf(const QObject* viewport) const
{
    for (size_t i = 0; i < m_panes.size(); ++i)
        if (m_panes[i].text->viewport() == viewport)
            return int(i);
    return -1;
}

bool OutputView::eventFilter(QObject* watched, QEvent* event)
{
    if (event->type() != QEvent::MouseButtonRelease && event->type() != QEvent::ToolTip)
        return QWidget::eventFilter(watched, event);
    const int sequence = paneOf(watched);
    if (sequence < 0 || !m_colouring)
        return QWidget::eventFilter(watched, event);
    QPlainTextEdit* edit = m_panes[size_t(sequence)].text;
    if (event->type() == QEvent::MouseButtonRelease) {
        auto* mouse = static_cast<QMouseEvent*>(event);
        if (mouse->button() == Qt::LeftButton && !edit->textCursor().hasSelection())
            showAlternatives(
                sequence, tokenIndexAt(sequence, edit->cursorForPosition(mouse->position().toPoint()).position()));
        return QWidget::eventFilter(watched, event);
    }
    auto* help = static_cast<QHelpEvent*>(event);
    const int index = tokenIndexAt(sequence, edit->cursorForPosition(help->pos()).position());
    const engine::TokenAlternatives* a = alternatives(sequence, index);
    const engine::TokenAlternative* chosen = a ? a->find(a->chosen) : nullptr;
    if (!chosen) {
        QToolTip::hideText();
        return true;
    }
    QToolTip::showText(help->globalPos(),
        tr("%1: probability %2 (raw %3), entropy %4 bits · click for the alternatives")
            .arg(tokenLabel(chosen->text), probabilityText(chosen->finalProbability),
                probabilityText(chosen->rawProbability))
            .arg(a->rawEntropyBits, 0, 'f', 2),
        edit);
    return true;
}

void OutputView::showSaved(const QStringList& prompts, const QStringList& texts, const QStringList& stats)
{
    QStringList titles;
    for (qsizetype i = 0; i < texts.size(); ++i)
        titles << (i < prompts.size() ? prompts[i] : texts[i].section(QLatin1Char('\n'), 0, 0));
    startRun(titles);
    QTextCharFormat grey;
    grey.setForeground(QColor(0x70, 0x70, 0x70));
    QTextCharFormat normal;
    normal.setForeground(palette().color(QPalette::Text));
    for (size_t i = 0; i < m_panes.size(); ++i) {
        Pane& p = m_panes[i];
        const QString& text = texts[qsizetype(i)];
        const QString& prompt = titles[qsizetype(i)];
        // Saved text is the pane as it was: the prompt, then what was generated.
        const qsizetype promptLength = text.startsWith(prompt) ? prompt.size() : 0;
        p.text->clear();
        QTextCursor c(p.text->document());
        c.insertText(text.left(promptLength), grey);
        c.insertText(text.mid(promptLength), normal);
        p.length = int(text.size());
        const QString prefix = tr("from the session: ");
        QString saved = stats.value(qsizetype(i));
        if (saved.startsWith(prefix)) // a session saved from an opened one
            saved = saved.mid(prefix.size());
        if (saved == tr("waiting…")) // saved before its run produced anything
            saved.clear();
        p.stats->setText(prefix + (saved.isEmpty() ? tr("no figures saved") : saved));
        p.stats->setToolTip(tr("Shown as saved; sessions keep no trace, so the timeline has nothing to show for it"));
    }
}

void OutputView::showMessage(const QString& message)
{
    m_message->setText(message);
    m_message->show();
}

QString OutputView::text(int sequence) const
{
    if (sequence < 0 || sequence >= int(m_panes.size()))
        return {};
    return m_panes[size_t(sequence)].text->toPlainText();
}

QString OutputView::statsText(int sequence) const
{
    if (sequence < 0 || sequence >= int(m_panes.size()))
        return {};
    return m_panes[size_t(sequence)].stats->text().remove(kWordJoiner);
}

int OutputView::tokenPositionAt(int sequence, int charOffset) const
{
    if (sequence < 0 || sequence >= int(m_panes.size()))
        return -1;
    const Pane& p = m_panes[size_t(sequence)];
    if (p.tokenStarts.empty() || charOffset < p.tokenStarts.front())
        return -1;
    const auto it = std::upper_bound(p.tokenStarts.begin(), p.tokenStarts.end(), charOffset);
    return p.tokenPositions[size_t(it - p.tokenStarts.begin()) - 1];
}

} // namespace ui
