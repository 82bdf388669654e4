// Generated text, one pane per prompt, streaming as tokens arrive, with per-prompt speed figures.
#pragma once

#include "ui/runcontroller.h"

#include <QWidget>

#include <vector>

class QLabel;
class QPlainTextEdit;
class QSplitter;

namespace ui {

class AlternativesPopup;

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

    // Token probabilities (kept when the run asked for alternatives): colour each generated token by the
    // probability the sampler gave it, and show its alternatives when clicked. Off: plain text.
    void setProbabilityColouring(bool on);
    bool probabilityColouring() const { return m_colouring; }
    int tokenIndexAt(int sequence, int charOffset) const; // index among the pane's generated tokens; -1 if none
    const engine::TokenAlternatives* alternatives(int sequence, int tokenIndex) const; // null when not kept
    std::vector<int32_t> generatedTokens(int sequence) const; // the finished run's token ids
    int charOffsetOfToken(int sequence, int tokenIndex) const; // where it starts in the pane's text; -1 if none
    // Opens the alternatives popup of a token (what a click on it does); false when it has none.
    bool showAlternatives(int sequence, int tokenIndex);
    AlternativesPopup* alternativesPopup() const { return m_popup; }
    QLabel* legend() const { return m_legend; }

Q_SIGNALS:
    void tokenSelected(int sequence, int position); // the user put the cursor on a generated token
    // The cursor went to a generated token whose alternatives were kept (for the sampling panel).
    void tokenAlternativesSelected(int sequence, int tokenIndex);
    // "Continue from here with another token": the user picked `id` in place of generated token `tokenIndex`.
    void continueRequested(int sequence, int tokenIndex, int32_t id);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

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
        std::vector<int32_t> tokenIds; // from the finished run
        std::vector<engine::TokenAlternatives> alternatives; // from the finished run, one per token (or none)
    };
    void applyColouring(Pane& pane);
    void updateLegend();
    int paneOf(const QObject* viewport) const;

    std::vector<Pane> m_panes;
    QSplitter* m_splitter;
    QLabel* m_message;
    QLabel* m_legend;
    AlternativesPopup* m_popup;
    bool m_colouring = true;
    bool m_finished = false; // the shown run has ended (else it is streaming)
};

} // namespace ui
