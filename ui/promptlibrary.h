// The prompt library: named prompts (their text, system prompt and run settings) kept across sessions in one JSON
// file under the app's data directory.
#pragma once

#include "engine/run/run.h"

#include <QMetaType>
#include <QString>
#include <QVector>

#include <optional>

namespace ui {

struct SavedPrompt {
    QString name;
    // The prompts, the system prompt and every setting, in the engine's one JSON form (engine::toJson).
    engine::RunRequest settings;
};

// File layout: { "version": 1, "prompts": [ { "name": ..., "settings": toJson(RunRequest) } ] }.
class PromptLibrary {
public:
    explicit PromptLibrary(QString path = defaultPath());
    // <AppDataLocation>/prompt-library.json.
    static QString defaultPath();
    QString path() const { return m_path; }

    // Reads the file (a missing file is an empty library). Returns an error message for an unreadable or malformed
    // file and leaves the library empty then; the file is not touched until the next save.
    QString load();
    // Writes the file (creating its directory); returns an error message, or empty on success.
    QString save() const;

    const QVector<SavedPrompt>& entries() const { return m_entries; }
    std::optional<SavedPrompt> find(const QString& name) const;
    // Adds, or replaces the entry of the same name (kept in name order).
    void put(const SavedPrompt& prompt);
    bool remove(const QString& name);

private:
    QString m_path;
    QVector<SavedPrompt> m_entries;
};

} // namespace ui

Q_DECLARE_METATYPE(ui::SavedPrompt)
