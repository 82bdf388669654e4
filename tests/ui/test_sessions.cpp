// The window's sessions: runs and sweeps go to the history; a saved session opens in a fresh window with the same
// outputs, timeline, figures, analysis and sweep; refused files change nothing; a session whose model is gone is
// read-only; two runs compare side by side; the HTML report is self-contained; views export as PNG and SVG.
#include "session/htmlreport.h"
#include "session/sessionfile.h"
#include "testsupport.h"
#include "ui/compareview.h"
#include "ui/dialoganswerer.h"
#include "ui/exportactions.h"
#include "ui/historypanel.h"
#include "ui/mainwindow.h"
#include "ui/outputview.h"
#include "ui/promptlisteditor.h"
#include "ui/sessionfile.h"
#include "ui/speedupchart.h"
#include "ui/statstable.h"
#include "ui/timelineview.h"

#include "engine/model/synthetic.h"

#include <QApplication>
#include <QComboBox>
#include <QFile>
#include <QImage>
#include <QMenu>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <tuple>

using namespace ui;

namespace {

bool loadSynthetic(MainWindow& w, const QString& shape)
{
    QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
    w.controller()->loadSynthetic(shape);
    return loaded.wait(60000);
}

// Runs the current settings and waits for the run and its analysis.
bool runOnce(MainWindow& w, int threads, int maxTokens)
{
    RunSettings s = w.currentSettings();
    s.prompts = { "Once upon a time", "The cat sat" };
    s.maxTokens = maxTokens;
    s.scheduler.threads = threads;
    s.sampling.temperature = 0;
    w.applySettings(s);
    QSignalSpy report(w.controller(), &RunController::reportReady);
    w.run();
    return report.wait(60000);
}

// Tags that open and close (not void ones) nest properly: the page parses as one tree.
bool balanced(const QString& html, QString* problem)
{
    static const QRegularExpression tag(QStringLiteral("<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>"));
    static const QStringList voids { QStringLiteral("meta"), QStringLiteral("br"), QStringLiteral("hr"),
        QStringLiteral("img"), QStringLiteral("link"), QStringLiteral("circle"), QStringLiteral("rect"),
        QStringLiteral("line"), QStringLiteral("polyline") };
    QStringList stack;
    auto it = tag.globalMatch(html);
    while (it.hasNext()) {
        const auto m = it.next();
        const QString name = m.captured(2).toLower();
        if (m.captured(3) == QLatin1String("/") || (voids.contains(name) && m.captured(1).isEmpty()))
            continue;
        if (m.captured(1).isEmpty()) {
            stack << name;
        } else if (stack.isEmpty() || stack.takeLast() != name) {
            *problem = QStringLiteral("unexpected </%1>").arg(name);
            return false;
        }
    }
    *problem = stack.join(QLatin1Char(','));
    return stack.isEmpty();
}

QString readText(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

// "" when the page is one self-contained file whose tags nest, else what is wrong.
QString selfContainedProblem(const QString& page)
{
    if (!page.startsWith(QLatin1String("<!DOCTYPE html>")))
        return QStringLiteral("not an HTML page");
    for (const char* external : { "http:", "https:", "src=", "href=", "<script", "url(", "@import", "<link" })
        if (page.contains(QLatin1String(external), Qt::CaseInsensitive))
            return QStringLiteral("external reference: ") + QLatin1String(external);
    QString problem;
    return balanced(page, &problem) ? QString() : problem;
}

// The page's text as a reader sees it: tags removed, entities decoded.
QString visibleText(const QString& html)
{
    static const QRegularExpression tag(QStringLiteral("<[^>]*>"));
    QString text = html;
    text.remove(tag);
    text.replace(QLatin1String("&lt;"), QLatin1String("<"));
    text.replace(QLatin1String("&gt;"), QLatin1String(">"));
    text.replace(QLatin1String("&quot;"), QLatin1String("\""));
    text.replace(QLatin1String("&amp;"), QLatin1String("&"));
    return text;
}

// The cells of the table row whose first cell is `name`.
QString tableRow(const QString& html, const QString& name)
{
    const QRegularExpression row(QStringLiteral("<tr><td>%1</td>(.*?)</tr>").arg(QRegularExpression::escape(name)));
    return row.match(html).captured(1);
}

// The page's inline SVG figures of a class ("timeline", "speedup").
QStringList svgs(const QString& html, const QString& cls)
{
    const QRegularExpression svg(QStringLiteral("<svg class=\"%1\" .*?</svg>").arg(cls));
    QStringList out;
    auto it = svg.globalMatch(html);
    while (it.hasNext())
        out << it.next().captured();
    return out;
}

// The figure renders (QSvgRenderer, as a browser would) and draws in colour: worker bars, chart lines.
bool drawsSomething(const QString& svg)
{
    QSvgRenderer renderer(svg.toUtf8());
    if (!renderer.isValid() || renderer.defaultSize().isEmpty())
        return false;
    QImage image(renderer.defaultSize(), QImage::Format_ARGB32);
    image.fill(Qt::white);
    QPainter painter(&image);
    renderer.render(&painter);
    painter.end();
    int coloured = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            coloured += QColor(image.pixel(x, y)).hsvSaturation() > 80;
    return coloured > 50;
}

} // namespace

class TestSessions : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
        QCoreApplication::setOrganizationName(QStringLiteral("playground-test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_sessions"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.path());
        testsupport::writeFakeRooflineCache(m_dir.filePath(QStringLiteral("cache")));
        qputenv("XDG_CACHE_HOME", m_dir.filePath(QStringLiteral("cache")).toLocal8Bit());
    }

