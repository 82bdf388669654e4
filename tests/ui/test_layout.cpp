// The window on ordinary screens: at 1280×720 and 1920×1080 it opens inside the screen, stays inside it after a
// run with two prompts side by side and after an 8-thread run, every lane of the timeline keeps a readable
// height, the panes cannot be dragged shut, and a saved geometry is restored only if it fits. Presentation mode
// on a projector's 1366×768 and on 1920×1080: inside the screen, every label large, the timeline's legend whole,
// the speedup chart readable, and leaving it gives back the layout as it was. Status messages are cut between
// words, whole in their tool tip.
#include "testsupport.h"
#include "ui/compareview.h"
#include "ui/mainwindow.h"
#include "ui/outputview.h"
#include "ui/rooflinechart.h"
#include "ui/sessionfile.h"
#include "ui/speedupchart.h"
#include "ui/timelineview.h"
#include "ui/whypanel.h"

#include <QAbstractButton>
#include <QChart>
#include <QChartView>
#include <QDir>
#include <QFile>
#include <QGraphicsScene>
#include <QGraphicsTextItem>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QSignalSpy>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace ui;

namespace {

constexpr int kMinLanePixels = 20; // a lane lower than this cannot carry a label or a readable bar

QScreen* screenOfSize(QSize size)
{
    for (QScreen* s : QGuiApplication::screens())
        if (s->geometry().size() == size)
            return s;
    return nullptr;
}

bool loadTiny(MainWindow& w)
{
    QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
    w.controller()->loadSynthetic(QStringLiteral("tiny"));
    return loaded.wait(30000) && w.controller()->model() != nullptr;
}

bool runAndWait(MainWindow& w, const RunSettings& s)
{
    w.applySettings(s);
    QSignalSpy finished(w.controller(), &RunController::runFinished);
    w.run();
    if (!finished.wait(120000))
        return false;
    QTest::qWait(100); // let the layouts settle as they would on screen
    return true;
}

QSplitter* rightSplitter(MainWindow& w)
{
    for (QSplitter* sp : w.findChildren<QSplitter*>())
        if (sp->orientation() == Qt::Vertical && sp->indexOf(w.outputTabs()) >= 0)
            return sp;
    return nullptr;
}

const QString kLongPrompt = QStringLiteral("Tell me, at some length and with every detail you can think of, "
                                           "what the weather was like on the day the ark came to rest");

RunSettings settings(QStringList prompts, int threads)
{
    RunSettings s;
    for (const QString& p : prompts)
        s.prompts.push_back(p.toStdString());
    s.maxTokens = 6;
    s.scheduler.threads = threads;
    s.scheduler.pinThreads = false;
    return s;
}

// A sweep of three strategies over 1-4 threads whose times follow Amdahl's law: legend, fits and footer as a real
// sweep has them.
engine::SweepResult threeStrategySweep()
{
    engine::SweepResult result;
    for (const auto& [name, serial] :
        std::vector<std::pair<std::string, double>> { { "intra-op", 0.12 }, { "request", 0.40 }, { "hybrid", 0.25 } }) {
        engine::StrategySweep sweep;
        sweep.strategy = name;
        sweep.promptTokens = 24;
        sweep.generatedTokens = 64;
        for (int p : { 1, 2, 3, 4 }) {
            const double t = serial + (1 - serial) / p;
            engine::TimingSamples pre { p, { 0.5 * t, 0.52 * t, 0.55 * t } };
            engine::TimingSamples dec { p, { 2.0 * t, 2.1 * t, 2.2 * t } };
            engine::TimingSamples tot { p, { 2.5 * t, 2.62 * t, 2.75 * t } };
            sweep.prefill.push_back(pre);
            sweep.decode.push_back(dec);
            sweep.total.push_back(tot);
        }
        result.strategies.push_back(std::move(sweep));
    }
    engine::analyzeSweep(result);
    return result;
}

// The texts Qt Charts drew in `chart` that it cut ("..." or "…") for want of room.
QStringList cutTexts(QChart* chart)
{
    QStringList cut;
    if (!chart->scene())
        return cut;
    for (QGraphicsItem* item : chart->scene()->items()) {
        auto* text = dynamic_cast<QGraphicsTextItem*>(item);
        if (!text || !text->isVisible())
            continue;
        const QString t = text->toPlainText();
        if (t.endsWith(QStringLiteral("...")) || t.contains(QChar(0x2026)))
            cut << t;
    }
    return cut;
}

// The scroll area `w` sits in, if any.
QScrollArea* scrollAreaOf(QWidget* w)
{
    for (QWidget* p = w->parentWidget(); p; p = p->parentWidget())
        if (auto* area = qobject_cast<QScrollArea*>(p))
            return area;
    return nullptr;
}

void showTab(MainWindow& w, const QString& name)
{
    for (int i = 0; i < w.tabs()->count(); ++i)
        if (w.tabs()->tabText(i) == name)
            w.tabs()->setCurrentIndex(i);
}

// The rows of `t` shown whole in its viewport.
int wholeRowsShown(QTableWidget* t)
{
    int shown = 0;
    for (int r = 0; r < t->rowCount(); ++r) {
        const QRect rect = t->visualRect(t->model()->index(r, 0));
        if (t->isVisible() && rect.height() > 0 && t->viewport()->rect().contains(rect))
            ++shown;
    }
    return shown;
}

} // namespace

