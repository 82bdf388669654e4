// The command-line front end as a user runs it: outputs, exit codes, and bad input that must not crash it.
#include "testsupport.h"

#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/lessons/lesson.h"
#include "engine/model/synthetic.h"
#include "engine/text/tokenizer.h"
#include "engine/text/vocabulary.h"

#include <QtTest>

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QThread>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fstream>

using namespace engine;

namespace {

struct Result {
    int exitCode = -1;
    QProcess::ExitStatus status = QProcess::CrashExit;
    QByteArray out, err;
};

Result runCli(const QStringList& args, int timeoutMs = 120000,
    const QProcessEnvironment& environment = QProcessEnvironment::systemEnvironment())
{
    QProcess p;
    p.setProcessEnvironment(environment);
    p.start(QStringLiteral(PLAYGROUND_CLI), args);
    Result r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    r.exitCode = p.exitCode();
    r.status = p.exitStatus();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

void writeBytes(const QString& path, const std::vector<uint8_t>& bytes, size_t count)
{
    std::ofstream out(path.toStdString(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(count));
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void analyzeExplainsARunAndCachesTheMachine()
    {
        // The machine's ceilings go to a cache of this test's own: measured on the first run, read on the second.
        const QString cache = m_dir.filePath("roofline.json");
        const QString json = m_dir.filePath("analysis.json");
        const QStringList args { "analyze", "--synthetic", "tiny", "-t", "2", "-n", "6", "--raw", "-p", "once upon",
            "--machine-cache", cache, "--predict", "1,2,8", "--json", json };
        Result r = runCli(args);
        QCOMPARE(r.status, QProcess::NormalExit);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.out.contains("PREDICTED"));
        QVERIFY(r.out.contains("measured now"));
        if (!QFile::exists(cache)) {
            // Other processes (tests running beside this one) disturbed the measurement: it says so and is not kept.
            QVERIFY(r.out.contains("not cached"));
            // Keep this run's figures as an undisturbed measurement would have been kept, to test reading them.
            QFile first(json);
            QVERIFY(first.open(QIODevice::ReadOnly));
            const nlohmann::json m = nlohmann::json::parse(first.readAll().toStdString()).at("machine");
            const nlohmann::json kept { { "cpu", m.at("cpu") }, { "cores", m.at("cores") },
                { "bandwidth_gbps_1", m.at("bandwidth_gbps_1") }, { "bandwidth_gbps_all", m.at("bandwidth_gbps") },
                { "peak_gflops_1", m.at("peak_gflops_1") }, { "peak_gflops_all", m.at("peak_gflops") },
                { "fork_join_ns_1", m.at("fork_join_ns_1") }, { "fork_join_ns_all", m.at("fork_join_ns_all") },
                { "fma_kernel", m.at("fma_kernel") } };
            QFile out(cache);
            QVERIFY(out.open(QIODevice::WriteOnly));
            out.write(QByteArray::fromStdString(kept.dump()));
        }
        r = runCli(args);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.out.contains("figures from the cache"));

        QFile f(json);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const nlohmann::json j = nlohmann::json::parse(f.readAll().toStdString());
        QVERIFY(j.at("wall_ms").get<double>() > 0);
        QVERIFY(j.at("machine").at("from_cache").get<bool>());
        for (const char* phase : { "prefill", "decode", "total" }) {
            const auto& p = j.at("phases").at(phase);
            const auto& idle = p.at("idle_ms");
            // The idle parts add up to the idle total, and busy + idle to the lane-time (to rounding of doubles).
            const double parts = idle.at("imbalance").get<double>() + idle.at("overhead").get<double>()
                + idle.at("serial").get<double>() + idle.at("untraced").get<double>()
                + idle.at("disturbed").get<double>();
            QVERIFY(std::abs(parts - idle.at("total").get<double>()) < 1e-6);
            QVERIFY(std::abs(p.at("busy_ms").get<double>() + parts - p.at("lane_ms").get<double>()) < 1e-6);
            QVERIFY(p.contains("tokens") && p.contains("tps") && p.contains("serial_ms") && p.contains("parallel_ms"));
        }
        QCOMPARE(j.at("phases").at("decode").at("tokens").get<int>(), 5); // 6 generated, the first from prefill
        bool sawMatmul = false;
        for (const auto& op : j.at("ops")) {
            QVERIFY(op.contains("calls") && op.contains("gbps") && op.contains("gflops") && op.contains("bound"));
            if (op.at("op") == "ffn_down" && op.at("phase") == "decode") {
                sawMatmul = true;
                QCOMPARE(op.at("calls").get<int>(), 4 * 5); // 4 layers x 5 decode steps
                QVERIFY(op.at("bound") == "memory" || op.at("bound") == "compute");
            }
        }
        QVERIFY(sawMatmul);
        const auto& prediction = j.at("prediction");
        QVERIFY(prediction.at("available").get<bool>());
        QCOMPARE(prediction.at("points").size(), size_t(3));
        QCOMPARE(prediction.at("points")[0].at("speedup").get<double>(), 1.0);
        QVERIFY(prediction.at("points")[2].at("beyond_cores").get<bool>() == (QThread::idealThreadCount() < 8));

        // --validate runs the other thread counts and compares them with the prediction for this machine.
        const QString validated = m_dir.filePath("validated.json");
        const Result v = runCli({ "analyze", "--synthetic", "tiny", "-t", "1", "-n", "4", "--raw", "-p", "once",
            "--machine-cache", cache, "--validate", "2", "--repeat", "1", "--json", validated });
        QVERIFY2(v.exitCode == 0, v.err.constData());
        QVERIFY(v.out.contains("VALIDATION"));
        QFile vf(validated);
        QVERIFY(vf.open(QIODevice::ReadOnly));
        const nlohmann::json vj = nlohmann::json::parse(vf.readAll().toStdString());
        QCOMPARE(vj.at("validation").size(), size_t(1));
        const auto& point = vj.at("validation")[0];
        QCOMPARE(point.at("threads").get<int>(), 2);
        const double predicted = point.at("predicted_decode_tps").get<double>();
        const double measured = point.at("measured_decode_tps").get<double>();
        QVERIFY(predicted > 0 && measured > 0);
        QVERIFY(std::abs(point.at("decode_error_percent").get<double>() - 100.0 * (predicted - measured) / measured)
            < 1e-6);

        // sweep --predict: the predicted table, labelled, and the JSON's per-strategy prediction.
        const QString sweepJson = m_dir.filePath("predicted-sweep.json");
        const Result sw = runCli({ "sweep", "--synthetic", "tiny", "-n", "3", "-t", "1,2", "-r", "1", "--warmup", "0",
            "--predict", "1,4", "--machine-cache", cache, "--json", sweepJson });
        QVERIFY2(sw.exitCode == 0, sw.err.constData());
        QVERIFY(sw.out.contains("PREDICTED (a model, not a measurement)"));
        QFile sf(sweepJson);
        QVERIFY(sf.open(QIODevice::ReadOnly));
        const nlohmann::json sj = nlohmann::json::parse(sf.readAll().toStdString());
        QCOMPARE(sj.at("strategies")[0].at("prediction").at("points").size(), size_t(2));

        // Another strategy: analysed, but not replayed, and it says why.
        const Result req = runCli({ "analyze", "--synthetic", "tiny", "-t", "2", "-n", "3", "-s", "request", "-p", "a",
            "-p", "b", "--machine-cache", cache });
        QVERIFY2(req.exitCode == 0, req.err.constData());
        QVERIFY(req.out.contains("no scaling prediction: the prediction replays intra-op runs"));
    }

    void demoListsRunsOneAndRefusesUnknownNames()
    {
        const Result list = runCli({ "demo", "--list" });
        QCOMPARE(list.exitCode, 0);
        for (const engine::lessons::Lesson* l : engine::lessons::allLessons()) {
            QVERIFY2(list.out.contains(QByteArray::fromStdString(l->name())), list.out.constData());
            QVERIFY(list.out.contains(QByteArray::fromStdString(l->title())));
        }
        const Result unknown = runCli({ "demo", "no-such-demo" });
        QCOMPARE(unknown.status, QProcess::NormalExit);
        QCOMPARE(unknown.exitCode, 2);
        QVERIFY(unknown.err.contains("no-such-demo"));
        QVERIFY(unknown.err.contains("prefill-vs-decode")); // the list, to pick from

        // Made-up ceilings in a cache of this test's own, so the demo does not spend seconds measuring the machine.
        const QString cache = m_dir.filePath("demo-roofline.json");
        {
            std::ofstream out(cache.toStdString());
            out << engine::toJson(testsupport::fakeMachinePeaks()).dump();
        }
        const QString json = m_dir.filePath("demo.json");
        const Result r = runCli({ "demo", "prefill-vs-decode", "--quick", "--json", json, "--machine-cache", cache });
        QCOMPARE(r.status, QProcess::NormalExit);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QFile file(json);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const nlohmann::json j = nlohmann::json::parse(file.readAll().toStdString());
        QCOMPARE(j.at("name").get<std::string>(), std::string("prefill-vs-decode"));
        QCOMPARE(j.at("title").get<std::string>(), std::string("Prefill vs decode"));
        const std::string text = j.at("explanation").get<std::string>();
        QVERIFY(!text.empty());
        QVERIFY(r.out.contains(QByteArray::fromStdString(text))); // what was printed is what was written
        QVERIFY(j.at("measured").contains("prefill_speedup"));
        QVERIFY(j.at("measured_text").at("prefill_speedup").get<std::string>().find("×") != std::string::npos);
        QVERIFY(!j.at("look_at").empty());
    }

    void generateJsonHasTextTokensAndFigures()
    {
        const Result r = runCli({ "generate", "--synthetic", "tiny", "--temperature", "0", "-n", "12", "--json" });
        QCOMPARE(r.status, QProcess::NormalExit);
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j.value("token_ids").toArray().size(), 12);
        QVERIFY(j.value("prompt_tokens").toInt() > 1);
        for (const char* key : { "prefill_ms", "prefill_tps", "time_to_first_token_ms", "decode_tps", "peak_rss_mib" })
            QVERIFY2(j.value(key).toDouble() > 0, key);
        QCOMPARE(j.value("stop_reason").toString(), QStringLiteral("max_tokens"));
        QVERIFY(j.contains("text"));
    }

