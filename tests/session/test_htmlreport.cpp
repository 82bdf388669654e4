// The HTML report's tables name things in words: no setting, machine field or sweep field shows its raw key
// ("add_bos", "isa_best", "scaled_work"), in a run, a comparison of two runs and a sweep alike.
#include "engine/measure/machine.h"
#include "engine/run/runsettings.h"
#include "session/htmlreport.h"

#include <QtTest>

#include <string>
#include <vector>

using namespace session;

namespace {

// The text of every table cell (<th>, <td>) and marked setting (<mark>), tags inside removed. (QRegularExpression,
// not std::regex: at -O1 with the sanitizers GCC 12 warns, wrongly, of an uninitialised std::function in <regex>.)
std::vector<std::string> cells(const std::string& html)
{
    std::vector<std::string> out;
    static const QRegularExpression cell(QStringLiteral(R"(<(th|td|mark)[^>]*>([\s\S]*?)</\1>)"));
    static const QRegularExpression tag(QStringLiteral(R"(<[^>]*>)"));
    const QString text = QString::fromStdString(html);
    for (auto it = cell.globalMatch(text); it.hasNext();)
        out.push_back(it.next().captured(2).remove(tag).toStdString());
    return out;
}

bool hasCell(const std::vector<std::string>& all, const std::string& text)
{
    return std::find(all.begin(), all.end(), text) != all.end();
}

Session handSession()
{
    Session s;
    s.model.name = "tiny";
    s.model.path = "synthetic:tiny";
    s.machine = engine::machineDescription();
    for (int k : { 40, 5 }) {
        RunRecord r;
        r.settings.prompts = { "Hello there" };
        r.settings.sampling.topK = k;
        r.threads = 2;
        r.metrics.wallMs = 10;
        s.runs.push_back(r);
    }
    SweepRecord sweep;
    engine::RunRequest workload;
    workload.prompts = { "Hi" };
    sweep.result.workload = engine::toJson(workload);
    sweep.result.workload["repeat"] = 3;
    sweep.result.workload["warmup"] = 1;
    sweep.result.workload["scaled_work"] = false;
    sweep.result.workload["pinned_threads"] = nlohmann::json::array();
    sweep.result.workload["threads"] = { 1, 2 };
    sweep.result.machine = s.machine;
    s.sweeps.push_back(sweep);
    return s;
}

} // namespace

class TestHtmlReport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void tablesShowNoRawKeys_data()
    {
        QTest::addColumn<int>("run");
        QTest::addColumn<int>("compareWith");
        QTest::newRow("a run and the sweep") << 0 << -1;
        QTest::newRow("two runs compared") << 0 << 1;
    }

    void tablesShowNoRawKeys()
    {
        QFETCH(int, run);
        QFETCH(int, compareWith);
        const Session s = handSession();
        HtmlReport::Options o;
        o.run = run;
        o.compareWith = compareWith;
        const std::vector<std::string> all = cells(HtmlReport::render(s, o));
        QVERIFY(all.size() > 20);
        // A key's form: lower-case words joined by underscores.
        static const QRegularExpression rawKey(QStringLiteral(R"(^[a-z][a-z0-9]*(_[a-z0-9]+)+$)"));
        for (const std::string& c : all)
            QVERIFY2(!rawKey.match(QString::fromStdString(c)).hasMatch(), c.c_str());
        // The words for them (written out here, not taken from the label map).
        for (const char* label : { "adds BOS token", "stops at end of text", "repeat penalty window, tokens",
                 "pins threads to cores", "logical cores", "best SIMD level of this CPU" })
            QVERIFY2(hasCell(all, label), label);
        if (compareWith >= 0) {
            QVERIFY(hasCell(all, "top-k")); // the setting that differs, marked
        } else {
            for (const char* label : { "measured runs per point", "warm-up runs per point",
                     "work grows with the threads (scaled)", "thread counts pinned to cores" })
                QVERIFY2(hasCell(all, label), label);
        }
    }
};

QTEST_GUILESS_MAIN(TestHtmlReport)
#include "test_htmlreport.moc"
