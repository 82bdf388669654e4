// Token probabilities in the window: the output view colours each generated token by the probability the sampler
// gave it (and only those), the toggle brings back plain text, the popup lists a token's alternatives as the engine
// reported them, the sampling panel follows the engine's chain order, and "continue from here" in the window gives
// what a fresh engine run with that token forced gives.
#include "testsupport.h"
#include "ui/alternativespopup.h"
#include "ui/mainwindow.h"
#include "ui/outputview.h"
#include "ui/samplingpanel.h"
#include "ui/tokenprobabilitystyle.h"

#include "engine/model/synthetic.h"
#include "engine/run/defaults.h"
#include "engine/run/run.h"

#include <QApplication>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QtTest>

#include <tuple>

using namespace ui;

namespace {

engine::TokenAlternative candidate(int32_t id, const char* text, double raw, double final,
    std::optional<engine::SamplerStage> removedBy = std::nullopt, bool penalized = false)
{
    engine::TokenAlternative a;
    a.id = id;
    a.text = text;
    a.rawProbability = a.penalizedProbability = raw;
    a.afterTopK = a.afterTopP = a.afterMinP = final;
    a.finalProbability = final;
    a.removedBy = removedBy;
    a.penalized = penalized;
    return a;
}

// Three tokens " a", " bb", " c" drawn with probabilities 0.9, 0.2 and 0.05.
RunSummary handMadeSummary()
{
    using engine::SamplerStage;
    engine::GenerationResult g;
    g.tokenIds = { 5, 9, 2 };
    g.text = " a bb c";
    const double chosen[] = { 0.9, 0.2, 0.05 };
    for (size_t i = 0; i < 3; ++i) {
        engine::TokenAlternatives a;
        a.chosen = a.sampled = g.tokenIds[i];
        a.rawEntropyBits = 1.5;
        a.finalEntropyBits = 0.25;
        a.vocabulary = 32;
        a.keptAfterTopK = 3;
        a.keptAfterTopP = 2;
        a.keptAfterMinP = 2;
        a.candidates = { candidate(g.tokenIds[i], "x", chosen[i], chosen[i]),
            candidate(40, "other", 0.3, 1.0 - chosen[i], std::nullopt, true),
            candidate(41, "gone", 0.01, 0.0, SamplerStage::TopK) };
        g.alternatives.push_back(a);
    }
    g.stats.generatedTokens = 3;
    RunSummary s;
    s.sequences.push_back(g);
    return s;
}

void fill(OutputView& view)
{
    view.startRun({ QStringLiteral("Hi") });
    view.appendPieces(
        { { 0, 5, 1, QStringLiteral(" a") }, { 0, 9, 2, QStringLiteral(" bb") }, { 0, 2, 3, QStringLiteral(" c") } });
    view.finishRun(handMadeSummary());
}

QPlainTextEdit* pane(OutputView& view) { return view.findChildren<QPlainTextEdit*>().value(0); }

// The background of the character at `offset` of the pane's text.
QBrush backgroundAt(OutputView& view, int offset)
{
    QTextCursor c(pane(view)->document());
    c.setPosition(offset + 1); // the format of the character before the cursor
    return c.charFormat().background();
}

} // namespace

