#include "ui/promptlibrarydialog.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace ui {

PromptLibraryDialog::PromptLibraryDialog(
    PromptLibrary& library, std::function<engine::RunRequest()> current, QWidget* parent)
    : QDialog(parent)
    , m_library(library)
    , m_current(std::move(current))
    , m_list(new QListWidget(this))
    , m_preview(new QLabel(this))
    , m_name(new QLineEdit(this))
    , m_load(new QPushButton(tr("Load"), this))
    , m_delete(new QPushButton(tr("Delete"), this))
    , m_status(new QLabel(this))
{
    setWindowTitle(tr("Prompt library"));
    auto* layout = new QVBoxLayout(this);
    auto* where = new QLabel(
        tr("Saved prompts (their text, system prompt and settings), kept in %1").arg(m_library.path().toHtmlEscaped()),
        this);
    where->setWordWrap(true);
    layout->addWidget(where);
    auto* middle = new QHBoxLayout;
    middle->addWidget(m_list, 1);
    m_preview->setWordWrap(true);
    m_preview->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_preview->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_preview->setMinimumWidth(260);
    middle->addWidget(m_preview, 1);
    layout->addLayout(middle, 1);
    auto* saveRow = new QHBoxLayout;
    m_name->setPlaceholderText(tr("name for the current prompts and settings"));
    auto* save = new QPushButton(tr("Save current"), this);
    saveRow->addWidget(m_name, 1);
    saveRow->addWidget(save);
    layout->addLayout(saveRow);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_load, QDialogButtonBox::ActionRole);
    buttons->addButton(m_delete, QDialogButtonBox::ActionRole);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    m_status->setWordWrap(true);

    connect(save, &QPushButton::clicked, this, &PromptLibraryDialog::saveCurrent);
    connect(m_name, &QLineEdit::returnPressed, this, &PromptLibraryDialog::saveCurrent);
    connect(m_load, &QPushButton::clicked, this, &PromptLibraryDialog::loadSelected);
    connect(m_delete, &QPushButton::clicked, this, &PromptLibraryDialog::deleteSelected);
    connect(m_list, &QListWidget::itemDoubleClicked, this, &PromptLibraryDialog::loadSelected);
    connect(m_list, &QListWidget::currentRowChanged, this, &PromptLibraryDialog::showSelected);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    resize(640, 400);
    refresh();
}

void PromptLibraryDialog::setName(const QString& name) { m_name->setText(name); }

void PromptLibraryDialog::refresh(const QString& select)
{
    m_list->clear();
    for (const SavedPrompt& p : m_library.entries())
        m_list->addItem(p.name);
    const auto found = m_list->findItems(select, Qt::MatchExactly);
    if (!found.isEmpty())
        m_list->setCurrentItem(found.front());
    else if (m_list->count() > 0)
        m_list->setCurrentRow(0);
    showSelected();
}

void PromptLibraryDialog::showSelected()
{
    const auto* item = m_list->currentItem();
    const auto saved = item ? m_library.find(item->text()) : std::nullopt;
    m_load->setEnabled(saved.has_value());
    m_delete->setEnabled(saved.has_value());
    if (!saved) {
        m_preview->setText(tr("Nothing saved yet: name the current prompts and press Save current."));
        return;
    }
    const engine::RunRequest& r = saved->settings;
    QStringList lines;
    for (const std::string& p : r.prompts)
        lines << QStringLiteral("• ") + QString::fromStdString(p).toHtmlEscaped();
    if (!r.systemPrompt.empty())
        lines << tr("<i>system:</i> %1").arg(QString::fromStdString(r.systemPrompt).toHtmlEscaped());
    lines << tr("<i>temperature %1 · top-k %2 · top-p %3 · min-p %4 · seed %5 · %6 tokens · %7 threads</i>")
                 .arg(r.sampling.temperature)
                 .arg(r.sampling.topK)
                 .arg(r.sampling.topP)
                 .arg(r.sampling.minP)
                 .arg(r.sampling.seed)
                 .arg(r.maxTokens)
                 .arg(r.scheduler.threads);
    m_preview->setText(lines.join(QStringLiteral("<br>")));
}

void PromptLibraryDialog::report(const QString& error) { m_status->setText(error); }

void PromptLibraryDialog::saveCurrent()
{
    const QString name = m_name->text().trimmed();
    if (name.isEmpty()) {
        report(tr("Give the prompt a name first."));
        return;
    }
    m_library.put({ name, m_current() });
    const QString error = m_library.save();
    report(error.isEmpty() ? tr("Saved \"%1\".").arg(name) : error);
    refresh(name);
}

void PromptLibraryDialog::loadSelected()
{
    const auto* item = m_list->currentItem();
    if (const auto saved = item ? m_library.find(item->text()) : std::nullopt) {
        Q_EMIT loadRequested(*saved);
        report(tr("Loaded \"%1\".").arg(saved->name));
    }
}

void PromptLibraryDialog::deleteSelected()
{
    const auto* item = m_list->currentItem();
    if (!item)
        return;
    const QString name = item->text();
    m_library.remove(name);
    const QString error = m_library.save();
    report(error.isEmpty() ? tr("Deleted \"%1\".").arg(name) : error);
    refresh();
}

} // namespace ui
