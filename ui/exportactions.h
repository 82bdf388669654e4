// File > Export and Save screenshot: ask for a file name, write, report. One place for every export.
#pragma once

#include "engine/measure/sweep.h"
#include "engine/measure/traceexport.h"
#include "session/htmlreport.h"
#include "session/session.h"

#include <QCoreApplication>
#include <QString>

#include <vector>

class QWidget;

namespace ui {

// Each action asks for a path with a dialog over `parent` and tells the user about failures itself.
// The return value is the status line to show ("" when cancelled, failed or there was nothing to do).
class ExportActions {
    Q_DECLARE_TR_FUNCTIONS(ExportActions)

public:
    static QString exportTrace(
        QWidget* parent, const std::vector<engine::TraceEvent>& trace, const engine::TraceMeta& meta);
    static QString exportSweep(QWidget* parent, const engine::SweepResult* sweep);
    static void saveScreenshot(QWidget* window);
    // The whole window as a PNG, without a dialog (the demo's --screenshot).
    static bool saveWindowImage(QWidget* window, const QString& path);
    // A view (the timeline, the speedup chart) as PNG, or as SVG (vector, for slides) when the name ends in .svg.
    static QString exportImage(QWidget* parent, QWidget* view, const QString& baseName);
    static bool writeImage(QWidget* view, const QString& path);
    // A one-page HTML report (session/htmlreport.h) of what `options` picks from the session: a run, a sweep, or a
    // comparison of two; `baseName` is the suggested file name, without ".html".
    static QString exportReport(QWidget* parent, const session::Session& session,
        const session::HtmlReport::Options& options, const QString& baseName);
};

} // namespace ui