class TestLayout : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { m_appFont = QApplication::font(); }
    void init()
    {
        QSettings().clear();
        QApplication::setFont(m_appFont); // a failed test may have left presentation mode's
    }

    void windowFitsTheScreenThroughRuns_data()
    {
        QTest::addColumn<QSize>("screen");
        QTest::newRow("1280x720") << QSize(1280, 720);
        QTest::newRow("1920x1080") << QSize(1920, 1080);
    }

    void windowFitsTheScreenThroughRuns()
    {
        QFETCH(QSize, screen);
        QScreen* s = screenOfSize(screen);
        QVERIFY(s);
        const QRect available = s->availableGeometry();
        MainWindow w;
        w.setScreen(s);
        w.placeOnScreen(available);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto fits = [&](const char* when) {
            const QSize min = w.minimumSizeHint();
            return QStringLiteral("%1: window %2×%3 (minimum %4×%5) on %6×%7")
                .arg(QString::fromLatin1(when))
                .arg(w.width())
                .arg(w.height())
                .arg(min.width())
                .arg(min.height())
                .arg(available.width())
                .arg(available.height());
        };
        QVERIFY2(w.width() <= available.width() && w.height() <= available.height(), qPrintable(fits("opened")));
        QVERIFY(loadTiny(w));

        // Two prompts side by side, each with a long statistics line under it once the run is done.
        const QString longPrompt = QStringLiteral("Tell me, at some length and with every detail you can think of, "
                                                  "what the weather was like on the day the ark came to rest");
        QVERIFY(runAndWait(w, settings({ longPrompt, longPrompt + QStringLiteral(" again") }, 2)));
        QCOMPARE(w.output()->paneCount(), 2);
        QVERIFY(w.output()->statsText(0).size() > 60); // the line that used to widen the window
        QVERIFY2(w.width() <= available.width() && w.height() <= available.height(), qPrintable(fits("two prompts")));
        QVERIFY2(w.minimumSizeHint().width() <= available.width(), qPrintable(fits("two prompts")));
        QVERIFY2(w.minimumSizeHint().height() <= available.height(), qPrintable(fits("two prompts")));

        QVERIFY(runAndWait(w, settings({ QStringLiteral("In the beginning") }, 8)));
        QVERIFY2(w.width() <= available.width() && w.height() <= available.height(), qPrintable(fits("8 threads")));
        QVERIFY2(w.minimumSizeHint().width() <= available.width(), qPrintable(fits("8 threads")));
        QVERIFY2(w.minimumSizeHint().height() <= available.height(), qPrintable(fits("8 threads")));

        // Every lane readable; the ones that do not fit scroll into view instead of being squeezed.
        TimelineView* t = w.timeline();
        QCOMPARE(t->laneCount(), 8);
        for (int lane = 0; lane < 8; ++lane)
            QVERIFY2(t->laneRect(lane).height() >= kMinLanePixels,
                qPrintable(QStringLiteral("lane %1: %2 px").arg(lane).arg(t->laneRect(lane).height())));
        QVERIFY2(t->plotRect().height() >= 2 * kMinLanePixels, qPrintable(QString::number(t->plotRect().height())));
        if (t->laneRect(7).bottom() > t->plotRect().bottom()) {
            QVERIFY(t->lanesScroll());
            t->scrollLanesBy(100000);
            QVERIFY(t->laneRect(7).bottom() <= t->plotRect().bottom());
            QVERIFY(t->laneRect(7).top() >= t->plotRect().top());
        }
        // The run's explanation arrives under the timeline, in the first tab, without widening the window.
        QTRY_VERIFY_WITH_TIMEOUT(w.whyPanel()->report().has_value(), 30000);
        QVERIFY(w.whyPanel()->text().contains(QStringLiteral("prefill")));
        QVERIFY(w.whyPanel()->isVisible());
        QVERIFY(w.whyPanel()->visibleRegion().boundingRect().height() >= 100);
        QVERIFY2(w.width() <= available.width() && w.height() <= available.height(), qPrintable(fits("why panel")));
        QVERIFY2(w.minimumSizeHint().width() <= available.width(), qPrintable(fits("why panel")));

        // The status bar is inside the window, not cut off below it.
        QVERIFY(w.statusBar()->isVisible());
        QVERIFY(w.statusBar()->geometry().bottom() < w.height());
    }

    void presentationModeFitsAndLeavesTheLayoutAsItWas_data()
    {
        QTest::addColumn<QSize>("screen");
        QTest::addColumn<int>("chartHeight"); // the least height of the speedup chart to see on its tab
        QTest::newRow("1366x768 projector") << QSize(1366, 768) << 240;
        QTest::newRow("1920x1080") << QSize(1920, 1080) << 320;
    }

    void presentationModeFitsAndLeavesTheLayoutAsItWas()
    {
        QFETCH(QSize, screen);
        QFETCH(int, chartHeight);
        QScreen* s = screenOfSize(screen);
        QVERIFY(s);
        const QRect available = s->availableGeometry();
        MainWindow w;
        w.setScreen(s);
        w.placeOnScreen(available);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(loadTiny(w));
        QVERIFY(runAndWait(w, settings({ kLongPrompt, kLongPrompt + QStringLiteral(" again") }, 2)));
        QTRY_VERIFY_WITH_TIMEOUT(w.whyPanel()->report().has_value(), 30000);
        auto* main = qobject_cast<QSplitter*>(w.centralWidget());
        QSplitter* right = rightSplitter(w);
        QVERIFY(main && right);
        const QList<int> mainBefore = main->sizes();
        const QList<int> rightBefore = right->sizes();
        const QSize sizeBefore = w.size();
        const double normal = w.font().pointSizeF();

        w.setPresentation(true);
        QTest::qWait(100);
        const QString where = QStringLiteral("window %1×%2 (minimum %3×%4) on %5×%6")
                                  .arg(w.width())
                                  .arg(w.height())
                                  .arg(w.minimumSizeHint().width())
                                  .arg(w.minimumSizeHint().height())
                                  .arg(available.width())
                                  .arg(available.height());
        QVERIFY2(w.width() <= available.width() && w.height() <= available.height(), qPrintable(where));
        QVERIFY2(w.minimumSizeHint().height() <= available.height(), qPrintable(where));
        QVERIFY(w.statusBar()->isVisible());
        QVERIFY(w.statusBar()->geometry().bottom() < w.height());

        // Every label and button shown is large, not only those that follow the window's font by themselves (the
        // Run button, the shortcut hint and the prompts' figures did not).
        for (QWidget* c : w.findChildren<QWidget*>()) {
            if (!c->isVisible() || c->isWindow() || !(qobject_cast<QLabel*>(c) || qobject_cast<QAbstractButton*>(c)))
                continue;
            const auto* label = qobject_cast<QLabel*>(c);
            const auto* button = qobject_cast<QAbstractButton*>(c);
            const QString text = label ? label->text() : button->text();
            if (text.isEmpty())
                continue;
            QVERIFY2(c->font().pointSizeF() >= normal * 1.5,
                qPrintable(QStringLiteral("%1 \"%2\": %3 pt, normal %4 pt")
                               .arg(QString::fromLatin1(c->metaObject()->className()), text.left(40))
                               .arg(c->font().pointSizeF())
                               .arg(normal)));
        }
        // The timeline names every op it colours.
        TimelineView* t = w.timeline();
        QVERIFY(t->legendRowsNeeded() >= 2); // large text: the legend does not fit one row
        QCOMPARE(t->legendRowsShown(), t->legendRowsNeeded());
        QVERIFY(t->laneRect(1).height() >= kMinLanePixels);
        // Each prompt's figures are whole: their labels are as tall as their wrapped text.
        for (QLabel* l : w.output()->findChildren<QLabel*>())
            if (l->isVisible() && l->wordWrap())
                QVERIFY2(l->height() >= l->heightForWidth(l->width()),
                    qPrintable(QStringLiteral("\"%1\": %2 px of %3")
                                   .arg(l->text().left(40))
                                   .arg(l->height())
                                   .arg(l->heightForWidth(l->width()))));
        // The speedup chart on its tab: a plot, not only its title.
        for (int i = 0; i < w.tabs()->count(); ++i)
            if (w.tabs()->tabText(i) == QLatin1String("Speedup"))
                w.tabs()->setCurrentIndex(i);
        QTest::qWait(100);
        const int chartShown = w.speedupChart()->visibleRegion().boundingRect().height();
        QVERIFY2(chartShown >= chartHeight, qPrintable(QString::number(chartShown)));
        QVERIFY2(w.width() <= available.width() && w.height() <= available.height(), qPrintable(where));

        // Leaving it gives back the layout it started from, to the pixel.
        w.setPresentation(false);
        QTest::qWait(100);
        QCOMPARE(w.font().pointSizeF(), normal);
        QCOMPARE(w.size(), sizeBefore);
        QCOMPARE(main->sizes(), mainBefore);
        QCOMPARE(right->sizes(), rightBefore);
    }

    void presentationChartsShowTheirPlot_data()
    {
        QTest::addColumn<QSize>("screen");
        QTest::addColumn<bool>("chartTabFirst"); // the Speedup tab on show before presentation mode starts
        QTest::newRow("1366x768 projector") << QSize(1366, 768) << false;
        QTest::newRow("1366x768 projector, tab first") << QSize(1366, 768) << true;
        QTest::newRow("1920x1080") << QSize(1920, 1080) << false;
        QTest::newRow("1920x1080, tab first") << QSize(1920, 1080) << true;
    }

    // A sweep's chart on a projector: the plot most of the chart's height, nothing wider than its pane, no axis
    // label or legend entry cut to "…"; the roofline's legend whole.
    void presentationChartsShowTheirPlot()
    {
        QFETCH(QSize, screen);
        QFETCH(bool, chartTabFirst);
        QScreen* s = screenOfSize(screen);
        QVERIFY(s);
        MainWindow w;
        w.setScreen(s);
        w.placeOnScreen(s->availableGeometry());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        SpeedupChart* chart = w.speedupChart();
        chart->setSweep(threeStrategySweep());
        if (chartTabFirst)
            showTab(w, QStringLiteral("Speedup"));
        w.setPresentation(true);
        QTest::qWait(100);
        showTab(w, QStringLiteral("Speedup"));
        QTest::qWait(200);
        QVERIFY(!chart->showsHint());
        QScrollArea* pane = scrollAreaOf(chart);
        QVERIFY(pane);
        const QString where = QStringLiteral("chart %1×%2 in a pane of %3×%4, plot %5 px high")
                                  .arg(chart->width())
                                  .arg(chart->height())
                                  .arg(pane->viewport()->width())
                                  .arg(pane->viewport()->height())
                                  .arg(chart->chart()->plotArea().height());
        // The pane does not scroll sideways (the rows of buttons were wider than it).
        QVERIFY2(chart->width() <= pane->viewport()->width(), qPrintable(where));
        QVERIFY2(chart->height() <= pane->viewport()->height(), qPrintable(where));
        // The plot, not the legend and the footer, has the height.
        QVERIFY2(chart->chart()->plotArea().height() >= 0.55 * chart->height(), qPrintable(where));
        const QStringList cut = cutTexts(chart->chart());
        QVERIFY2(cut.isEmpty(), qPrintable(cut.join(QStringLiteral(" | "))));
        // Every view and phase chosen from the compact controls too.
        chart->setView(SpeedupChart::View::Efficiency);
        QTest::qWait(100);
        QVERIFY2(cutTexts(chart->chart()).isEmpty(), qPrintable(cutTexts(chart->chart()).join(QStringLiteral(" | "))));

        showTab(w, QStringLiteral("Roofline"));
        QTest::qWait(200);
        RooflineChart* roofline = w.rooflineChart();
        QVERIFY(roofline->legendText()->isVisible());
        QVERIFY(roofline->legendText()->text().contains(QStringLiteral("memory bandwidth ceiling")));
        const QStringList rooflineCut = cutTexts(roofline->chart());
        QVERIFY2(rooflineCut.isEmpty(), qPrintable(rooflineCut.join(QStringLiteral(" | "))));
        w.setPresentation(false);
    }

    void compareWindowShowsTheTablesRows_data()
    {
        QTest::addColumn<QSize>("screen");
        QTest::newRow("1366x768") << QSize(1366, 768);
        QTest::newRow("1920x1080") << QSize(1920, 1080);
    }

    // Comparing two runs on a laptop's screen: the settings and metrics tables each show most of their rows
    // (they showed two each at 1366×768), and the two timelines keep their lanes.
    void compareWindowShowsTheTablesRows()
    {
        QFETCH(QSize, screen);
        QScreen* s = screenOfSize(screen);
        QVERIFY(s);
        session::RunRecord a, b;
        a.settings.prompts = b.settings.prompts = { "p" };
        b.settings.sampling.topK = a.settings.sampling.topK + 1;
        a.threads = 1;
        b.threads = 2;
        a.sequences.resize(1);
        b.sequences.resize(1);
        CompareView view(a, b, QStringLiteral("run 1"), QStringLiteral("run 2"));
        view.setScreen(s);
        // As MainWindow::showComparison sizes it: 1400×900 at most, inside the screen.
        const QRect area = s->availableGeometry();
        view.resize(std::min(1400, area.width() - 40), std::min(900, area.height() - 60));
        view.move(area.topLeft());
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QTest::qWait(100);
        const QList<QTableWidget*> tables = view.findChildren<QTableWidget*>();
        QCOMPARE(tables.size(), 2);
        for (QTableWidget* t : tables) {
            // A table on a tab not on show is shown by picking its tab.
            for (QWidget* p = t; p; p = p->parentWidget())
                if (auto* tabs
                    = qobject_cast<QTabWidget*>(p->parentWidget() ? p->parentWidget()->parentWidget() : nullptr))
                    tabs->setCurrentWidget(p);
            QTest::qWait(50);
            const int shown = wholeRowsShown(t);
            QVERIFY2(2 * shown > t->rowCount(),
                qPrintable(QStringLiteral("%1: %2 of %3 rows, %4 px high")
                               .arg(t->horizontalHeaderItem(0)->text())
                               .arg(shown)
                               .arg(t->rowCount())
                               .arg(t->height())));
        }
        for (int i = 0; i < 2; ++i)
            QVERIFY2(view.timeline(i)->height() >= 80, qPrintable(QString::number(view.timeline(i)->height())));
    }

    void statusMessagesAreCutBetweenWords()
    {
        QScreen* s = screenOfSize(QSize(1366, 768));
        QVERIFY(s);
        MainWindow w;
        w.setScreen(s);
        w.placeOnScreen(s->availableGeometry());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTemporaryDir dir;
        const QString name = QStringLiteral("a-session-with-a-rather-long-file-name-that-says-what-was-measured-"
                                            "on-which-machine-and-on-which-day-of-the-week.json");
        const QString path = dir.filePath(name);
        QVERIFY(SessionFile::write(path, w.currentSession()).isEmpty());
        QVERIFY(w.openSessionFile(path, true).isEmpty());
        QTest::qWait(50);
        QLabel* state = nullptr;
        for (QLabel* l : w.statusBar()->findChildren<QLabel*>())
            if (l->toolTip().contains(QStringLiteral("session opened")))
                state = l;
        QVERIFY(state);
        // The whole message in the tool tip; on the bar, as much as fits, cut after a whole word.
        QVERIFY2(state->toolTip().contains(name), qPrintable(state->toolTip()));
        const QString shown = state->text();
        QVERIFY2(shown.endsWith(QStringLiteral("…")), qPrintable(shown));
        const QString head = shown.chopped(1);
        QVERIFY2(state->toolTip().startsWith(head) || state->toolTip().contains(QStringLiteral(" · ") + head),
            qPrintable(shown));
        const QString full = state->toolTip().mid(state->toolTip().indexOf(head));
        QVERIFY2(full.size() > head.size() && !full.at(head.size()).isLetterOrNumber() && full.at(head.size()) != '-',
            qPrintable(QStringLiteral("\"%1\" cut inside a word of \"%2\"").arg(shown, full)));
        QVERIFY(state->fontMetrics().horizontalAdvance(shown) <= state->contentsRect().width());
    }

    void panesCannotBeDraggedShutAndResetLayoutRestoresThem()
    {
        QScreen* s = screenOfSize(QSize(1280, 720));
        QVERIFY(s);
        MainWindow w;
        w.setScreen(s);
        w.placeOnScreen(s->availableGeometry());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        const auto splitters = w.findChildren<QSplitter*>();
        QSplitter* right = nullptr;
        for (QSplitter* sp : splitters)
            if (sp->orientation() == Qt::Vertical && sp->indexOf(w.outputTabs()) >= 0)
                right = sp;
        QVERIFY(right);
        QCOMPARE(right->count(), 3);
        right->setSizes({ 2000, 0, 0 });
        QTest::qWait(50);
        for (int i = 0; i < right->count(); ++i)
            QVERIFY2(right->sizes()[i] >= right->widget(i)->minimumSizeHint().height() && right->sizes()[i] > 60,
                qPrintable(QStringLiteral("pane %1: %2 px").arg(i).arg(right->sizes()[i])));
        QVERIFY(w.timeline()->plotRect().height() >= 2 * kMinLanePixels);

        w.resetLayout();
        QTest::qWait(50);
        int total = 0;
        for (int size : right->sizes())
            total += size;
        for (int i = 0; i < right->count(); ++i)
            QVERIFY2(right->sizes()[i] >= total / 5, qPrintable(QStringLiteral("pane %1 after reset").arg(i)));
    }

    void helpMenuAndResetSettings()
    {
        MainWindow w;
        QMenu* help = nullptr;
        for (QAction* a : w.menuBar()->actions())
            if (a->text().remove(QLatin1Char('&')) == QLatin1String("Help"))
                help = a->menu();
        QVERIFY(help);
        QStringList items;
        for (QAction* a : help->actions())
            if (!a->isSeparator())
                items << a->text().remove(QLatin1Char('&'));
        QVERIFY2(items.contains(QStringLiteral("Keyboard shortcuts"))
                && items.contains(QStringLiteral("What each view shows"))
                && items.contains(QStringLiteral("Reset settings…"))
                && items.contains(QStringLiteral("About LLM Thread Playground")),
            qPrintable(items.join(QStringLiteral(", "))));

        const RunSettings defaults = w.currentSettings();
        RunSettings changed = settings({ QStringLiteral("one"), QStringLiteral("two") }, 1);
        changed.sampling.temperature = 0.1f;
        w.applySettings(changed);
        w.close(); // saves them
        QVERIFY(QSettings().contains(QStringLiteral("run/settings")));
        {
            MainWindow again;
            QCOMPARE(again.currentSettings().prompts.size(), size_t(2)); // they were saved
            again.restoreDefaults();
            QVERIFY(QSettings().allKeys().isEmpty());
            QCOMPARE(again.currentSettings().prompts, defaults.prompts);
            QCOMPARE(again.currentSettings().scheduler.threads, defaults.scheduler.threads);
            QCOMPARE(again.currentSettings().sampling.temperature, defaults.sampling.temperature);
        }
    }

    void savedGeometryIsRestoredOnlyIfItFits()
    {
        QScreen* s = screenOfSize(QSize(1280, 720));
        QVERIFY(s);
        const QRect available = s->availableGeometry();
        auto saveWith = [&](QSize size) {
            MainWindow w;
            w.setScreen(s);
            w.placeOnScreen(available);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            w.resize(size);
            QTest::qWait(20);
            w.close(); // saves the settings
        };

        saveWith(QSize(2400, 1400)); // grown on a big screen, or past this one
        {
            MainWindow w;
            w.setScreen(s);
            QVERIFY2(w.width() <= available.width() && w.height() <= available.height(),
                qPrintable(QStringLiteral("%1×%2").arg(w.width()).arg(w.height())));
        }

        saveWith(QSize(1100, 660)); // fits: it comes back as it was
        {
            MainWindow w;
            w.setScreen(s);
            QCOMPARE(w.size(), QSize(1100, 660));
        }
    }