    void init() { QSettings().clear(); }

    void historySaveOpenCompareAndReport()
    {
        MainWindow w;
        w.resize(1366, 768);
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        QVERIFY(runOnce(w, 1, 5));
        const QString firstOutput = w.output()->text(0); // the prompt, then what was generated
        QVERIFY(firstOutput.endsWith(QString::fromStdString(w.runs()[0].sequences[0].text)));
        QVERIFY(runOnce(w, 2, 7));
        QCOMPARE(w.runs().size(), size_t(2));
        QCOMPARE(w.history()->rowCount(), 2);
        QVERIFY(w.runs()[1].report.has_value()); // the analysis joined its run's record
        QVERIFY(!w.runs()[1].trace.empty());
        const QString secondOutput = w.output()->text(0);

        // Showing the first run again brings its output, timeline lanes and figures back.
        w.showRun(0);
        QCOMPARE(w.output()->text(0), firstOutput);
        QCOMPARE(w.timeline()->laneCount(), 1);
        w.history()->selectRun(1);
        QCOMPARE(w.output()->text(0), secondOutput);
        QCOMPARE(w.timeline()->laneCount(), 2);

        // A sweep (built here, quickly, rather than through the dialog) joins the history.
        engine::SweepRequest sweep;
        sweep.workload = w.currentSettings();
        sweep.workload.trace = false;
        sweep.workload.maxTokens = 2;
        sweep.threads = { 1, 2 };
        sweep.repeat = 1;
        sweep.warmup = 0;
        QSignalSpy swept(w.controller(), &RunController::sweepFinished);
        w.controller()->startSweep(sweep);
        QVERIFY(swept.wait(60000));
        QTRY_COMPARE(w.sweeps().size(), size_t(1));
        QCOMPARE(w.history()->rowCount(), 3);

        // Save, open in a fresh window: the same runs, outputs, timeline, analysis and sweep.
        const QString path = m_dir.filePath(QStringLiteral("s.json"));
        QVERIFY(SessionFile::write(path, w.currentSession()).isEmpty());
        MainWindow v;
        v.resize(1366, 768);
        QVERIFY(loadSynthetic(v, QStringLiteral("tiny")));
        QVERIFY(v.openSessionFile(path, true).isEmpty());
        QVERIFY(!v.isReadOnly()); // the synthetic model is always here
        QCOMPARE(v.runs().size(), size_t(2));
        QCOMPARE(v.history()->rowCount(), 3);
        QCOMPARE(v.output()->text(0), secondOutput); // the latest run is shown
        QCOMPARE(v.timeline()->laneCount(), 2);
        QVERIFY(v.speedupChart()->hasSweep());
        QCOMPARE(v.speedupChart()->measuredPoints(QStringLiteral("intra-op")),
            w.speedupChart()->measuredPoints(QStringLiteral("intra-op")));
        QVERIFY(v.runs()[1].report.has_value());
        QCOMPARE(engine::toJson(*v.runs()[1].report), engine::toJson(*w.runs()[1].report));
        ExportActions::saveWindowImage(&v, QStringLiteral("/tmp/S-opened-session.png"));

        // A damaged file is refused and changes nothing.
        const QString bad = m_dir.filePath(QStringLiteral("bad.json"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QFile(path).open(QIODevice::ReadOnly)
                ? QByteArray("{\"format\":\"llm-playground-session\",\"version\":99}")
                : QByteArray());
        f.close();
        const QString error = v.openSessionFile(bad, true);
        QVERIFY2(error.contains(QStringLiteral("newer version")), qPrintable(error));
        QCOMPARE(v.runs().size(), size_t(2));
        QCOMPARE(v.output()->text(0), secondOutput);

        // Compare the two runs: threads and max tokens differ; both timelines share one time scale.
        auto* view = qobject_cast<CompareView*>(w.compareRuns(0, 1));
        QVERIFY(view);
        QVERIFY(view->differingSettings().contains(QStringLiteral("threads")));
        QVERIFY(view->differingSettings().contains(QStringLiteral("max_tokens")));
        QVERIFY(!view->differingSettings().contains(QStringLiteral("temperature")));
        QCOMPARE(view->timeline(0)->laneCount(), 2);
        QCOMPARE(view->metrics()->item(0, 3)->text(),
            QStringLiteral("%1×").arg(w.runs()[1].metrics.wallMs / w.runs()[0].metrics.wallMs, 0, 'f', 2));
        view->resize(1366, 768);
        QVERIFY(QTest::qWaitForWindowExposed(view));
        QVERIFY(view->grab().save(QStringLiteral("/tmp/S-compare.png")));
        view->close();

        // The report: self-contained, balanced, with the timeline and the chart.
        const std::string html = session::HtmlReport::render(w.currentSession(), { 1, 0, 0 });
        const QString page = QString::fromStdString(html);
        QVERIFY(page.contains(QStringLiteral("<svg class=\"timeline\"")));
        QVERIFY(page.contains(QStringLiteral("<svg class=\"speedup\"")));
        for (const char* external : { "http:", "https:", "src=", "href=", "<script", "url(", "@import", "<link" })
            QVERIFY2(!page.contains(QLatin1String(external), Qt::CaseInsensitive), external);
        QString problem;
        QVERIFY2(balanced(page, &problem), qPrintable(problem));
        QFile out(QStringLiteral("/tmp/S-report.html"));
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(QByteArray::fromStdString(html));

        // Images: PNG and SVG (vector) of the timeline.
        const QString png = m_dir.filePath(QStringLiteral("t.png")), svg = m_dir.filePath(QStringLiteral("t.svg"));
        QVERIFY(ExportActions::writeImage(w.timeline(), png));
        QVERIFY(!QImage(png).isNull());
        QVERIFY(ExportActions::writeImage(w.speedupChart(), svg));
        QFile s(svg);
        QVERIFY(s.open(QIODevice::ReadOnly));
        const QByteArray svgText = s.readAll();
        QVERIFY(svgText.contains("<svg"));
        QVERIFY(svgText.contains("<path") || svgText.contains("<polyline"));

        // The comparison as a report, from the comparison window's button: what the view compares, on one page.
        auto* compare = qobject_cast<CompareView*>(w.compareRuns(0, 1));
        QVERIFY(compare);
        QCOMPARE(w.reportSubject(w.reportOptions()), QStringLiteral("the comparison of run 1 and run 2"));
        const QString comparePath = m_dir.filePath(QStringLiteral("compare.html"));
        {
            testsupport::DialogAnswerer answer(comparePath);
            QTest::mouseClick(compare->exportButton(), Qt::LeftButton);
        }
        const QString comparison = readText(comparePath);
        QVERIFY(comparison.contains(QStringLiteral("comparison of two runs")));
        QVERIFY2(selfContainedProblem(comparison).isEmpty(), qPrintable(selfContainedProblem(comparison)));
        const QString text = visibleText(comparison);
        for (const auto& run : w.runs())
            for (size_t i = 0; i < run.sequences.size(); ++i) // both outputs, whole, each in its column
                QVERIFY2(text.contains(QString::fromStdString(run.settings.prompts[i] + run.sequences[i].text)),
                    run.sequences[i].text.c_str());
        QVERIFY(comparison.contains(QStringLiteral("<mark>threads</mark>")));
        QVERIFY(comparison.contains(QStringLiteral("<mark>max tokens</mark>")));
        QVERIFY(!comparison.contains(QStringLiteral("<mark>temperature</mark>")));
        const auto& ma = w.runs()[0].metrics;
        const auto& mb = w.runs()[1].metrics;
        for (const auto& [name, a, b] : { std::tuple("wall time, ms", ma.wallMs, mb.wallMs),
                 std::tuple("decode tok/s", ma.decodeTokensPerSecond, mb.decodeTokensPerSecond),
                 std::tuple("generated tokens", double(ma.generatedTokens), double(mb.generatedTokens)) }) {
            const QString row = tableRow(comparison, QString::fromUtf8(name));
            QVERIFY2(row.endsWith(QStringLiteral("<td>%1×</td>").arg(b / a, 0, 'f', 2)), qPrintable(row));
        }
        // Both timelines, drawn on one time scale: the longer run's wall time ends both axes.
        const QStringList timelines = svgs(comparison, QStringLiteral("timeline"));
        QCOMPARE(timelines.size(), 2);
        const QString end = QStringLiteral(">%1 ms</text>").arg(std::max(ma.wallNs, mb.wallNs) / 1e6, 0, 'f', 1);
        for (const QString& svg : timelines) {
            QVERIFY2(svg.contains(end), qPrintable(end));
            QVERIFY(drawsSomething(svg));
        }
        compare->close();
        QCoreApplication::processEvents();

        // File ▸ Export report: with no comparison open, the run shown (and the sweep shown).
        w.showRun(0);
        QCOMPARE(w.reportOptions().run, 0);
        QCOMPARE(w.reportOptions().compareWith, -1);
        QCOMPARE(w.reportSubject(w.reportOptions()), QStringLiteral("run 1 and sweep 1"));
        QAction* exportReport = nullptr;
        for (QAction* a : w.findChildren<QAction*>())
            if (a->text().startsWith(QStringLiteral("Export &report")))
                exportReport = a;
        QVERIFY(exportReport);
        const QString runPath = m_dir.filePath(QStringLiteral("run.html"));
        {
            testsupport::DialogAnswerer answer(runPath);
            exportReport->trigger();
        }
        const QString runPage = readText(runPath);
        QVERIFY2(selfContainedProblem(runPage).isEmpty(), qPrintable(selfContainedProblem(runPage)));
        QVERIFY(visibleText(runPage).contains(QString::fromStdString(w.runs()[0].sequences[0].text)));
        QCOMPARE(svgs(runPage, QStringLiteral("timeline")).size(), 1);
        QCOMPARE(svgs(runPage, QStringLiteral("speedup")).size(), 1);

        // Two sweeps on one chart: each strategy named after its sweep.
        QSignalSpy sweptAgain(w.controller(), &RunController::sweepFinished);
        w.controller()->startSweep(sweep);
        QVERIFY(sweptAgain.wait(60000));
        QTRY_COMPARE(w.sweeps().size(), size_t(2));
        auto* sweeps = qobject_cast<CompareView*>(w.compareSweeps(0, 1));
        QVERIFY(sweeps);
        QCOMPARE(w.reportSubject(w.reportOptions()), QStringLiteral("the comparison of sweep 1 and sweep 2"));
        const QString sweepsPath = m_dir.filePath(QStringLiteral("sweeps.html"));
        {
            testsupport::DialogAnswerer answer(sweepsPath);
            QTest::mouseClick(sweeps->exportButton(), Qt::LeftButton);
        }
        const QString sweepPage = readText(sweepsPath);
        QVERIFY2(selfContainedProblem(sweepPage).isEmpty(), qPrintable(selfContainedProblem(sweepPage)));
        QVERIFY(sweepPage.contains(QStringLiteral("comparison of two sweeps")));
        const QStringList charts = svgs(sweepPage, QStringLiteral("speedup"));
        QCOMPARE(charts.size(), 1);
        QVERIFY(charts[0].contains(QStringLiteral("sweep 1 · intra-op")));
        QVERIFY(charts[0].contains(QStringLiteral("sweep 2 · intra-op")));
        QVERIFY(drawsSomething(charts[0]));
        QVERIFY(svgs(sweepPage, QStringLiteral("timeline")).isEmpty()); // a sweep comparison holds no run
        sweeps->close();
    }

    void missingModelMakesTheSessionReadOnly()
    {
        session::Session s;
        s.model.path = m_dir.filePath(QStringLiteral("gone.gguf")).toStdString();
        s.model.size = 1234;
        s.settings.prompts = { "kept prompt" };
        session::RunRecord r;
        r.settings = s.settings;
        r.sequences.resize(1);
        r.sequences[0].text = "kept output";
        r.tokens = { { 0, 5, 3, "kept output" } };
        r.metrics.wallMs = 12;
        r.metrics.wallNs = 12'000'000;
        r.trace = { { 0, 5'000'000, 0, 8, 0, 0, -1, 0, engine::Op::Serial, 1 } };
        s.runs.push_back(r);
        const QString path = m_dir.filePath(QStringLiteral("ro.json"));
        QVERIFY(SessionFile::write(path, s).isEmpty());
        MainWindow w;
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        QVERIFY(w.openSessionFile(path, true).isEmpty());
        QVERIFY(w.isReadOnly());
        QVERIFY(w.output()->text(0).contains(QStringLiteral("kept output")));
        QCOMPARE(w.prompts()->prompts(), QStringList { QStringLiteral("kept prompt") });
        const auto runButtons = w.findChildren<QPushButton*>();
        for (QPushButton* b : runButtons)
            if (b->text().contains(QStringLiteral("Run")))
                QVERIFY(!b->isEnabled());
        // A load that was not the user's choice leaves it read-only; choosing a model makes it runnable again.
        QVERIFY(loadSynthetic(w, QStringLiteral("tiny")));
        QVERIFY(w.isReadOnly());
        QComboBox* combo = nullptr; // the model list: the one whose entries name synthetic shapes
        for (QComboBox* c : w.findChildren<QComboBox*>())
            if (c->findData(QStringLiteral("synthetic:tiny")) >= 0)
                combo = c;
        QVERIFY(combo);
        const int tiny = combo->findData(QStringLiteral("synthetic:tiny"));
        QVERIFY(tiny >= 0);
        QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
        Q_EMIT combo->activated(tiny);
        QVERIFY(loaded.wait(60000));
        QVERIFY(!w.isReadOnly());
    }

    void wordDiffMarksWhatChanged()
    {
        const QString html = CompareView::diffWords(QStringLiteral("the cat sat"), QStringLiteral("the dog sat"));
        QVERIFY(html.contains(QStringLiteral("line-through\">cat</span>")));
        QVERIFY(html.contains(QStringLiteral("#060\">dog</span>")));
        QVERIFY(!html.contains(QStringLiteral(">the</span>")));
        QCOMPARE(CompareView::diffWords(QStringLiteral("same"), QStringLiteral("same")), QStringLiteral("same"));
    }
};

QTEST_MAIN(TestSessions)
#include "test_sessions.moc"