    // generate/sweep --session-out write sessions (the run's tokens and trace, the sweep), report turns them into a
    // self-contained page, and a damaged session is refused with exit code 1 and a message.
    void sessionsAndReports()
    {
        const QString run = m_dir.filePath(QStringLiteral("run.json"));
        const Result r = runCli({ "generate", "--synthetic", "tiny", "--temperature", "0", "-n", "6", "-t", "2",
            "--json", "--session-out", run });
        QCOMPARE(r.exitCode, 0);
        const nlohmann::json printed = nlohmann::json::parse(r.out.toStdString());
        std::ifstream in(run.toStdString());
        const nlohmann::json session = nlohmann::json::parse(in);
        QCOMPARE(session["format"].get<std::string>(), std::string("llm-playground-session"));
        QCOMPARE(session["version"].get<int>(), 2);
        QCOMPARE(session["model"]["path"].get<std::string>(), std::string("synthetic:tiny"));
        const nlohmann::json& saved = session["runs"][0];
        QCOMPARE(saved["sequences"][0]["token_ids"], printed["token_ids"]);
        QCOMPARE(saved["sequences"][0]["text"], printed["text"]);
        QCOMPARE(saved["tokens"].size(), printed["token_ids"].size());
        QCOMPARE(saved["threads"].get<int>(), 2);
        QVERIFY(saved["trace"]["events"].get<int>() > 0);
        QCOMPARE(saved["trace"]["events"].get<uint64_t>(), saved["metrics"]["trace_events"].get<uint64_t>());

        const QString sweep = m_dir.filePath(QStringLiteral("sweep.json"));
        const Result sw = runCli({ "sweep", "--synthetic", "tiny", "-n", "2", "-t", "1,2", "-r", "1", "--warmup", "0",
            "--session-out", sweep });
        QCOMPARE(sw.exitCode, 0);
        std::ifstream sin(sweep.toStdString());
        const nlohmann::json swept = nlohmann::json::parse(sin);
        QCOMPARE(swept["sweeps"].size(), size_t(1));
        QCOMPARE(swept["sweeps"][0]["result"]["strategies"][0]["decode"].size(), size_t(2));

        const QString html = m_dir.filePath(QStringLiteral("report.html"));
        const Result rep = runCli({ "report", "--session", run, "--html", html });
        QVERIFY2(rep.exitCode == 0, rep.err.constData());
        QFile page(html);
        QVERIFY(page.open(QIODevice::ReadOnly));
        const QByteArray text = page.readAll();
        QVERIFY(text.startsWith("<!DOCTYPE html>"));
        QVERIFY(text.contains("<svg class=\"timeline\""));
        // The generated text, escaped for HTML (& < > " as entities).
        QVERIFY(text.contains(QString::fromStdString(printed["text"].get<std::string>()).toHtmlEscaped().toUtf8()));
        for (const char* external : { "http:", "https:", "src=", "href=", "<script" })
            QVERIFY2(!text.contains(external), external);
        const Result sweepReport = runCli({ "report", "--session", sweep, "--html", html });
        QCOMPARE(sweepReport.exitCode, 0);
        QFile sweepPage(html);
        QVERIFY(sweepPage.open(QIODevice::ReadOnly));
        QVERIFY(sweepPage.readAll().contains("<svg class=\"speedup\""));

        const QString bad = m_dir.filePath(QStringLiteral("bad.json"));
        writeBytes(bad, { '{', '"', 'f' }, 3);
        const Result refused = runCli({ "report", "--session", bad, "--html", html });
        QCOMPARE(refused.exitCode, 1);
        QVERIFY2(refused.err.contains("not valid JSON"), refused.err.constData());
        const Result noSuchRun = runCli({ "report", "--session", run, "--html", html, "--run", "5" });
        QCOMPARE(noSuchRun.exitCode, 2);

        // --append builds one session from several commands; report --compare puts two of its runs on one page.
        const Result second = runCli({ "generate", "--synthetic", "tiny", "--temperature", "0", "-n", "4", "-t", "1",
            "--session-out", run, "--append" });
        QVERIFY2(second.exitCode == 0, second.err.constData());
        std::ifstream both(run.toStdString());
        QCOMPARE(nlohmann::json::parse(both)["runs"].size(), size_t(2));
        const Result compared = runCli({ "report", "--session", run, "--html", html, "--run", "1", "--compare", "2" });
        QVERIFY2(compared.exitCode == 0, compared.err.constData());
        QFile comparePage(html);
        QVERIFY(comparePage.open(QIODevice::ReadOnly));
        const QByteArray comparison = comparePage.readAll();
        QVERIFY(comparison.contains("comparison of two runs"));
        QCOMPARE(comparison.count("<svg class=\"timeline\""), 2);
        QVERIFY(comparison.contains("<mark>threads</mark>"));
        QVERIFY(comparison.contains("<mark>max tokens</mark>"));
        const Result noSuchCompare = runCli({ "report", "--session", run, "--html", html, "--compare", "3" });
        QCOMPARE(noSuchCompare.exitCode, 2);
        QVERIFY2(noSuchCompare.err.contains("--compare: the session has 2 runs"), noSuchCompare.err.constData());
    }

