#include "ui/promptlisteditor.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QToolButton>
#include <QVBoxLayout>

namespace ui {

PromptListEditor::PromptListEditor(QWidget* parent)
    : QWidget(parent)
    , m_list(new QListWidget(this))
    , m_editor(new QPlainTextEdit(this))
    , m_emptyNote(new QLabel(this))
    , m_add(new QToolButton(this))
    , m_remove(new QToolButton(this))
    , m_duplicate(new QToolButton(this))
    , m_up(new QToolButton(this))
    , m_down(new QToolButton(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_list->setToolTip(tr("Each prompt runs as its own sequence, so variants can be compared side by side"));
    m_list->setMaximumHeight(96);
    layout->addWidget(m_list);

    auto* buttons = new QHBoxLayout;
    const std::pair<QToolButton*, QString> specs[] = { { m_add, tr("Add") }, { m_duplicate, tr("Duplicate") },
        { m_remove, tr("Remove") }, { m_up, tr("Up") }, { m_down, tr("Down") } };
    for (const auto& [button, text] : specs) {
        button->setText(text);
        buttons->addWidget(button);
    }
    m_add->setToolTip(tr("Add an empty prompt"));
    m_duplicate->setToolTip(tr("Copy the selected prompt, to try a variant of it"));
    m_remove->setToolTip(tr("Remove the selected prompt"));
    m_up->setToolTip(tr("Move the selected prompt up"));
    m_down->setToolTip(tr("Move the selected prompt down"));
    buttons->addStretch();
    layout->addLayout(buttons);

    m_editor->setPlaceholderText(tr("Type a prompt…"));
    m_editor->setToolTip(tr("The selected prompt"));
    m_editor->setTabChangesFocus(true);
    m_editor->setMinimumHeight(70);
    m_editor->setMaximumHeight(140);
    layout->addWidget(m_editor);
    // Below the editor: above it, its appearing would move the buttons from under the pointer.
    m_emptyNote->setObjectName(QStringLiteral("emptyPromptNote"));
    m_emptyNote->setWordWrap(true);
    m_emptyNote->setStyleSheet(QStringLiteral("color: #9a4b00;"));
    m_emptyNote->hide();
    layout->addWidget(m_emptyNote);

    connect(m_add, &QToolButton::clicked, this, &PromptListEditor::addPrompt);
    connect(m_remove, &QToolButton::clicked, this, &PromptListEditor::removePrompt);
    connect(m_duplicate, &QToolButton::clicked, this, &PromptListEditor::duplicatePrompt);
    connect(m_up, &QToolButton::clicked, this, &PromptListEditor::moveUp);
    connect(m_down, &QToolButton::clicked, this, &PromptListEditor::moveDown);
    connect(m_list, &QListWidget::currentRowChanged, this, [this] {
        syncEditorFromList();
        updateButtons();
    });
    connect(m_editor, &QPlainTextEdit::textChanged, this, &PromptListEditor::syncListFromEditor);
    connect(this, &PromptListEditor::promptsChanged, this, &PromptListEditor::updateEmptyNote);
    setPrompts({ QString() });
}

QString PromptListEditor::summary(const QString& prompt)
{
    QString line = prompt.simplified();
    if (line.isEmpty())
        return tr("(empty)");
    return line.size() > 60 ? line.left(57) + QStringLiteral("…") : line;
}

QStringList PromptListEditor::prompts() const
{
    QStringList out;
    for (const QString& p : m_prompts)
        if (!p.trimmed().isEmpty())
            out << p;
    return out;
}

void PromptListEditor::setPrompts(const QStringList& prompts)
{
    m_prompts = prompts.isEmpty() ? QStringList { QString() } : prompts;
    m_syncing = true;
    m_list->clear();
    for (int i = 0; i < m_prompts.size(); ++i)
        m_list->addItem(QStringLiteral("%1. %2").arg(i + 1).arg(summary(m_prompts[i])));
    m_syncing = false;
    m_list->setCurrentRow(0);
    syncEditorFromList();
    updateButtons();
    Q_EMIT promptsChanged();
}

int PromptListEditor::count() const { return int(m_prompts.size()); }

QList<int> PromptListEditor::emptyEntries() const
{
    QList<int> out;
    if (m_prompts.size() < 2)
        return out; // a lone empty prompt: Run says to type one
    for (int i = 0; i < m_prompts.size(); ++i)
        if (m_prompts[i].trimmed().isEmpty())
            out << i + 1;
    return out;
}

QString PromptListEditor::emptyNote() const
{
    QStringList empty;
    for (int n : emptyEntries())
        empty << QString::number(n);
    if (empty.isEmpty())
        return {};
    if (empty.size() == 1)
        return tr("Prompt %1 is empty: it is skipped when the prompts run.").arg(empty.front());
    const QString last = empty.takeLast();
    return tr("Prompts %1 and %2 are empty: they are skipped when the prompts run.")
        .arg(empty.join(QStringLiteral(", ")), last);
}

void PromptListEditor::updateEmptyNote()
{
    const QString note = emptyNote();
    m_emptyNote->setText(note);
    m_emptyNote->setVisible(!note.isEmpty());
}
int PromptListEditor::currentIndex() const { return m_list->currentRow(); }
void PromptListEditor::setCurrentIndex(int index) { m_list->setCurrentRow(index); }

void PromptListEditor::syncEditorFromList()
{
    if (m_syncing)
        return;
    const int row = m_list->currentRow();
    m_syncing = true;
    m_editor->setPlainText(row >= 0 && row < m_prompts.size() ? m_prompts[row] : QString());
    m_syncing = false;
}

void PromptListEditor::syncListFromEditor()
{
    if (m_syncing)
        return;
    const int row = m_list->currentRow();
    if (row < 0 || row >= m_prompts.size())
        return;
    m_prompts[row] = m_editor->toPlainText();
    m_list->item(row)->setText(QStringLiteral("%1. %2").arg(row + 1).arg(summary(m_prompts[row])));
    Q_EMIT promptsChanged();
}

void PromptListEditor::updateButtons()
{
    const int row = m_list->currentRow();
    m_remove->setEnabled(m_prompts.size() > 1 && row >= 0);
    m_duplicate->setEnabled(row >= 0);
    m_up->setEnabled(row > 0);
    m_down->setEnabled(row >= 0 && row + 1 < m_prompts.size());
    m_add->setEnabled(m_prompts.size() < 64);
}

void PromptListEditor::addPrompt()
{
    QStringList p = m_prompts;
    p << QString();
    setPrompts(p);
    setCurrentIndex(int(p.size()) - 1);
    m_editor->setFocus();
}

void PromptListEditor::removePrompt()
{
    const int row = currentIndex();
    if (row < 0 || m_prompts.size() <= 1)
        return;
    QStringList p = m_prompts;
    p.removeAt(row);
    setPrompts(p);
    setCurrentIndex(std::min(row, int(p.size()) - 1));
}

void PromptListEditor::duplicatePrompt()
{
    const int row = currentIndex();
    if (row < 0)
        return;
    QStringList p = m_prompts;
    p.insert(row + 1, p[row]);
    setPrompts(p);
    setCurrentIndex(row + 1);
}

void PromptListEditor::moveUp()
{
    const int row = currentIndex();
    if (row <= 0)
        return;
    QStringList p = m_prompts;
    p.swapItemsAt(row, row - 1);
    setPrompts(p);
    setCurrentIndex(row - 1);
}

void PromptListEditor::moveDown()
{
    const int row = currentIndex();
    if (row < 0 || row + 1 >= m_prompts.size())
        return;
    QStringList p = m_prompts;
    p.swapItemsAt(row, row + 1);
    setPrompts(p);
    setCurrentIndex(row + 1);
}

} // namespace ui
