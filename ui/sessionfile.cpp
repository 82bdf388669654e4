#include "ui/sessionfile.h"

#include "engine/run/runsettings.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace ui {

namespace {

const QString kFormat = QStringLiteral("llm-playground-session-1");

QJsonObject toQt(const nlohmann::json& json)
{
    return QJsonDocument::fromJson(QByteArray::fromStdString(json.dump())).object();
}

nlohmann::json fromQt(const QJsonObject& object)
{
    return nlohmann::json::parse(QJsonDocument(object).toJson(QJsonDocument::Compact).toStdString());
}

} // namespace

QString SessionFile::write(const QString& path, const Session& session)
{
    QJsonObject o = toQt(engine::toJson(session.settings));
    o[QStringLiteral("format")] = kFormat;
    o[QStringLiteral("model")] = session.model;
    QJsonArray outputs;
    for (qsizetype i = 0; i < session.outputTexts.size(); ++i)
        outputs.append(QJsonObject { { QStringLiteral("text"), session.outputTexts[i] },
            { QStringLiteral("stats"), session.outputStats.value(i) } });
    o[QStringLiteral("outputs")] = outputs;
    if (!session.sweep.is_null())
        o[QStringLiteral("sweep")] = toQt(session.sweep);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(o).toJson()) < 0)
        return tr("Could not write %1.").arg(path);
    return {};
}

QString SessionFile::read(const QString& path, Session& session)
{
    QFile f(path);
    QJsonParseError error;
    const QJsonDocument doc
        = f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll(), &error) : QJsonDocument();
    const QJsonObject o = doc.object();
    if (o.value(QStringLiteral("format")).toString() != kFormat)
        return tr("%1 is not a playground session.").arg(path);
    try {
        session.settings = engine::runRequestFromJson(fromQt(o));
    } catch (const std::exception& e) {
        return tr("%1: %2").arg(path, QString::fromUtf8(e.what()));
    }
    // A session without "chat" has always opened with it on, the window's default.
    if (!o.contains(QStringLiteral("chat")))
        session.settings.chat = true;
    session.model = o.value(QStringLiteral("model")).toString();
    session.outputTexts.clear();
    session.outputStats.clear();
    for (const auto& v : o.value(QStringLiteral("outputs")).toArray()) {
        session.outputTexts << v.toObject().value(QStringLiteral("text")).toString();
        session.outputStats << v.toObject().value(QStringLiteral("stats")).toString();
    }
    return {};
}

} // namespace ui