    void generateTopLogprobsWritesAlternativesPerToken()
    {
        const QString path = m_dir.filePath(QStringLiteral("alternatives.json"));
        const Result r = runCli(
            { "generate", "--synthetic", "tiny", "--seed", "5", "-n", "6", "--top-logprobs", "3", "--json", path });
        QCOMPARE(r.exitCode, 0);
        QVERIFY(!r.out.isEmpty()); // the text still goes to stdout
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject j = QJsonDocument::fromJson(f.readAll()).object();
        const QJsonArray ids = j.value("token_ids").toArray();
        const QJsonArray tokens = j.value("tokens").toArray();
        QCOMPARE(ids.size(), 6);
        QCOMPARE(tokens.size(), ids.size());
        for (qsizetype i = 0; i < tokens.size(); ++i) {
            const QJsonObject t = tokens[i].toObject();
            QCOMPARE(t.value("id").toInt(), ids[i].toInt());
            QVERIFY(t.value("logprob").toDouble() <= 0.0);
            const QJsonArray alternatives = t.value("alternatives").toArray();
            QVERIFY(alternatives.size() >= 3);
            bool listed = false;
            for (const QJsonValue& a : alternatives) {
                const QJsonObject o = a.toObject();
                listed = listed || o.value("id").toInt() == t.value("id").toInt();
                // Removed by a stage <=> no final log-probability.
                QCOMPARE(o.value("removed_by").isNull(), !o.value("logprob_final").isNull());
            }
            QVERIFY(listed);
        }
        // Without --json there is nowhere to put them: a usage error.
        const Result bad = runCli({ "generate", "--synthetic", "tiny", "-n", "2", "--top-logprobs", "3" });
        QCOMPARE(bad.exitCode, 2);
        QVERIFY(bad.err.contains("--json"));
    }

