// The window's sessions: runs and sweeps go to the history; a saved session opens in a fresh window with the same
// outputs, timeline, figures, analysis and sweep; refused files change nothing; a session whose model is gone is
// read-only; two runs compare side by side; the HTML report is self-contained; views export as PNG and SVG.
#include "session/htmlreport.h"
#include "session/sessionfile.h"
#include "testsupport.h"
#include "ui/compareview.h"
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
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

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
        QVERIFY(page.contains(QStringLiteral("<svg class=timeline")));
        QVERIFY(page.contains(QStringLiteral("<svg class=speedup")));
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