private:
    QFont m_appFont;
};

int main(int argc, char** argv)
{
    // Three offscreen screens of the sizes under test, side by side, and settings of our own.
    QTemporaryDir dir;
    const QString config = dir.filePath(QStringLiteral("screens.json"));
    QFile f(config);
    if (!f.open(QIODevice::WriteOnly))
        return 1;
    f.write(R"({ "screens": [
        { "name": "small", "x": 0, "y": 0, "width": 1280, "height": 720, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1 },
        { "name": "large", "x": 1280, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1 },
        { "name": "projector", "x": 3200, "y": 0, "width": 1366, "height": 768, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1 }
    ] })");
    f.close();
    qputenv("QT_QPA_PLATFORM", ("offscreen:configfile=" + config).toLocal8Bit());
    qputenv("XDG_CONFIG_HOME", dir.filePath(QStringLiteral("config")).toLocal8Bit());
    // The runs' analysis reads made-up ceilings instead of measuring the machine.
    testsupport::writeFakeRooflineCache(dir.filePath(QStringLiteral("cache")));
    qputenv("XDG_CACHE_HOME", dir.filePath(QStringLiteral("cache")).toLocal8Bit());
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("LLM Thread Playground tests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_layout"));
    TestLayout test;
    return QTest::qExec(&test, argc, argv);
}

#include "test_layout.moc"
