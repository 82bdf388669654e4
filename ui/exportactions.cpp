#include "ui/exportactions.h"

#include "engine/measure/sweepexport.h"
#include "session/htmlreport.h"

#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QPainter>
#include <QPixmap>
#include <QSvgGenerator>
#include <QWidget>

namespace ui {

QString ExportActions::exportTrace(
    QWidget* parent, const std::vector<engine::TraceEvent>& trace, const engine::TraceMeta& meta)
{
    if (trace.empty()) {
        QMessageBox::information(parent, tr("No trace yet"),
            tr("Run something first: the trace of the last run is "
               "exported."));
        return {};
    }
    const QString path = QFileDialog::getSaveFileName(
        parent, tr("Export trace"), QStringLiteral("trace.json"), tr("Chrome trace (*.json)"));
    if (path.isEmpty())
        return {};
    try {
        engine::writeChromeTrace(path.toStdString(), trace, meta);
        return tr("trace saved: %1").arg(QFileInfo(path).fileName());
    } catch (const std::exception& e) {
        QMessageBox::warning(parent, tr("Cannot save the trace"), QString::fromUtf8(e.what()));
        return {};
    }
}

QString ExportActions::exportSweep(QWidget* parent, const engine::SweepResult* sweep)
{
    if (!sweep) {
        QMessageBox::information(parent, tr("No sweep yet"), tr("Run a sweep first."));
        return {};
    }
    QString filter;
    const QString path = QFileDialog::getSaveFileName(
        parent, tr("Export sweep"), QStringLiteral("sweep.json"), tr("JSON (*.json);;CSV (*.csv)"), &filter);
    if (path.isEmpty())
        return {};
    const bool csv
        = path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive) || filter.startsWith(QLatin1String("CSV"));
    const std::string content = csv ? engine::sweepToCsv(*sweep) : engine::sweepToJson(*sweep).dump(2);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(content.data(), qint64(content.size())) != qint64(content.size())) {
        QMessageBox::warning(parent, tr("Cannot save the sweep"), tr("Could not write %1.").arg(path));
        return {};
    }
    return tr("sweep saved: %1").arg(QFileInfo(path).fileName());
}

void ExportActions::saveScreenshot(QWidget* window)
{
    const QString path = QFileDialog::getSaveFileName(
        window, tr("Save screenshot"), QStringLiteral("playground.png"), tr("PNG image (*.png)"));
    if (path.isEmpty())
        return;
    if (!saveWindowImage(window, path))
        QMessageBox::warning(window, tr("Cannot save the screenshot"), tr("Could not write %1.").arg(path));
}

bool ExportActions::saveWindowImage(QWidget* window, const QString& path) { return window->grab().save(path, "PNG"); }

bool ExportActions::writeImage(QWidget* view, const QString& path)
{
    if (!path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive))
        return view->grab().save(path, "PNG");
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(view->size());
    svg.setViewBox(QRect(QPoint(0, 0), view->size()));
    svg.setTitle(view->windowTitle().isEmpty() ? QStringLiteral("LLM Thread Playground") : view->windowTitle());
    QPainter painter;
    if (!painter.begin(&svg))
        return false;
    view->render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
    return painter.end() && QFileInfo(path).size() > 0;
}

QString ExportActions::exportImage(QWidget* parent, QWidget* view, const QString& baseName)
{
    QString filter;
    const QString path = QFileDialog::getSaveFileName(parent, tr("Export image"), baseName + QStringLiteral(".png"),
        tr("PNG image (*.png);;SVG vector image (*.svg)"), &filter);
    if (path.isEmpty())
        return {};
    QString target = path;
    if (filter.startsWith(QLatin1String("SVG")) && !target.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive))
        target += QStringLiteral(".svg");
    if (!writeImage(view, target)) {
        QMessageBox::warning(parent, tr("Cannot save the image"), tr("Could not write %1.").arg(target));
        return {};
    }
    return tr("image saved: %1").arg(QFileInfo(target).fileName());
}

QString ExportActions::exportReport(QWidget* parent, const session::Session& session,
    const session::HtmlReport::Options& options, const QString& baseName)
{
    if (session.runs.empty() && session.sweeps.empty()) {
        QMessageBox::information(parent, tr("Nothing to report"), tr("Run something or sweep first."));
        return {};
    }
    const QString path = QFileDialog::getSaveFileName(
        parent, tr("Export report"), baseName + QStringLiteral(".html"), tr("HTML page (*.html)"));
    if (path.isEmpty())
        return {};
    try {
        session::HtmlReport::write(path.toStdString(), session, options);
    } catch (const std::exception& e) {
        QMessageBox::warning(parent, tr("Cannot save the report"), QString::fromUtf8(e.what()));
        return {};
    }
    return tr("report saved: %1").arg(QFileInfo(path).fileName());
}

} // namespace ui
