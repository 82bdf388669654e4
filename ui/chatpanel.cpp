#include "ui/chatpanel.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>

namespace ui {

namespace {

QString html(const QString& text) { return text.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")); }

} // namespace

QString chatTurnStats(const RunSummary& summary)
{
    if (!summary.chat || summary.sequences.empty())
        return {};
    const ChatTurnOutcome& c = *summary.chat;
    const engine::GenerationStats& s = summary.sequences.front().stats;
    QString line = QObject::tr("prefilled %1 tokens, reused %2 of %3 from the KV cache · first token %4 ms · %5 "
                               "tokens")
                       .arg(c.prefilledTokens)
                       .arg(c.reusedTokens)
                       .arg(c.historyTokens)
                       .arg(s.timeToFirstTokenMs, 0, 'f', 0)
                       .arg(s.generatedTokens);
    if (s.decodeTokensPerSecond() > 0)
        line += QObject::tr(" at %1 tokens/s").arg(s.decodeTokensPerSecond(), 0, 'f', 1);
    line += QStringLiteral(" (%1)").arg(QString::fromLatin1(engine::stopReasonName(s.stopReason)));
    return line;
}

ChatPanel::ChatPanel(QWidget* parent)
    : QWidget(parent)
    , m_header(new QLabel(this))
    , m_system(new QLineEdit(this))
    , m_view(new QTextBrowser(this))
    , m_input(new QPlainTextEdit(this))
    , m_send(new QPushButton(tr("Send"), this))
    , m_regenerate(new QPushButton(tr("Regenerate last"), this))
    , m_edit(new QPushButton(tr("Edit last"), this))
    , m_new(new QPushButton(tr("New chat"), this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_header->setWordWrap(true);
    m_header->setTextFormat(Qt::RichText);
    layout->addWidget(m_header);
    auto* systemRow = new QHBoxLayout;
    systemRow->addWidget(new QLabel(tr("System prompt:"), this));
    m_system->setPlaceholderText(
        tr("empty: the settings' system prompt; applies from the next turn (a change re-prefills the history)"));
    systemRow->addWidget(m_system, 1);
    systemRow->addWidget(m_new);
    layout->addLayout(systemRow);
    m_view->setOpenLinks(false);
    // The messages take what the pane has left: on a short pane they scroll rather than push the input away.
    m_view->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Ignored);
    m_view->setMinimumHeight(48);
    layout->addWidget(m_view, 1);
    auto* inputRow = new QHBoxLayout;
    m_input->setPlaceholderText(tr("Message (Ctrl+Enter sends)"));
    m_input->setFixedHeight(m_input->fontMetrics().lineSpacing() * 2 + 12);
    m_input->setTabChangesFocus(true);
    m_input->installEventFilter(this); // Ctrl+Enter sends here, though the window's Ctrl+Enter runs
    inputRow->addWidget(m_input, 1);
    inputRow->addWidget(m_send);
    inputRow->addWidget(m_regenerate);
    inputRow->addWidget(m_edit);
    layout->addLayout(inputRow);

    m_send->setToolTip(tr("Add the message and generate the reply; only tokens not already in the KV cache are "
                          "prefilled (Ctrl+Enter)"));
    m_regenerate->setToolTip(tr("Drop the last reply and generate it again with the current settings and seed"));
    m_edit->setToolTip(tr("Put the last message back in the box; Send then replaces it and replies again"));
    m_new->setToolTip(tr("Forget the conversation and its KV cache"));
    connect(m_send, &QPushButton::clicked, this, &ChatPanel::send);
    connect(m_regenerate, &QPushButton::clicked, this, &ChatPanel::regenerate);
    connect(m_edit, &QPushButton::clicked, this, &ChatPanel::editLast);
    connect(m_new, &QPushButton::clicked, this, &ChatPanel::newChat);
    connect(m_input, &QPlainTextEdit::textChanged, this, &ChatPanel::updateEnabled);
    setModel(nullptr);
}

void ChatPanel::setModel(std::shared_ptr<const engine::Model> model)
{
    m_model = std::move(model);
    m_conversation.reset();
    m_entries.clear();
    m_editing = false;
    m_turnRunning = false;
    if (!m_model) {
        m_reason = tr("no model loaded");
    } else {
        const std::string reason = engine::Conversation::unavailableReason(*m_model);
        m_reason = QString::fromStdString(reason);
        if (reason.empty()) {
            try {
                m_conversation = std::make_shared<engine::Conversation>(m_model);
            } catch (const std::exception& e) {
                m_reason = QString::fromUtf8(e.what());
            }
        }
    }
    if (m_conversation) {
        m_header->setText(tr("<b>Chat</b> with the %1 template — the whole history is templated each turn, and "
                             "only the tokens not already in the KV cache are prefilled (see the timeline)")
                              .arg(QString::fromLatin1(engine::chatTemplateName(m_conversation->family()))));
    } else {
        const bool shipped = m_model && m_model->source().find("playground-kjv") != std::string::npos;
        m_header->setText(tr("<b>Chat is not available:</b> %1.")
                              .arg(shipped ? tr("the shipped model has no chat template; load a GGUF file that has "
                                                "one (File ▸ Open GGUF…)")
                                           : m_reason.toHtmlEscaped()));
    }
    render();
    updateEnabled();
}

bool ChatPanel::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_input && (event->type() == QEvent::ShortcutOverride || event->type() == QEvent::KeyPress)) {
        const auto* key = static_cast<QKeyEvent*>(event);
        if ((key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) && (key->modifiers() & Qt::ControlModifier)) {
            event->accept(); // the override claims the key from the window's shortcut; the press sends
            if (event->type() == QEvent::KeyPress)
                send();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

QString ChatPanel::systemPrompt() const { return m_system->text(); }
void ChatPanel::setSystemPrompt(const QString& text) { m_system->setText(text); }

void ChatPanel::setBusy(bool busy)
{
    m_busy = busy;
    updateEnabled();
}

void ChatPanel::updateEnabled()
{
    const bool can = available() && !m_busy;
    const bool hasReply = !m_entries.isEmpty() && m_entries.back().role == engine::ChatRole::Assistant;
    const bool hasUser = std::any_of(
        m_entries.begin(), m_entries.end(), [](const Entry& e) { return e.role == engine::ChatRole::User; });
    m_send->setEnabled(can && !m_input->toPlainText().trimmed().isEmpty());
    m_send->setText(m_editing ? tr("Resend edited") : tr("Send"));
    m_regenerate->setEnabled(can && hasReply);
    m_edit->setEnabled(can && hasUser);
    m_new->setEnabled(available() && !m_busy && !m_entries.isEmpty());
    m_system->setEnabled(available());
    m_input->setEnabled(available());
}

void ChatPanel::send()
{
    const QString text = m_input->toPlainText().trimmed();
    if (!available() || m_busy || text.isEmpty())
        return;
    Q_EMIT turnRequested(m_editing ? engine::ChatAction::EditLast : engine::ChatAction::Send, text);
}

void ChatPanel::regenerate()
{
    if (available() && !m_busy)
        Q_EMIT turnRequested(engine::ChatAction::Regenerate, {});
}

void ChatPanel::editLast()
{
    for (auto it = m_entries.rbegin(); it != m_entries.rend(); ++it) {
        if (it->role == engine::ChatRole::User) {
            m_input->setPlainText(it->text);
            m_editing = true;
            m_input->setFocus();
            updateEnabled();
            return;
        }
    }
}

void ChatPanel::newChat()
{
    if (m_busy)
        return;
    setModel(m_model); // a fresh conversation and cache; the system prompt field stays
}

void ChatPanel::turnStarted(engine::ChatAction action, const QString& text)
{
    m_turnRunning = true;
    m_beforeTurn = m_entries;
    switch (action) {
    case engine::ChatAction::Send:
        m_entries.append({ engine::ChatRole::User, text, {}, false });
        break;
    case engine::ChatAction::Regenerate:
        if (!m_entries.isEmpty() && m_entries.back().role == engine::ChatRole::Assistant)
            m_entries.removeLast();
        break;
    case engine::ChatAction::EditLast:
        if (!m_entries.isEmpty() && m_entries.back().role == engine::ChatRole::Assistant)
            m_entries.removeLast();
        if (!m_entries.isEmpty())
            m_entries.back().text = text;
        break;
    }
    m_entries.append({ engine::ChatRole::Assistant, {}, tr("prefilling…"), true });
    m_input->clear();
    m_editing = false;
    render();
    updateEnabled();
}

void ChatPanel::appendReply(const QString& text)
{
    if (!m_turnRunning || m_entries.isEmpty())
        return;
    m_entries.back().text += text;
    m_entries.back().stats = tr("generating…");
    render();
}

void ChatPanel::finishTurn(const RunSummary& summary)
{
    if (!m_turnRunning)
        return; // a stopped turn of a conversation already replaced (New chat, another model)
    m_turnRunning = false;
    if (summary.chat) {
        // The conversation as the engine now holds it (a stopped turn keeps its partial reply).
        const QString stats = chatTurnStats(summary);
        m_entries.clear();
        for (const engine::ChatMessage& m : summary.chat->messages)
            m_entries.append({ m.role, QString::fromStdString(m.content), {}, false });
        if (!m_entries.isEmpty() && m_entries.back().role == engine::ChatRole::Assistant)
            m_entries.back().stats = stats;
    }
    render();
    updateEnabled();
}

void ChatPanel::failTurn(const QString& message)
{
    if (!m_turnRunning)
        return;
    m_turnRunning = false;
    m_entries = m_beforeTurn; // the engine left the messages as they were
    m_header->setText(m_header->text().section(QStringLiteral("<br>"), 0, 0) + QStringLiteral("<br><b>")
        + tr("The turn failed:") + QStringLiteral("</b> ") + message.toHtmlEscaped());
    render();
    updateEnabled();
}

void ChatPanel::render()
{
    QString out;
    if (m_entries.isEmpty() && available())
        out = QStringLiteral("<p style='color:gray'>%1</p>")
                  .arg(tr("Type a message below. The stats under each reply show how many tokens the turn prefilled "
                          "and how many it reused from the KV cache."));
    for (const Entry& e : m_entries) {
        const bool user = e.role == engine::ChatRole::User;
        out += QStringLiteral("<table width='100%' cellpadding='6' style='margin-bottom:4px; background:%1'><tr><td>"
                              "<b>%2</b><br>%3")
                   .arg(user ? QStringLiteral("#eef3fb") : QStringLiteral("#f4f4f4"), user ? tr("You") : tr("Model"),
                       html(e.text));
        if (!e.stats.isEmpty())
            out += QStringLiteral("<br><span style='color:#666; font-size:small'>%1</span>")
                       .arg(e.stats.toHtmlEscaped());
        out += QStringLiteral("</td></tr></table>");
    }
    m_view->setHtml(out);
    m_view->verticalScrollBar()->setValue(m_view->verticalScrollBar()->maximum());
}

QString ChatPanel::transcript() const
{
    QStringList parts;
    for (const Entry& e : m_entries)
        parts << QStringLiteral("%1: %2").arg(QString::fromLatin1(engine::chatRoleName(e.role)), e.text);
    return parts.join(QStringLiteral("\n\n"));
}

QString ChatPanel::lastStats() const { return m_entries.isEmpty() ? QString() : m_entries.back().stats; }
QString ChatPanel::input() const { return m_input->toPlainText(); }
void ChatPanel::setInput(const QString& text) { m_input->setPlainText(text); }

} // namespace ui
