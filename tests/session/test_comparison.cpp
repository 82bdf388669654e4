// What a comparison shows, as the compare view and the HTML report share it: the word diff gives both texts back and
// marks only what changed; differing settings come first; ratios are b ÷ a and undefined where a is zero; two sweeps
// become one result whose strategies say which sweep they came from.
#include "session/comparison.h"

#include <QtTest>

#include <cmath>

using namespace session;
using Kind = Comparison::DiffPiece::Kind;

namespace {

// The text a diff gives back for one side: a is everything but the added pieces, b everything but the removed ones.
std::string side(const std::vector<Comparison::DiffPiece>& diff, Kind leftOut)
{
    std::string out;
    for (const auto& piece : diff)
        if (piece.kind != leftOut)
            out += piece.text;
    return out;
}

std::string joined(const std::vector<Comparison::DiffPiece>& diff, Kind kind)
{
    std::string out;
    for (const auto& piece : diff)
        if (piece.kind == kind)
            out += piece.text + "|";
    return out;
}

} // namespace

class TestComparison : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void wordDiffGivesBothTextsBack_data()
    {
        QTest::addColumn<QString>("a");
        QTest::addColumn<QString>("b");
        QTest::addColumn<QString>("removed");
        QTest::addColumn<QString>("added");
        QTest::newRow("one word") << "the cat sat"
                                  << "the dog sat"
                                  << "cat|"
                                  << "dog|";
        QTest::newRow("same") << "same text"
                              << "same text"
                              << ""
                              << "";
        QTest::newRow("appended") << "once upon"
                                  << "once upon a time"
                                  << ""
                                  << " a time|";
        QTest::newRow("empty a") << ""
                                 << "new words"
                                 << ""
                                 << "new words|";
        QTest::newRow("line breaks and UTF-8") << "naïve\ncafé  ok"
                                               << "naïve\ncafé ok!"
                                               << "  ok|"
                                               << " ok!|";
    }
    void wordDiffGivesBothTextsBack()
    {
        QFETCH(QString, a);
        QFETCH(QString, b);
        QFETCH(QString, removed);
        QFETCH(QString, added);
        const auto diff = Comparison::diffWords(a.toStdString(), b.toStdString());
        QCOMPARE(side(diff, Kind::Added), a.toStdString());
        QCOMPARE(side(diff, Kind::Removed), b.toStdString());
        QCOMPARE(joined(diff, Kind::Removed), removed.toStdString());
        QCOMPARE(joined(diff, Kind::Added), added.toStdString());
    }

    void longTextsAreGivenWholePastTheLimit()
    {
        std::string a, b;
        for (int i = 0; i < 2100; ++i) {
            const std::string n = std::to_string(i);
            a.append("w").append(n).append(" ");
            b.append("v").append(n).append(" ");
        }
        const auto diff = Comparison::diffWords(a, b); // 4200 × 4200 words and spaces: past kMaxDiffCells
        QCOMPARE(diff.size(), size_t(2));
        QCOMPARE(diff[0].text, a);
        QCOMPARE(diff[1].text, b);
    }

    void differingSettingsComeFirst()
    {
        engine::RunRequest a, b;
        a.sampling.temperature = 0.5f;
        b.sampling.temperature = 0.5f;
        a.scheduler.threads = 1;
        b.scheduler.threads = 2;
        b.maxTokens = a.maxTokens + 3;
        const auto settings = Comparison::settings(a, b);
        QVERIFY(settings.size() > 3);
        QVERIFY(settings[0].differs && settings[1].differs);
        QVERIFY(!settings[2].differs);
        QStringList differing;
        for (const auto& s : settings)
            if (s.differs)
                differing << QString::fromStdString(s.key);
        differing.sort();
        QCOMPARE(differing, QStringList({ QStringLiteral("max_tokens"), QStringLiteral("threads") }));
        // A key only one side has differs, and reads "–" on the other.
        const auto extra
            = Comparison::settings(nlohmann::json { { "x", 1 } }, nlohmann::json { { "x", 1 }, { "y", 2 } });
        QCOMPARE(extra.size(), size_t(2));
        QCOMPARE(extra[0].key, std::string("y"));
        QCOMPARE(Comparison::valueText(extra[0].a), std::string("–"));
    }

    void ratiosAreBOverA()
    {
        QCOMPARE(Comparison::ratio(4, 3), 0.75);
        QVERIFY(std::isnan(Comparison::ratio(0, 3)));
        QVERIFY(std::isnan(Comparison::ratio(2, NAN)));
        RunRecord r;
        r.metrics.wallMs = 12.5;
        r.threads = 3;
        const auto figures = Comparison::figures(r);
        QCOMPARE(figures.front().value, 12.5);
        bool threads = false;
        for (const auto& f : figures)
            threads |= f.name == "threads" && f.value == 3;
        QVERIFY(threads);
    }

    void mergedSweepsNameTheirSweep()
    {
        engine::SweepResult a, b;
        a.strategies.resize(1);
        a.strategies[0].strategy = "intra-op";
        b.strategies.resize(2);
        b.strategies[0].strategy = "intra-op";
        b.strategies[1].strategy = "request";
        const auto both = Comparison::mergedSweeps(a, b, "sweep 1", "sweep 2");
        QCOMPARE(both.strategies.size(), size_t(3));
        QCOMPARE(both.strategies[0].strategy, std::string("sweep 1 · intra-op"));
        QCOMPARE(both.strategies[2].strategy, std::string("sweep 2 · request"));
    }
};

QTEST_MAIN(TestComparison)
#include "test_comparison.moc"
