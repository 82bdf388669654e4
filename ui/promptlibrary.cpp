#include "ui/promptlibrary.h"

#include "engine/run/runsettings.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QStandardPaths>

#include <algorithm>

namespace ui {

PromptLibrary::PromptLibrary(QString path)
    : m_path(std::move(path))
{
}

QString PromptLibrary::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/prompt-library.json");
}

QString PromptLibrary::load()
{
    m_entries.clear();
    QFile file(m_path);
    if (!file.exists())
        return {};
    if (!file.open(QIODevice::ReadOnly))
        return QObject::tr("cannot read the prompt library %1: %2").arg(m_path, file.errorString());
    const QByteArray bytes = file.readAll();
    try {
        const nlohmann::json json = nlohmann::json::parse(bytes.constData(), bytes.constData() + bytes.size());
        if (!json.is_object() || !json.contains("prompts") || !json["prompts"].is_array())
            throw std::invalid_argument("no \"prompts\" list");
        QVector<SavedPrompt> entries;
        for (const nlohmann::json& item : json["prompts"]) {
            if (!item.is_object() || !item.contains("name") || !item["name"].is_string())
                throw std::invalid_argument("an entry without a name");
            SavedPrompt p;
            p.name = QString::fromStdString(item["name"].get<std::string>());
            p.settings = engine::runRequestFromJson(item.value("settings", nlohmann::json::object()));
            entries.append(std::move(p));
        }
        m_entries = std::move(entries);
    } catch (const std::exception& e) {
        return QObject::tr("the prompt library %1 is not valid: %2").arg(m_path, QString::fromUtf8(e.what()));
    }
    return {};
}

QString PromptLibrary::save() const
{
    nlohmann::json prompts = nlohmann::json::array();
    for (const SavedPrompt& p : m_entries)
        prompts.push_back({ { "name", p.name.toStdString() }, { "settings", engine::toJson(p.settings) } });
    const nlohmann::json json { { "version", 1 }, { "prompts", prompts } };
    QDir().mkpath(QFileInfo(m_path).absolutePath());
    QSaveFile file(m_path);
    const std::string text = json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (!file.open(QIODevice::WriteOnly) || file.write(text.data(), qint64(text.size())) != qint64(text.size())
        || !file.commit())
        return QObject::tr("cannot write the prompt library %1: %2").arg(m_path, file.errorString());
    return {};
}

std::optional<SavedPrompt> PromptLibrary::find(const QString& name) const
{
    for (const SavedPrompt& p : m_entries)
        if (p.name == name)
            return p;
    return std::nullopt;
}

void PromptLibrary::put(const SavedPrompt& prompt)
{
    remove(prompt.name);
    const auto at = std::lower_bound(m_entries.begin(), m_entries.end(), prompt,
        [](const SavedPrompt& a, const SavedPrompt& b) { return a.name.localeAwareCompare(b.name) < 0; });
    m_entries.insert(at, prompt);
}

bool PromptLibrary::remove(const QString& name)
{
    const auto it
        = std::find_if(m_entries.begin(), m_entries.end(), [&](const SavedPrompt& p) { return p.name == name; });
    if (it == m_entries.end())
        return false;
    m_entries.erase(it);
    return true;
}

} // namespace ui
