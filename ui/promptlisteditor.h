// The editable list of prompts: add, remove, duplicate, reorder; the selected prompt is edited below the list.
#pragma once

#include <QStringList>
#include <QWidget>

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
    static QString summary(const QString& prompt);

    QListWidget* m_list;
    QPlainTextEdit* m_editor;
    QToolButton* m_add;
    QToolButton* m_remove;
    QToolButton* m_duplicate;
    QToolButton* m_up;
    QToolButton* m_down;
    QStringList m_prompts; // full texts; the list shows one-line summaries
    bool m_syncing = false;
};

} // namespace ui
