// Chat mode: a conversation with the loaded model, its chat template applied to the whole history and the KV cache
// reused across turns. Offered only when the model's file has a chat template the engine knows; otherwise the panel
// says why and stays disabled.
#pragma once

#include "engine/run/conversation.h"
#include "ui/runcontroller.h"

#include <QString>
#include <QVector>
#include <QWidget>

#include <memory>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTextBrowser;

namespace ui {

class ChatPanel : public QWidget {
    Q_OBJECT

public:
    explicit ChatPanel(QWidget* parent = nullptr);

    // A new model: a new, empty conversation if it can chat; otherwise the panel is disabled with the reason.
    void setModel(std::shared_ptr<const engine::Model> model);
    bool available() const { return m_conversation != nullptr; }
    QString unavailableReason() const { return m_reason; }
    // The conversation a turn runs on (null when unavailable); only the engine's worker touches it during a turn.
    std::shared_ptr<engine::Conversation> conversation() const { return m_conversation; }
    QString systemPrompt() const;
    void setSystemPrompt(const QString& text);
    // Another run (or a turn) is going on: no new turn until it ends.
    void setBusy(bool busy);

    // The window calls these for the turn it started on the panel's behalf.
    void turnStarted(engine::ChatAction action, const QString& text);
    void appendReply(const QString& text);
    void finishTurn(const RunSummary& summary);
    void failTurn(const QString& message);

    // For tests and screenshots.
    QString transcript() const; // the messages as plain text, one "role: text" paragraph each
    QString lastStats() const;
    QString input() const;
    void setInput(const QString& text);

public Q_SLOTS:
    void send(); // Send, or, after Edit last, resend the edited message
    void regenerate();
    void editLast(); // loads the last user message into the input box; Send then replaces it
    void newChat();

Q_SIGNALS:
    void turnRequested(engine::ChatAction action, const QString& text);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    struct Entry {
        engine::ChatRole role = engine::ChatRole::User;
        QString text;
        QString stats; // under an assistant message: what the turn cost
        bool streaming = false;
    };
    void render();
    void updateEnabled();

    std::shared_ptr<const engine::Model> m_model;
    std::shared_ptr<engine::Conversation> m_conversation;
    QString m_reason;
    QVector<Entry> m_entries;
    QVector<Entry> m_beforeTurn; // restored when a turn fails
    bool m_busy = false;
    bool m_editing = false;
    bool m_turnRunning = false;

    QLabel* m_header;
    QLineEdit* m_system;
    QTextBrowser* m_view;
    QPlainTextEdit* m_input;
    QPushButton* m_send;
    QPushButton* m_regenerate;
    QPushButton* m_edit;
    QPushButton* m_new;
};

// The stats line of a chat turn: prefilled and reused tokens, time to first token, decode tokens/s.
QString chatTurnStats(const RunSummary& summary);

} // namespace ui
