// The editable list of prompts: add, remove, duplicate, reorder; the selected prompt is edited below the list.
#pragma once

#include <QStringList>
#include <QWidget>

class QLabel;
class QListWidget;
class QPlainTextEdit;
class QToolButton;

namespace ui {

class PromptListEditor : public QWidget {
    Q_OBJECT

public:
    explicit PromptListEditor(QWidget* parent = nullptr);

    QStringList prompts() const; // non-empty prompts, in order
    QStringList texts() const { return m_prompts; } // every entry as typed, empty ones too
    void setPrompts(const QStringList& prompts); // at least one (an empty list gives one empty prompt)
    int count() const;
    // "Prompt 2 is empty: it is skipped when the prompts run." when the list holds an empty entry among others
    // (prompts() leaves it out, so the outputs would be numbered past it); empty otherwise.
    QString emptyNote() const;
    QList<int> emptyEntries() const; // their numbers as the list shows them (from 1), when there are others
    int currentIndex() const;
    void setCurrentIndex(int index);

public Q_SLOTS:
    void addPrompt();
    void removePrompt();
    void duplicatePrompt();
    void moveUp();
    void moveDown();

Q_SIGNALS:
    void promptsChanged();

private:
    void syncEditorFromList();
    void syncListFromEditor();
    void updateButtons();
    void updateEmptyNote();
    static QString summary(const QString& prompt);

    QListWidget* m_list;
    QPlainTextEdit* m_editor;
    QLabel* m_emptyNote;
    QToolButton* m_add;
    QToolButton* m_remove;
    QToolButton* m_duplicate;
    QToolButton* m_up;
    QToolButton* m_down;
    QStringList m_prompts; // full texts; the list shows one-line summaries
    bool m_syncing = false;
};

} // namespace ui