    void generateTokensSameForEveryThreadCount()
    {
        QJsonArray baseline;
        for (const char* threads : { "1", "2", "5" }) {
            const Result r = runCli({ "generate", "--synthetic", "tiny", "--temperature", "0.8", "--seed", "9", "-n",
                "16", "--threads", threads, "--partitioner", "static", "--json" });
            QCOMPARE(r.exitCode, 0);
            const QJsonArray ids = QJsonDocument::fromJson(r.out).object().value("token_ids").toArray();
            QCOMPARE(ids.size(), 16);
            if (baseline.isEmpty())
                baseline = ids;
            QCOMPARE(ids, baseline);
        }
    }

    void plainGenerateStreamsTextAndReportsOnStderr()
    {
        const Result r = runCli({ "generate", "--synthetic", "tiny", "-n", "5", "--threads", "2" });
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.err.contains("prompt tokens:"));
        QVERIFY(r.err.contains("decode:"));
        QVERIFY(r.err.contains("peak RSS"));
    }

    void usageErrorsExitWithTwoAndExplain_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("phrase");
        QTest::newRow("no command") << QStringList {} << "";
        QTest::newRow("unknown command") << QStringList { "fly" } << "";
        QTest::newRow("zero threads") << QStringList { "generate", "--synthetic", "tiny", "--threads", "0" }
                                      << "thread count";
        QTest::newRow("too many threads")
            << QStringList { "generate", "--synthetic", "tiny", "--threads", "100000" } << "thread count";
        QTest::newRow("threads not a number") << QStringList { "generate", "--threads", "many" } << "";
        QTest::newRow("bad partitioner") << QStringList { "generate", "--synthetic", "tiny", "--partitioner", "x" }
                                         << "partitioner";
        QTest::newRow("top-p above one") << QStringList { "generate", "--synthetic", "tiny", "--top-p", "5" } << "top";
        QTest::newRow("negative temperature")
            << QStringList { "generate", "--synthetic", "tiny", "--temperature=-1" } << "temperature";
        QTest::newRow("absurd max tokens")
            << QStringList { "generate", "--synthetic", "tiny", "-n", "999999999" } << "max tokens";
        QTest::newRow("unknown shape") << QStringList { "generate", "--synthetic", "huge" } << "known:";
        QTest::newRow("model and synthetic")
            << QStringList { "generate", "--synthetic", "tiny", "--model", "x.gguf" } << "not both";
        QTest::newRow("missing prompt file") << QStringList { "generate", "--synthetic", "tiny", "--prompt-file",
            "/nonexistent/p.txt" } << "prompt file";
        QTest::newRow("bad thread list") << QStringList { "bench", "--synthetic", "tiny", "--threads", "1,x" }
                                         << "thread list";
        QTest::newRow("tokenize without text") << QStringList { "tokenize", "--synthetic", "tiny" } << "";
        QTest::newRow("negative seed") << QStringList { "generate", "--synthetic", "tiny", "--seed=-1" }
                                       << "cannot be negative";
        // Checked before the model is loaded: the missing file would otherwise be the error (exit 3).
        for (const char* cmd : { "generate", "analyze", "sweep" }) {
            QTest::newRow(qPrintable(QStringLiteral("%1: bad top-p before the model").arg(QLatin1String(cmd))))
                << QStringList { QLatin1String(cmd), "--model", "/nonexistent/m.gguf", "--top-p", "2" } << "top-p";
            QTest::newRow(qPrintable(QStringLiteral("%1: bad strategy before the model").arg(QLatin1String(cmd))))
                << QStringList { QLatin1String(cmd), "--model", "/nonexistent/m.gguf", "-s", "warp" } << "warp";
        }
    }
    void usageErrorsExitWithTwoAndExplain()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, phrase);
        const Result r = runCli(args);
        QCOMPARE(r.status, QProcess::NormalExit);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(phrase.toUtf8()), r.err.constData());
    }

    // --ctx above the model's trained context (tiny: 512 tokens) is a usage error naming both
    // lengths and the flag, for a synthetic shape (checked before the model is built), a model file
    // (checked once it is mapped) and a sweep; --allow-ctx-overflow runs it.
    void contextAboveTheTrainedLengthIsRefusedUnlessAllowed()
    {
        const QString file = m_dir.filePath(QStringLiteral("tiny-ctx.gguf"));
        const auto bytes = syntheticModelGguf(syntheticShape("tiny"));
        writeBytes(file, bytes, bytes.size());
        const QStringList refused[] = {
            { "generate", "--synthetic", "tiny", "--ctx", "4096", "-n", "2" },
            { "generate", "--model", file, "--ctx", "4096", "-n", "2" },
            { "trace", "--synthetic", "tiny", "--ctx", "4096", "-n", "2", "--out", m_dir.filePath("t.json") },
            { "sweep", "--synthetic", "tiny", "--ctx", "4096", "-n", "2", "--threads", "1", "--repeat", "1" },
        };
        for (const QStringList& args : refused) {
            const Result r = runCli(args);
            QCOMPARE(r.status, QProcess::NormalExit);
            QVERIFY2(r.exitCode == 2, qPrintable(args.join(' ') + ": exit " + QString::number(r.exitCode)));
            for (const char* phrase : { "4096", "trained context length of 512", "--allow-ctx-overflow" })
                QVERIFY2(r.err.contains(phrase), r.err.constData());
        }
        // bench has no --ctx: its prompt + decode tokens (+ 1) are the context.
        const Result bench = runCli({ "bench", "--synthetic", "tiny", "--prompt-tokens", "500", "--decode-tokens",
            "100", "--no-bandwidth", "--repeat", "1" });
        QCOMPARE(bench.exitCode, 2);
        QVERIFY2(bench.err.contains("601") && bench.err.contains("--allow-ctx-overflow"), bench.err.constData());
        const Result ok = runCli({ "generate", "--synthetic", "tiny", "--ctx", "1024", "--allow-ctx-overflow", "-n",
            "3", "--temperature", "0", "--json" });
        QCOMPARE(ok.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(ok.out).object().value("token_ids").toArray().size(), 3);
        const Result atTheLimit = runCli({ "generate", "--model", file, "--ctx", "512", "-n", "2", "--json" });
        QCOMPARE(atTheLimit.exitCode, 0);
    }

    // A scaled sweep (p copies of the prompts at p threads) reports Gustafson's scaled speedup and
    // efficiency, and neither T(1)/T(p) as a speedup nor Karp–Flatt nor an Amdahl fit; a fixed-work
    // sweep still has them. Tiny model, two tokens, one run per point: about a second.
    void scaledSweepTableShowsScaledSpeedupAndNoFit()
    {
        const QString json = m_dir.filePath(QStringLiteral("scaled.json"));
        const Result scaled = runCli({ "sweep", "--synthetic", "tiny", "--scaled", "-s", "request", "--threads", "1,2",
            "--repeat", "1", "--warmup", "0", "-n", "2", "--json", json });
        QCOMPARE(scaled.exitCode, 0);
        QVERIFY2(
            scaled.out.contains("scaled S") && scaled.out.contains("scaled eff") && scaled.out.contains("Gustafson"),
            scaled.out.constData());
        for (const char* absent : { "Karp-Flatt", "Amdahl fit", "speedup  efficiency" })
            QVERIFY2(!scaled.out.contains(absent), scaled.out.constData());
        QFile file(json);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject decode = QJsonDocument::fromJson(file.readAll())
                                       .object()
                                       .value("strategies")
                                       .toArray()
                                       .at(0)
                                       .toObject()
                                       .value("phases")
                                       .toObject()
                                       .value("decode")
                                       .toObject();
        QVERIFY(!decode.contains("serialFraction"));
        const QJsonArray points = decode.value("points").toArray();
        QCOMPARE(points.size(), 2);
        const double t1 = points.at(0).toObject().value("medianSeconds").toDouble();
        const QJsonObject p2 = points.at(1).toObject();
        QVERIFY(!p2.contains("karpFlatt") && !p2.contains("speedup"));
        QVERIFY(qAbs(p2.value("scaledSpeedup").toDouble() - 2 * t1 / p2.value("medianSeconds").toDouble()) < 1e-9);

        const Result fixed = runCli({ "sweep", "--synthetic", "tiny", "-s", "intra-op", "--threads", "1,2", "--repeat",
            "1", "--warmup", "0", "-n", "2" });
        QCOMPARE(fixed.exitCode, 0);
        QVERIFY2(fixed.out.contains("Karp-Flatt") && fixed.out.contains("Amdahl fit"), fixed.out.constData());
        QVERIFY(!fixed.out.contains("scaled S"));
    }

    // Every model problem, through every subcommand that takes --model: exit code 3, the file named, the problem
    // said. A column lists the subcommands a problem does not concern (inspect shows the metadata of a file it
    // cannot run; tokenize needs only the vocabulary; both read only the header, so any size is fine; quantize
    // converts tensors without running them).
    void unusableModelFilesExitWithThreeAndNameTheProblem_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("phrase");
        QTest::addColumn<QStringList>("notFor");
        const QStringList runs { "inspect", "tokenize", "quantize" }; // problems only running the model meets
        QTest::newRow("missing file") << "missing"
                                      << "missing.gguf" << QStringList {};
        QTest::newRow("not a GGUF file") << "text"
                                         << "magic" << QStringList {};
        QTest::newRow("truncated in the tensor data") << "truncated"
                                                      << "past the end" << QStringList {};
        QTest::newRow("truncated in the metadata") << "header"
                                                   << "at byte" << QStringList {};
        QTest::newRow("empty file") << "empty"
                                    << "empty.gguf" << QStringList {};
        QTest::newRow("unsupported tokenizer")
            << "tokenizer"
            << "tokenizer model 'bertx' is not supported" << QStringList { "inspect", "quantize" };
        QTest::newRow("unsupported architecture")
            << "architecture"
            << "architecture 'mamba' is not supported" << QStringList { "inspect", "tokenize", "quantize" };
        QTest::newRow("unsupported tensor type") << "type"
                                                 << "Q4_1" << runs; // quantize copies a type it cannot convert
        QTest::newRow("too large for the memory")
            << "big"
            << "too large for the memory available" << QStringList { "inspect", "tokenize" };
        QTest::newRow("NaN in a weight") << "nan"
                                         << "'blk.1.ffn_down.weight' (row 2)" << runs;
    }
    void unusableModelFilesExitWithThreeAndNameTheProblem()
    {
        QFETCH(QString, kind);
        QFETCH(QString, phrase);
        QFETCH(QStringList, notFor);
        const QString path = m_dir.filePath(kind + ".gguf");
        const auto bytes = syntheticModelGguf(syntheticShape("tiny"));
        // Where a string `key` ends in the bytes: metadata values and tensor-table entries follow their names.
        auto after = [](std::vector<uint8_t>& b, const std::string& key) {
            const auto at = std::search(b.begin(), b.end(), key.begin(), key.end());
            return at == b.end() ? at : at + std::ptrdiff_t(key.size());
        };
        std::vector<uint8_t> edited = bytes;
        if (kind == "text")
            edited.assign(100, 'a');
        else if (kind == "truncated")
            edited.resize(bytes.size() - 1000);
        else if (kind == "header")
            edited.resize(2000);
        else if (kind == "empty")
            edited.clear();
        else if (kind == "tokenizer") {
            // tokenizer.ggml.model's value, "llama", becomes "bertx": the key, its type (u32) and length (u64).
            const auto value = after(edited, "tokenizer.ggml.model") + 4 + 8;
            QCOMPARE(std::string(value, value + 5), std::string("llama"));
            std::copy_n("bertx", 5, value);
        } else if (kind == "architecture") {
            const auto value = after(edited, "general.architecture") + 4 + 8;
            QCOMPARE(std::string(value, value + 5), std::string("llama"));
            std::copy_n("mamba", 5, value);
        } else if (kind == "type") {
            // blk.0.attn_q.weight's entry in the tensor table: name, u32 dims (2), two u64 dims, then u32 type. F32
            // (0) becomes Q4_1 (3): known to GGUF, not computed by this engine, and smaller, so it still fits.
            const auto entry = after(edited, "blk.0.attn_q.weight");
            QVERIFY(entry != edited.end());
            const auto type = entry + 4 + 2 * 8;
            QCOMPARE(int(*type), 0);
            *type = 3;
        } else if (kind == "nan") {
            const GgufFile parsed = GgufFile::fromMemory(bytes, "nan");
            const GgufTensorInfo* down = parsed.findTensor("blk.1.ffn_down.weight");
            QVERIFY(down && down->type == GgmlType::F32);
            const float nan = std::numeric_limits<float>::quiet_NaN();
            std::memcpy(edited.data() + down->fileOffset + 777 * sizeof(float), &nan, sizeof nan); // row 777 / 384
        }
        if (kind != "missing")
            writeBytes(path, edited, edited.size());
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        if (kind == "big") // what the engine takes as the memory available, for tests: far less than the 3.6 MB file
            environment.insert(QStringLiteral("PLAYGROUND_MEMORY_AVAILABLE"), QStringLiteral("65536"));
        const QString cache = m_dir.filePath("fake-roofline.json"); // analyze reads it instead of measuring
        {
            std::ofstream out(cache.toStdString());
            out << engine::toJson(testsupport::fakeMachinePeaks()).dump(2) << '\n';
        }
        // Each with what keeps it quick.
        const std::vector<std::pair<QString, QStringList>> commands {
            { "generate", { "-n", "2" } },
            { "trace", { "-n", "2", "--out", m_dir.filePath("bad-trace.json") } },
            { "tokenize", { "--text", "hi" } },
            { "inspect", {} },
            { "bench",
                { "--threads", "1", "--prompt-tokens", "4", "--decode-tokens", "2", "--repeat", "1",
                    "--no-bandwidth" } },
            { "sweep", { "-t", "1", "-r", "1", "--warmup", "0", "-n", "2" } },
            { "analyze", { "-t", "1", "-n", "2", "--machine-cache", cache } },
            { "ab", { "-n", "2", "--seeds", "1" } },
            { "quantize", { "--type", "Q8_0", "--out", m_dir.filePath("bad-quantized.gguf") } },
        };
        for (const auto& [cmd, extra] : commands) {
            if (notFor.contains(cmd))
                continue;
            const Result r = runCli(QStringList { cmd, "--model", path } + extra, 120000, environment);
            const QByteArray context = (cmd + ": ").toUtf8() + r.err;
            QCOMPARE(r.status, QProcess::NormalExit);
            QVERIFY2(r.exitCode == 3, context.constData());
            QVERIFY2(r.err.contains(phrase.toUtf8()), context.constData());
            QVERIFY2(r.err.contains(path.toUtf8()), context.constData()); // names the file
        }
    }

    void syntheticShapeTooLargeForTheMemoryIsRefusedBeforeItIsBuilt()
    {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("PLAYGROUND_MEMORY_AVAILABLE"), QStringLiteral("1048576"));
        for (const QStringList& args : { QStringList { "generate", "--synthetic", "tiny", "-n", "2" },
                 QStringList {
                     "quantize", "--synthetic", "tiny", "--type", "Q8_0", "--out", m_dir.filePath("q.gguf") } }) {
            const Result r = runCli(args, 120000, environment);
            QCOMPARE(r.status, QProcess::NormalExit);
            QVERIFY2(r.exitCode == 3, r.err.constData());
            QVERIFY2(r.err.contains("synthetic:tiny"), r.err.constData());
            QVERIFY2(r.err.contains("PLAYGROUND_MEMORY_AVAILABLE 1.0 MiB"), r.err.constData());
        }
    }

    void tokenizeWorksOnAVocabOnlyFile()
    {
        // A vocabulary with no tensors and an architecture this build cannot run: tokenize still works.
        auto model = makeSyntheticModel("tiny");
        GgufWriter w;
        w.setString("general.architecture", "someday");
        model->tokenizer().vocab().writeTo(w);
        const QString path = m_dir.filePath("vocab.gguf");
        w.write(path.toStdString());
        const std::string text = "hello there, ünïcödé 🙂";
        const Result r = runCli({ "tokenize", "--model", path, "--text", QString::fromStdString(text), "--pieces" });
        QCOMPARE(r.exitCode, 0);
        const auto lines = r.out.split('\n');
        QVERIFY(lines.size() >= 2);
        QStringList want;
        for (int32_t id : model->tokenizer().encode(text, true))
            want << QString::number(id);
        QCOMPARE(QString::fromUtf8(lines[0]), want.join(' '));
        QVERIFY(QJsonDocument::fromJson(lines[1]).isArray());
    }

    void quantizeWritesSyntheticShapes()
    {
        const QString q4 = m_dir.filePath("synthetic-q4_0.gguf");
        Result r = runCli({ "quantize", "--synthetic", "tiny", "--type", "Q4_0", "--out", q4 });
        QCOMPARE(r.exitCode, 0);
        QVERIFY(!QFileInfo::exists(q4 + ".f32.tmp")); // the intermediate F32 file is gone
        r = runCli({ "inspect", "--model", q4 });
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("Q4_0"), r.out.constData());
        const QString f32 = m_dir.filePath("synthetic-f32.gguf");
        QCOMPARE(runCli({ "quantize", "--synthetic", "tiny", "--type", "F32", "--out", f32 }).exitCode, 0);
        QCOMPARE(QFileInfo(f32).size(), qint64(syntheticModelGguf(syntheticShape("tiny")).size()));
        r = runCli({ "generate", "--model", q4, "-n", "4", "--json" });
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(runCli({ "quantize", "--type", "Q4_0", "--out", q4 }).exitCode, 2);
        QCOMPARE(runCli({ "quantize", "--synthetic", "huge", "--type", "Q4_0", "--out", q4 }).exitCode, 2);
        QCOMPARE(
            runCli({ "quantize", "--model", q4, "--synthetic", "tiny", "--type", "Q4_0", "--out", q4 }).exitCode, 2);
    }

    void abComparesVariantsAndExports()
    {
        const QString csv = m_dir.filePath("ab.csv");
        const QString json = m_dir.filePath("ab.json");
        const Result r = runCli({ "ab", "--synthetic", "tiny", "-p", "In the beginning", "-p", "And God, said",
            "--seeds", "2", "--seed", "5", "-n", "4", "-t", "2", "--csv", csv, "--json", json });
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("perplexity"), r.out.constData());
        QFile c(csv);
        QVERIFY(c.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = c.readAll().split('\n');
        QCOMPARE(lines.size(), 1 + 4 + 2 + 1); // header, 2 variants x 2 seeds, 2 variant rows, the empty last line
        QVERIFY(lines[1].startsWith("sample,1,In the beginning,5,")); // variants from 1, as in the window
        QFile j(json);
        QVERIFY(j.open(QIODevice::ReadOnly));
        const QJsonObject o = QJsonDocument::fromJson(j.readAll()).object();
        QCOMPARE(o.value("samples").toArray().size(), 4);
        QCOMPARE(o.value("samples").toArray()[0].toObject().value("tokenProbabilities").toArray().size(), 4);
        QCOMPARE(runCli({ "ab", "--synthetic", "tiny", "--seeds", "0" }).exitCode, 2);
    }

    void quantizeWritesAChatTemplateForSyntheticModels()
    {
        const QString out = m_dir.filePath("chat.gguf");
        QCOMPARE(
            runCli({ "quantize", "--synthetic", "tiny", "--type", "F32", "--chat-template", "chatml", "--out", out })
                .exitCode,
            0);
        const Result r = runCli({ "generate", "--model", out, "-n", "3", "--json", "-p", "Hi" });
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(r.out).object().value("chat_template").toString(), QStringLiteral("chatml"));
        QCOMPARE(runCli({ "quantize", "--chat-template", "chatml", "--type", "F32", "--out", out }).exitCode, 2);
    }

    void quantizeDryRunPrintsWhatQuantizeDoes()
    {
        // --dry-run lists the same tensor lines (types, sizes, notes) as the real run, and writes nothing.
        const QString in = m_dir.filePath("dry-tiny.gguf");
        const auto bytes = syntheticModelGguf(syntheticShape("tiny"));
        writeBytes(in, bytes, bytes.size());
        const Result dry = runCli({ "quantize", "--model", in, "--type", "q4_k_m", "--dry-run" });
        QCOMPARE(dry.exitCode, 0);
        QVERIFY2(dry.out.contains("dry run, nothing written"), dry.out.constData());
        QVERIFY2(dry.out.contains("Q4_K_M"), dry.out.constData());
        QVERIFY2(dry.out.contains("types: F32 "), dry.out.constData());
        const QString out = m_dir.filePath("dry-tiny-q4_k_m.gguf");
        const Result real = runCli({ "quantize", "--model", in, "--type", "Q4_K_M", "--out", out });
        QCOMPARE(real.exitCode, 0);
        auto tensorLines = [](const QByteArray& text) {
            QList<QByteArray> lines;
            for (const QByteArray& line : text.split('\n'))
                if (line.startsWith("  ") || line.startsWith("types:"))
                    lines << line;
            return lines;
        };
        QVERIFY(tensorLines(dry.out).size() > 10);
        QCOMPARE(tensorLines(dry.out), tensorLines(real.out));
        const Result f16 = runCli({ "quantize", "--model", in, "--type", "f16", "--dry-run" });
        QCOMPARE(f16.exitCode, 0);
        QVERIFY2(f16.out.contains("types: F32 9, F16 "), f16.out.constData()); // 4 layers x 2 norms + output_norm
        QCOMPARE(runCli({ "quantize", "--model", in, "--type", "Q4_K_M" }).exitCode, 2); // neither --out nor --dry-run
        QCOMPARE(runCli({ "quantize", "--model", in, "--type", "Q4_K_S", "--dry-run" }).exitCode, 2);
    }

    void inspectShowsHyperParametersAndTensors()
    {
        const QString path = m_dir.filePath("tiny.gguf");
        const auto bytes = syntheticModelGguf(syntheticShape("tiny"));
        writeBytes(path, bytes, bytes.size());
        const Result r = runCli({ "inspect", "--model", path });
        QCOMPARE(r.exitCode, 0);
        for (const char* s :
            { "llama.embedding_length = 128", "layers 4", "KV heads 2", "blk.3.ffn_down.weight", "token_embd.weight" })
            QVERIFY2(r.out.contains(s), s);
    }

    void inspectShowsTheRopeVariantLoaded()
    {
        SyntheticShape s = syntheticShape("tiny");
        s.architecture = "qwen3";
        s.headDim = 64; // q 256 wide over an embedding of 128
        s.ropeDims = 32;
        s.ropeScaling = "yarn";
        s.ropeScaleFactor = 4.0f;
        s.ropeOriginalContext = 128;
        const QString path = m_dir.filePath("qwen3.gguf");
        const auto bytes = syntheticModelGguf(s);
        writeBytes(path, bytes, bytes.size());
        const Result r = runCli({ "inspect", "--model", path });
        QCOMPARE(r.exitCode, 0);
        for (const char* want : { "model: qwen3", "head dim 64", "rope: 32 of 64 head dims, NeoX pairs",
                 "scaling yarn factor 4 (original context 128)", "frequency factors no", "q/k norms" })
            QVERIFY2(r.out.contains(want), want);
    }

    void invalidUtf8PromptDoesNotCrash()
    {
        const QString path = m_dir.filePath("bad.txt");
        const std::vector<uint8_t> bad { 'a', 0xff, 0xc3, 'b', 0xe2, 0x82, 0x0a, 0xf0, 0x9f };
        writeBytes(path, bad, bad.size());
        const Result r = runCli({ "generate", "--synthetic", "tiny", "--prompt-file", path, "-n", "4", "--json" });
        QCOMPARE(r.exitCode, 0);
        QVERIFY(QJsonDocument::fromJson(r.out).isObject());
    }

    void benchReportsRatiosAsJson()
    {
        const QString out = m_dir.filePath("bench.json");
        const Result r = runCli({ "bench", "--synthetic", "tiny", "--threads", "1,2", "--repeat", "1",
            "--prompt-tokens", "16", "--decode-tokens", "4", "--probe-mib", "64", "--json", out });
        QCOMPARE(r.exitCode, 0);
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject j = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(j.value("results").toArray().size(), 2);
        QVERIFY(j.value("prefill_speedup").toDouble() > 0);
        QVERIFY(j.value("bandwidth").toArray().at(0).toObject().value("median_gbps").toDouble() > 0);
        QVERIFY(j.value("results").toArray().at(1).toObject().value("decode_ceiling_ratio").toDouble() > 0);
        // The weights' own read: every matrix a decoded token reads, i.e. its bytes less the one embedding row
        // (the tiny shape is F32 with 128 dimensions), once per thread count measured.
        const QJsonArray read = j.value("weights_read").toArray();
        QCOMPARE(read.size(), 2);
        const double perToken = j.value("model").toObject().value("weight_bytes_per_token").toDouble();
        for (int i = 0; i < 2; ++i) {
            const QJsonObject w = read.at(i).toObject();
            QCOMPARE(w.value("threads").toInt(), std::min(i + 1, QThread::idealThreadCount()));
            QCOMPARE(w.value("bytes").toDouble(), perToken - 128 * 4);
            QVERIFY(w.value("max_gbps").toDouble() >= w.value("median_gbps").toDouble());
            QVERIFY(j.value("results").toArray().at(i).toObject().value("decode_weights_read_ratio").toDouble() > 0);
        }
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