class TestTokenProbabilities : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_settingsDir.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("playground-test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_tokenprobabilities"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        testsupport::writeFakeRooflineCache(m_settingsDir.filePath(QStringLiteral("cache")));
        qputenv("XDG_CACHE_HOME", m_settingsDir.filePath(QStringLiteral("cache")).toLocal8Bit());
    }

    void paneStatsNameThisPromptsOwnSpeeds()
    {
        // Two prompts with their own figures; the run's phases (the Workers tab's "all prompts") differ from both.
        RunSummary s;
        s.metrics.prefillMs = 40;
        s.metrics.promptTokens = 50;
        s.metrics.prefillTokensPerSecond = 1250;
        s.metrics.decodeTokensPerSecond = 77;
        for (const auto& [prompt, prefillMs, generated, decodeMs] :
            { std::tuple { 30, 15.0, 11, 50.0 }, std::tuple { 20, 25.0, 5, 8.0 } }) {
            engine::GenerationResult g;
            g.stats.promptTokens = prompt;
            g.stats.prefillMs = prefillMs;
            g.stats.generatedTokens = generated;
            g.stats.decodeMs = decodeMs;
            g.stats.timeToFirstTokenMs = prefillMs;
            s.sequences.push_back(g);
        }
        OutputView view;
        view.startRun({ QStringLiteral("a"), QStringLiteral("b") });
        view.finishRun(s);
        // 30 tokens in 15 ms = 2000 tok/s, 10 tokens after the first in 50 ms = 200 tok/s; 20 in 25 ms = 800,
        // 4 in 8 ms = 500.
        QVERIFY2(view.statsText(0).contains(QStringLiteral("this prompt: prefill 2000 tok/s, decode 200.0 tok/s")),
            qPrintable(view.statsText(0)));
        QVERIFY2(view.statsText(1).contains(QStringLiteral("this prompt: prefill 800 tok/s, decode 500.0 tok/s")),
            qPrintable(view.statsText(1)));
        QVERIFY(!view.statsText(0).contains(QStringLiteral("1250")));
        // As drawn, the unit is one word: a line never ends in "tok/" with the "s" on the next.
        int drawn = 0;
        for (const QLabel* label : view.findChildren<QLabel*>())
            if (label->text().contains(QStringLiteral("this prompt:"))) {
                ++drawn;
                QVERIFY(!label->text().contains(QStringLiteral("tok/s")));
                QVERIFY(label->text().contains(QStringLiteral("tok/") + QChar(0x2060) + QStringLiteral("s")));
            }
        QCOMPARE(drawn, 2);
    }

    void tokensAreColouredByTheirProbability()
    {
        OutputView view;
        view.resize(600, 300);
        fill(view);
        // "Hi a bb c": the prompt is 0-1, then " a" 2-3, " bb" 4-6, " c" 7-8.
        QCOMPARE(view.tokenIndexAt(0, 2), 0);
        QCOMPARE(view.tokenIndexAt(0, 5), 1);
        QCOMPARE(view.tokenIndexAt(0, 8), 2);
        QCOMPARE(view.tokenIndexAt(0, 1), -1);
        QCOMPARE(backgroundAt(view, 0).style(), Qt::NoBrush); // the prompt stays plain
        // The documented scale: hue 120° x p, from red (unlikely) to green (certain).
        const int offsets[] = { 3, 5, 8 };
        const double p[] = { 0.9, 0.2, 0.05 };
        for (int k = 0; k < 3; ++k) {
            const QBrush b = backgroundAt(view, offsets[k]);
            QVERIFY(b.style() != Qt::NoBrush);
            QVERIFY2(std::abs(b.color().hsvHueF() * 360.0 - 120.0 * p[k]) < 2.0,
                qPrintable(QString::number(b.color().hsvHueF() * 360.0)));
        }
        QVERIFY(view.legend()->isVisibleTo(&view));
        QVERIFY(view.legend()->text().contains(QLatin1String("probability the sampler gave")));

        view.setProbabilityColouring(false);
        for (int offset = 0; offset < 9; ++offset)
            QCOMPARE(backgroundAt(view, offset).style(), Qt::NoBrush);
        QVERIFY(!view.legend()->isVisibleTo(&view));
        QCOMPARE(view.text(0), QStringLiteral("Hi a bb c")); // the text itself is untouched
        view.setProbabilityColouring(true);
        QVERIFY(backgroundAt(view, 5).style() != Qt::NoBrush);
    }

    void popupListsTheAlternativesAsTheEngineGaveThem()
    {
        OutputView view;
        view.resize(600, 300);
        view.show();
        fill(view);
        QVERIFY(view.showAlternatives(0, 1));
        AlternativesPopup* popup = view.alternativesPopup();
        QVERIFY(popup->isVisible());
        const auto& rows = popup->rows();
        QCOMPARE(rows.size(), size_t(3));
        QCOMPARE(rows[0].id, 9);
        QVERIFY(rows[0].chosen);
        QVERIFY(rows[0].note.contains(QLatin1String("drawn")));
        QCOMPARE(rows[0].after, 0.2);
        QCOMPARE(rows[1].before, 0.3);
        QVERIFY(rows[1].note.contains(QLatin1String("penalised")));
        QVERIFY(rows[2].removed);
        QVERIFY(rows[2].note.contains(QLatin1String("top-k")));
        QVERIFY(popup->header().contains(QLatin1String("1.50 bits")));
        QVERIFY(popup->header().contains(QLatin1String("20.0%")));

        // Clicking another candidate asks to continue with it; clicking the drawn one does nothing.
        QSignalSpy spy(&view, &OutputView::continueRequested);
        const int rowHeight = popup->fontMetrics().height() + 6;
        const int firstRowY = popup->height() - 8 - 3 * rowHeight;
        QTest::mouseClick(popup, Qt::LeftButton, {}, QPoint(40, firstRowY + rowHeight / 2));
        QCOMPARE(spy.count(), 0);
        QTest::mouseClick(popup, Qt::LeftButton, {}, QPoint(40, firstRowY + rowHeight + rowHeight / 2));
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toInt(), 0);
        QCOMPARE(spy.at(0).at(1).toInt(), 1);
        QCOMPARE(spy.at(0).at(2).value<int32_t>(), 40);
        QVERIFY(!popup->isVisible());
    }

    void samplingPanelFollowsTheEnginesChain_data()
    {
        QTest::addColumn<float>("temperature");
        QTest::newRow("sampling") << 0.8f;
        QTest::newRow("greedy") << 0.0f;
    }

    void samplingPanelFollowsTheEnginesChain()
    {
        QFETCH(float, temperature);
        engine::SamplingParams params;
        params.temperature = temperature;
        const engine::TokenAlternatives a = handMadeSummary().sequences[0].alternatives[0];
        SamplingPanel panel;
        panel.showToken(0, 0, a, params);
        QTableWidget* t = panel.table();
        const auto chain = engine::samplerChain(params);
        QCOMPARE(t->columnCount(), 2 + int(chain.size()));
        for (int s = 0; s < int(chain.size()); ++s) {
            const QString header = t->horizontalHeaderItem(2 + s)->text();
            QVERIFY2(header.startsWith(QStringLiteral("after ") + stageLabel(chain[size_t(s)])), qPrintable(header));
        }
        QCOMPARE(t->rowCount(), 3);
        // The candidate top-k removed says so under top-k and shows nothing after it.
        if (temperature > 0.0f) {
            QCOMPARE(t->item(2, 2 + 1)->text(), QStringLiteral("removed"));
            QCOMPARE(t->item(2, 2 + 2)->text(), QStringLiteral("–"));
            QCOMPARE(t->item(0, 2 + 4)->text(), QStringLiteral("90.0%"));
            QVERIFY(t->item(1, 2)->text().contains(QLatin1String("penalised")));
        }
        QCOMPARE(t->item(1, 1)->text(), QStringLiteral("30.0%"));
        QVERIFY(t->item(0, 0)->text().contains(QLatin1String("drawn")));
    }

    void continueFromHereEqualsAFreshForcedRun()
    {
        MainWindow w;
        QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
        w.controller()->loadSynthetic(QStringLiteral("tiny"));
        QVERIFY(loaded.wait(60000));
        RunSettings s = w.currentSettings();
        s.prompts = { "Once upon a time", "The end" };
        s.maxTokens = 8;
        s.stopAtEos = false;
        s.scheduler.threads = 1;
        s.sampling.seed = 4;
        s.sampling.temperature = 0.9f;
        w.applySettings(s);
        QSignalSpy finished(w.controller(), &RunController::runFinished);
        w.run();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        const RunSummary first = finished.at(0).at(1).value<RunSummary>();
        QCOMPARE(first.sequences[0].alternatives.size(), first.sequences[0].tokenIds.size());
        // The sampling panel shows the first prompt's last token.
        QVERIFY(w.samplingPanel()->table()->rowCount() >= engine::kDefaultTopAlternatives);

        // Branch at token 3 with its best candidate that was not drawn.
        const engine::TokenAlternatives& at = first.sequences[0].alternatives[2];
        int32_t other = -1;
        for (const auto& c : at.candidates)
            if (c.id != at.chosen) {
                other = c.id;
                break;
            }
        QVERIFY(other >= 0);
        w.continueFrom(0, 2, other);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 30000);
        const RunSummary branch = finished.at(1).at(1).value<RunSummary>();

        // A fresh engine run with the same settings and that prefix forced, built by hand.
        engine::RunRequest fresh = w.currentSettings();
        fresh.trace = false;
        std::vector<int32_t> forced(first.sequences[0].tokenIds.begin(), first.sequences[0].tokenIds.begin() + 2);
        forced.push_back(other);
        fresh.forcedTokens = { forced };
        const engine::RunResult expected = engine::executeRun(w.controller()->model(), fresh);
        QCOMPARE(branch.sequences[0].tokenIds, expected.sequences[0].tokenIds);
        QCOMPARE(w.output()->text(0),
            QStringLiteral("Once upon a time") + QString::fromStdString(expected.sequences[0].text));
        // The other prompt is regenerated as it was.
        QCOMPARE(branch.sequences[1].tokenIds, first.sequences[1].tokenIds);
    }

private:
    QTemporaryDir m_settingsDir;
};

QTEST_MAIN(TestTokenProbabilities)
#include "test_tokenprobabilities.moc"
