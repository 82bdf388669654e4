// The window's side of session files (the format is session/sessionfile.h, without Qt): what the window shows, in
// and out of session records, and failures as messages for the user.
#pragma once

#include "session/sessionfile.h"
#include "ui/runcontroller.h"

#include <QCoreApplication>
#include <QString>
#include <QVector>

namespace ui {

class SessionFile {
    Q_DECLARE_TR_FUNCTIONS(SessionFile)

public:
    // Both return "" on success, else a message for the user; `session` is left as it was when reading fails.
    static QString write(const QString& path, const session::Session& session);
    static QString read(const QString& path, session::Session& session);

    // A finished run as the window saw it.
    static session::RunRecord record(const RunSettings& settings, const RunSummary& summary,
        const QVector<TokenPiece>& pieces, std::vector<engine::TraceEvent> trace);
    static RunSummary summary(const session::RunRecord& run);
    static QVector<TokenPiece> pieces(const session::RunRecord& run);
    static QStringList prompts(const session::RunRecord& run);
};

} // namespace ui
