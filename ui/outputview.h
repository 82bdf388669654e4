// Generated text, one pane per prompt, streaming as tokens arrive, with per-prompt speed figures.
#pragma once

#include "ui/runcontroller.h"

#include <QWidget>

#include <vector>

class QLabel;
class QPlainTextEdit;
class QSplitter;

namespace ui {

class OutputView : public QWidget {
    Q_OBJECT

public:
    explicit OutputView(QWidget* parent = nullptr);

    void startRun(const QStringList& prompts); // one empty pane per prompt
    void appendPieces(const QVector<TokenPiece>& pieces);
    void finishRun(const RunSummary& summary); // each pane's figures; a stopped run's say so
    // A saved session's outputs as outputs: each pane's prompt in grey, the generated text after it,
    // and the figures saved with it, marked as coming from the session.
    void showSaved(const QStringList& prompts, const QStringList& texts, const QStringList& stats);
    void showMessage(const QString& message); // e.g. an error, in place of the outputs

    int paneCount() const { return int(m_panes.size()); }
    QString text(int sequence) const;
    QString statsText(int sequence) const;
    // Which token (its trace position) covers this character offset of a pane; -1 if none.
    int tokenPositionAt(int sequence, int charOffset) const;

Q_SIGNALS:
    void tokenSelected(int sequence, int position); // the user put the cursor on a generated token

private:
    struct Pane {
        QWidget* box = nullptr;
        QLabel* title = nullptr;
        QPlainTextEdit* text = nullptr;
        QLabel* stats = nullptr;
        std::vector<int> tokenStarts; // character offset where each token's text begins
        std::vector<int> tokenPositions; // its trace position
        int length = 0;
        int tokens = 0;
    };
    std::vector<Pane> m_panes;
    QSplitter* m_splitter;
    QLabel* m_message;
};

} // namespace ui
