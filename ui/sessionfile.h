// A saved session: the model, the run settings, the outputs and the last sweep, as one JSON file.
#pragma once

#include "engine/run/run.h"

#include <nlohmann/json.hpp>

#include <QCoreApplication>
#include <QString>
#include <QStringList>

namespace ui {

// Format "llm-playground-session-1": a flat object holding the run settings in the engine's codec
// (engine/run/runsettings.h) next to "format", "model", "outputs" and "sweep".
struct Session {
    QString model; // path or "synthetic:<shape>"
    engine::RunRequest settings;
    QStringList outputTexts; // one per output pane, as shown
    QStringList outputStats; // written for readers of the file; opening shows only the texts
    nlohmann::json sweep; // sweepToJson of the last sweep, or null; written, not read back
};

class SessionFile {
    Q_DECLARE_TR_FUNCTIONS(SessionFile)

public:
    // Both return "" on success, else a message for the user.
    static QString write(const QString& path, const Session& session);
    static QString read(const QString& path, Session& session);
};

} // namespace ui
