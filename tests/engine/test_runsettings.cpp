// The run settings codec: every field survives a round trip, bad values are refused by name, and
// missing keys take the defaults.
#include "engine/run/runsettings.h"

#include "engine/measure/sweep.h"
#include "engine/model/synthetic.h"

#include <QtTest>

using namespace engine;
using nlohmann::json;

namespace {

RunRequest nonDefault()
{
    RunRequest r;
    r.prompts = { "first prompt", "second, with \"quotes\" and ünïcode" };
    r.systemPrompt = "Be brief.";
    r.chat = true;
    r.sampling.temperature = 0.25f;
    r.sampling.topK = 7;
    r.sampling.topP = 0.5f;
    r.sampling.minP = 0.125f;
    r.sampling.repeatPenalty = 1.5f;
    r.sampling.repeatLastN = 32;
    r.sampling.seed = 9876543210ull;
    r.maxTokens = 321;
    r.addBos = false;
    r.stopAtEos = false;
    r.strategy = Strategy::Hybrid;
    r.scheduler.threads = 3;
    r.scheduler.partitioner = Partitioner::Affinity;
    r.scheduler.grain = 16;
    r.scheduler.pinThreads = true;
    r.contextLength = 1024;
    r.allowContextOverflow = true;
    r.trace = false;
    return r;
}

// The message of the std::invalid_argument that reading `j` throws ("" if it does not throw).
QString refusal(const json& j)
{
    try {
        runRequestFromJson(j);
    } catch (const std::invalid_argument& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

} // namespace

class TestRunSettings : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void nonDefaultValuesSurviveARoundTrip()
    {
        const RunRequest a = nonDefault();
        // Through text as well, as QSettings and session files store it.
        const RunRequest b = runRequestFromJson(json::parse(toJson(a).dump()));
        QVERIFY(b.prompts == a.prompts);
        QCOMPARE(b.systemPrompt, a.systemPrompt);
        QCOMPARE(b.chat, a.chat);
        QCOMPARE(b.sampling.temperature, a.sampling.temperature);
        QCOMPARE(b.sampling.topK, a.sampling.topK);
        QCOMPARE(b.sampling.topP, a.sampling.topP);
        QCOMPARE(b.sampling.minP, a.sampling.minP);
        QCOMPARE(b.sampling.repeatPenalty, a.sampling.repeatPenalty);
        QCOMPARE(b.sampling.repeatLastN, a.sampling.repeatLastN);
        QCOMPARE(b.sampling.seed, a.sampling.seed);
        QCOMPARE(b.maxTokens, a.maxTokens);
        QCOMPARE(b.addBos, a.addBos);
        QCOMPARE(b.stopAtEos, a.stopAtEos);
        QCOMPARE(b.strategy, a.strategy);
        QCOMPARE(b.scheduler.threads, a.scheduler.threads);
        QCOMPARE(b.scheduler.partitioner, a.scheduler.partitioner);
        QCOMPARE(b.scheduler.grain, a.scheduler.grain);
        QCOMPARE(b.scheduler.pinThreads, a.scheduler.pinThreads);
        QCOMPARE(b.contextLength, a.contextLength);
        QCOMPARE(b.allowContextOverflow, a.allowContextOverflow);
        QCOMPARE(b.trace, a.trace);
        QCOMPARE(toJson(b), toJson(a));
    }

    void namesAreTheSessionFileKeys()
    {
        const json j = toJson(nonDefault());
        QCOMPARE(j.at("strategy").get<std::string>(), std::string("hybrid"));
        QCOMPARE(j.at("partitioner").get<std::string>(), std::string("affinity"));
        QCOMPARE(j.at("top_k").get<int>(), 7);
        QCOMPARE(j.at("pin_threads").get<bool>(), true);
        QCOMPARE(j.at("system").get<std::string>(), std::string("Be brief."));
    }

    // Floats are written as the decimals a person typed (0.55, not 0.550000011920929), and read back
    // as the same float.
    void floatsAreWrittenInTheirShortestForm()
    {
        RunRequest r;
        r.sampling.temperature = 0.55f;
        r.sampling.topP = 0.9f;
        r.sampling.repeatPenalty = 1.1f;
        const std::string text = toJson(r).dump();
        QVERIFY2(text.find("\"temperature\":0.55,") != std::string::npos, text.c_str());
        QVERIFY2(text.find("\"top_p\":0.9,") != std::string::npos, text.c_str());
        QVERIFY2(text.find("\"repeat_penalty\":1.1,") != std::string::npos, text.c_str());
        const RunRequest back = runRequestFromJson(json::parse(text));
        QCOMPARE(back.sampling.temperature, 0.55f);
        QCOMPARE(back.sampling.topP, 0.9f);
        QCOMPARE(back.sampling.repeatPenalty, 1.1f);
    }

    // A sweep's export records its run settings in the codec's form: less the per-point strategy and
    // tracing, with the sweep's list of thread counts, the rest reads back as the request it ran.
    void sweepExportHoldsTheRunSettingsInTheCodecsForm()
    {
        SweepRequest sweep;
        sweep.workload.prompts = { "a b" };
        sweep.workload.maxTokens = 2;
        sweep.workload.sampling.topK = 7;
        sweep.workload.sampling.minP = 0.125f;
        sweep.workload.scheduler.partitioner = Partitioner::Static;
        sweep.workload.scheduler.grain = 4;
        sweep.threads = { 2, 1 };
        sweep.repeat = 1;
        sweep.warmup = 0;
        const SweepResult result = runSweep(makeSyntheticModel("tiny"), sweep);
        json w = result.workload;
        QVERIFY(!w.contains("strategy"));
        QVERIFY(!w.contains("trace"));
        QCOMPARE(w.at("threads"), json({ 1, 2 }));
        QCOMPARE(w.at("repeat").get<int>(), 1);
        QCOMPARE(w.at("top_k").get<int>(), 7);
        for (const char* key : { "model", "threads", "repeat", "warmup", "scaled_work", "cancelled" })
            w.erase(key);
        RunRequest expected = sweep.workload;
        const RunRequest back = runRequestFromJson(w);
        expected.strategy = back.strategy; // not recorded: each point has its own
        expected.trace = back.trace;
        expected.scheduler.threads = back.scheduler.threads;
        QCOMPARE(toJson(back), toJson(expected));
    }

    void missingKeysTakeTheDefaults()
    {
        const RunRequest d;
        const RunRequest r = runRequestFromJson(json::object());
        QCOMPARE(toJson(r), toJson(d));
        // A partial object changes only what it names; unknown keys (the rest of a session) are ignored.
        const RunRequest p = runRequestFromJson({ { "threads", 4 }, { "format", "llm-playground-session-1" } });
        QCOMPARE(p.scheduler.threads, 4);
        QCOMPARE(p.sampling.temperature, d.sampling.temperature);
        QCOMPARE(p.strategy, d.strategy);
        QCOMPARE(p.maxTokens, d.maxTokens);
        QVERIFY(p.prompts.empty());
    }

    // Settings files written before the overflow switch existed load with it off, so a long context
    // they hold is refused until the user allows it; the key's name is the file's.
    void contextOverflowDefaultsToOffAndIsWrittenByName()
    {
        const RunRequest old = runRequestFromJson({ { "context_length", 4096 }, { "threads", 2 } });
        QCOMPARE(old.contextLength, 4096);
        QCOMPARE(old.allowContextOverflow, false);
        RunRequest r;
        r.allowContextOverflow = true;
        QCOMPARE(toJson(r).at("allow_context_overflow").get<bool>(), true);
        QCOMPARE(runRequestFromJson(toJson(r)).allowContextOverflow, true);
        QVERIFY(refusal({ { "allow_context_overflow", "yes" } }).contains(QStringLiteral("allow_context_overflow")));
    }

    void badValuesAreRefusedByName()
    {
        QVERIFY(refusal(json::array()).contains(QStringLiteral("object")));
        QVERIFY(refusal({ { "strategy", "sideways" } }).contains(QStringLiteral("sideways")));
        QVERIFY(refusal({ { "partitioner", "random" } }).contains(QStringLiteral("random")));
        QVERIFY(refusal({ { "threads", 0 } }).contains(QStringLiteral("thread")));
        QVERIFY(refusal({ { "threads", 100000 } }).contains(QStringLiteral("thread")));
        QVERIFY(refusal({ { "threads", 2.5 } }).contains(QStringLiteral("threads")));
        QVERIFY(refusal({ { "threads", "4" } }).contains(QStringLiteral("threads")));
        QVERIFY(refusal({ { "grain", 0 } }).contains(QStringLiteral("grain")));
        QVERIFY(refusal({ { "temperature", -1 } }).contains(QStringLiteral("temperature")));
        QVERIFY(refusal({ { "temperature", "hot" } }).contains(QStringLiteral("temperature")));
        QVERIFY(refusal({ { "top_p", 0 } }).contains(QStringLiteral("top-p")));
        QVERIFY(refusal({ { "min_p", 2 } }).contains(QStringLiteral("min-p")));
        QVERIFY(refusal({ { "repeat_penalty", 0 } }).contains(QStringLiteral("repeat penalty")));
        QVERIFY(refusal({ { "seed", -1 } }).contains(QStringLiteral("seed")));
        QVERIFY(refusal({ { "max_tokens", -5 } }).contains(QStringLiteral("max_tokens")));
        QVERIFY(refusal({ { "context_length", -1 } }).contains(QStringLiteral("context_length")));
        QVERIFY(refusal({ { "prompts", "not a list" } }).contains(QStringLiteral("prompts")));
        QVERIFY(refusal({ { "chat", 1 } }).contains(QStringLiteral("chat")));
        QVERIFY(refusal({ { "prompts", std::vector<std::string>(257, "x") } }).contains(QStringLiteral("256")));
        // Every message says where it came from.
        QVERIFY(refusal({ { "top_p", 0 } }).startsWith(QStringLiteral("run settings")));
    }
};

QTEST_APPLESS_MAIN(TestRunSettings)
#include "test_runsettings.moc"
