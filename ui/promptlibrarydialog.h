// The prompt library's window: the saved prompts, and Save current / Load / Delete.
#pragma once

#include "ui/promptlibrary.h"

#include <QDialog>

#include <functional>

class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;

namespace ui {

class PromptLibraryDialog : public QDialog {
    Q_OBJECT

public:
    // `current` gives the window's prompts, system prompt and settings when Save current is pressed.
    PromptLibraryDialog(PromptLibrary& library, std::function<engine::RunRequest()> current, QWidget* parent = nullptr);

    QListWidget* list() const { return m_list; }
    void setName(const QString& name);
    void saveCurrent();
    void loadSelected();
    void deleteSelected();

Q_SIGNALS:
    void loadRequested(const ui::SavedPrompt& prompt);

private:
    void refresh(const QString& select = {});
    void showSelected();
    void report(const QString& error);

    PromptLibrary& m_library;
    std::function<engine::RunRequest()> m_current;
    QListWidget* m_list;
    QLabel* m_preview;
    QLineEdit* m_name;
    QPushButton* m_load;
    QPushButton* m_delete;
    QLabel* m_status;
};

} // namespace ui
