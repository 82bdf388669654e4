// Tests for engine/measure/traceexport: Chrome Trace Event JSON (metadata, slices, instants, busy counter), parse-back,
// the file writer, and the lane checker.
#include "engine/measure/traceexport.h"
#include "engine/model/synthetic.h"
#include "engine/run/run.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace engine;

Q_DECLARE_METATYPE(std::vector<engine::TraceEvent>)
Q_DECLARE_METATYPE(engine::Strategy)

namespace {

TraceEvent slice(int worker, Op op, int64_t begin, int64_t end, int layer = -1, uint32_t first = 0, uint32_t last = 0,
    int sequence = 0, int position = 0, int tokens = 1)
{
    TraceEvent e;
    e.worker = int16_t(worker);
    e.op = op;
    e.beginNs = begin;
    e.endNs = end;
    e.layer = int16_t(layer);
    e.first = first;
    e.last = last;
    e.sequence = int16_t(sequence);
    e.position = position;
    e.tokens = uint8_t(tokens);
    return e;
}

TraceEvent marker(int worker, Op op, int64_t at) { return slice(worker, op, at, at); }

// Three workers of a four-thread run (slot 3 never works), in recorder order (per slot), times in ns:
//   w0: embed [0, 1000)  attn_q L0 [1000, 3000)  other seq 1 [4000, 9000) ⊃ attn_k L2 [4000, 6000)  (nested)
//   w1: join @1200  attn_q L0 [1500, 3500)  serial L3 [6000, 6500)  leave @9600
//   w2: ffn_down L1 [2000, 2500)  logits [8500, 9500)
std::vector<TraceEvent> handEvents()
{
    return {
        slice(0, Op::Embed, 0, 1000, -1, 0, 4, 0, 0, 4),
        slice(0, Op::AttnQ, 1000, 3000, 0, 0, 32, 0, 5, 4),
        slice(0, Op::Other, 4000, 9000, -1, 1, 2, 1, 7, 1),
        slice(0, Op::AttnK, 4000, 6000, 2, 0, 16, 1, 7, 1),
        marker(1, Op::WorkerJoin, 1200),
        slice(1, Op::AttnQ, 1500, 3500, 0, 32, 64, 0, 5, 4),
        slice(1, Op::Serial, 6000, 6500, 3, 0, 0, 0, 9, 1),
        marker(1, Op::WorkerLeave, 9600),
        slice(2, Op::FfnDown, 2000, 2500, 1, 0, 16, 1, 3, 1),
        slice(2, Op::Logits, 8500, 9500, -1, 0, 256, 0, 9, 1),
    };
}

TraceMeta handMeta()
{
    TraceMeta meta;
    meta.processName = "llm-playground test";
    meta.model = "synthetic tiny";
    meta.threads = 4;
    meta.strategy = "hybrid";
    meta.partitioner = "static";
    meta.extra = { { "seed", 42 }, { "prompts", 2 } };
    return meta;
}

std::vector<nlohmann::json> eventsWithPhase(const nlohmann::json& trace, const char* ph)
{
    std::vector<nlohmann::json> out;
    for (const auto& e : trace["traceEvents"])
        if (e["ph"] == ph)
            out.push_back(e);
    return out;
}

const nlohmann::json* metadata(const nlohmann::json& trace, const char* name, int tid)
{
    for (const auto& e : trace["traceEvents"])
        if (e["ph"] == "M" && e["name"] == name && e.value("tid", -1) == tid)
            return &e;
    return nullptr;
}

bool sameEvent(const TraceEvent& a, const TraceEvent& b)
{
    return std::tie(a.beginNs, a.endNs, a.first, a.last, a.position, a.worker, a.layer, a.sequence, a.op, a.tokens)
        == std::tie(b.beginNs, b.endNs, b.first, b.last, b.position, b.worker, b.layer, b.sequence, b.op, b.tokens);
}

std::string describe(const TraceEvent& e)
{
    std::ostringstream s;
    s << opName(e.op) << " w" << e.worker << " [" << e.beginNs << ", " << e.endNs << ") L" << e.layer << " rows "
      << e.first << "-" << e.last << " seq " << e.sequence << " pos " << e.position << " tok " << int(e.tokens);
    return s.str();
}

// The export's order: by begin, a parent before the slices nested in it.
std::vector<TraceEvent> sortedLikeExport(std::vector<TraceEvent> events, bool keepMarkers)
{
    if (!keepMarkers)
        events.erase(std::remove_if(events.begin(), events.end(),
                         [](const TraceEvent& e) { return isMarker(e.op) && !isRegionSpan(e.op); }),
            events.end());
    std::stable_sort(events.begin(), events.end(), [](const TraceEvent& a, const TraceEvent& b) {
        return std::make_tuple(a.beginNs, -a.durationNs()) < std::make_tuple(b.beginNs, -b.durationNs());
    });
    return events;
}

} // namespace

class TestTraceExport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void metadataNamesProcessAndEveryWorkerLane()
    {
        const nlohmann::json trace = chromeTraceJson(handEvents(), handMeta());
        QCOMPARE(trace["displayTimeUnit"].get<std::string>(), std::string("ns"));
        const auto* process = metadata(trace, "process_name", kTraceTidOffset);
        QVERIFY(process);
        QCOMPARE((*process)["pid"].get<int>(), kTracePid);
        QCOMPARE((*process)["args"]["name"].get<std::string>(), std::string("llm-playground test"));

        // One named, sorted lane per slot of the four-thread arena, including idle slot 3.
        std::set<int> tids;
        for (int slot = 0; slot < 4; ++slot) {
            const int tid = slot + kTraceTidOffset;
            const auto* name = metadata(trace, "thread_name", tid);
            QVERIFY2(name, std::to_string(slot).c_str());
            const std::string expected = slot == 0 ? "worker 0 (caller)" : "worker " + std::to_string(slot);
            QCOMPARE((*name)["args"]["name"].get<std::string>(), expected);
            const auto* sort = metadata(trace, "thread_sort_index", tid);
            QVERIFY(sort);
            QCOMPARE((*sort)["args"]["sort_index"].get<int>(), slot);
            tids.insert(tid);
        }
        QCOMPARE(eventsWithPhase(trace, "M").size(), size_t(1 + 2 * 4));
        QVERIFY(!tids.count(0)); // tid 0 is avoided (Perfetto merges it into another track)
        // Pinned runs name each lane's CPU.
        TraceMeta pinned = handMeta();
        pinned.laneCpus = { 4, 5, 6, 7 };
        const nlohmann::json withCpus = chromeTraceJson(handEvents(), pinned);
        QCOMPARE((*metadata(withCpus, "thread_name", kTraceTidOffset))["args"]["name"].get<std::string>(),
            std::string("worker 0 (caller), CPU 4"));
        QCOMPARE((*metadata(withCpus, "thread_name", 3 + kTraceTidOffset))["args"]["name"].get<std::string>(),
            std::string("worker 3, CPU 7"));
        // Every slice sits on the lane of its worker, and only on named lanes.
        for (const auto& x : eventsWithPhase(trace, "X"))
            QVERIFY(tids.count(x["tid"].get<int>()));
    }

    void otherDataCarriesRunDescriptionAndExtras()
    {
        const auto other = chromeTraceJson(handEvents(), handMeta())["otherData"];
        QCOMPARE(other["model"].get<std::string>(), std::string("synthetic tiny"));
        QCOMPARE(other["threads"].get<int>(), 4);
        QCOMPARE(other["strategy"].get<std::string>(), std::string("hybrid"));
        QCOMPARE(other["partitioner"].get<std::string>(), std::string("static"));
        QCOMPARE(other["seed"].get<int>(), 42);
        QCOMPARE(other["prompts"].get<int>(), 2);
    }

    void slicesCarryMicrosecondTimesCategoryAndArgs_data()
    {
        QTest::addColumn<int>("tid");
        QTest::addColumn<double>("ts");
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("cat");
        QTest::addColumn<double>("dur");
        QTest::addColumn<int>("layer");
        QTest::addColumn<int>("first");
        QTest::addColumn<int>("last");
        QTest::addColumn<int>("seq");
        QTest::addColumn<int>("token");
        QTest::addColumn<int>("tokens");
        // tid = worker + 1; ts = beginNs / 1000, dur = (end − begin) / 1000.
        QTest::newRow("embed w0") << 1 << 0.0 << "embed"
                                  << "model" << 1.0 << -1 << 0 << 4 << 0 << 0 << 4;
        QTest::newRow("attn_q w0") << 1 << 1.0 << "attn_q"
                                   << "layer 0" << 2.0 << 0 << 0 << 32 << 0 << 5 << 4;
        QTest::newRow("attn_q w1") << 2 << 1.5 << "attn_q"
                                   << "layer 0" << 2.0 << 0 << 32 << 64 << 0 << 5 << 4;
        QTest::newRow("ffn_down w2") << 3 << 2.0 << "ffn_down"
                                     << "layer 1" << 0.5 << 1 << 0 << 16 << 1 << 3 << 1;
        QTest::newRow("outer task w0") << 1 << 4.0 << "other"
                                       << "model" << 5.0 << -1 << 1 << 2 << 1 << 7 << 1;
        QTest::newRow("nested attn_k w0") << 1 << 4.0 << "attn_k"
                                          << "layer 2" << 2.0 << 2 << 0 << 16 << 1 << 7 << 1;
        QTest::newRow("serial w1") << 2 << 6.0 << "serial"
                                   << "serial" << 0.5 << 3 << 0 << 0 << 0 << 9 << 1;
        QTest::newRow("logits w2") << 3 << 8.5 << "logits"
                                   << "model" << 1.0 << -1 << 0 << 256 << 0 << 9 << 1;
    }
    void slicesCarryMicrosecondTimesCategoryAndArgs()
    {
        QFETCH(int, tid);
        QFETCH(double, ts);
        QFETCH(QString, name);
        QFETCH(QString, cat);
        QFETCH(double, dur);
        QFETCH(int, layer);
        QFETCH(int, first);
        QFETCH(int, last);
        QFETCH(int, seq);
        QFETCH(int, token);
        QFETCH(int, tokens);

        const auto slices = eventsWithPhase(chromeTraceJson(handEvents(), handMeta()), "X");
        QCOMPARE(slices.size(), size_t(8)); // markers are not slices
        const nlohmann::json* found = nullptr;
        for (const auto& x : slices)
            if (x["tid"] == tid && x["ts"].get<double>() == ts && x["name"] == name.toStdString())
                found = &x;
        QVERIFY(found);
        const nlohmann::json& x = *found;
        QVERIFY(x["ts"].is_number_float() && x["dur"].is_number_float());
        QCOMPARE(x["pid"].get<int>(), kTracePid);
        QCOMPARE(x["cat"].get<std::string>(), cat.toStdString());
        QCOMPARE(x["dur"].get<double>(), dur);
        const auto& args = x["args"];
        QCOMPARE(args["layer"].get<int>(), layer);
        QCOMPARE(args["rows"], nlohmann::json({ first, last }));
        QCOMPARE(args["seq"].get<int>(), seq);
        QCOMPARE(args["token"].get<int>(), token);
        QCOMPARE(args["tokens"].get<int>(), tokens);
    }

    // Exported traces name their ops: the per-token steps read back as quantize and residual, and a file written
    // before them, whose residual adds were "serial", still reads as Op::Serial.
    void perTokenOpsReadBackByName()
    {
        const std::vector<TraceEvent> events { slice(0, Op::Quantize, 0, 100, 0, 0, 8, 0, 0, 20),
            slice(1, Op::Quantize, 0, 90, 0, 8, 20, 0, 0, 20), slice(0, Op::Residual, 200, 300, 0, 0, 20, 0, 0, 20),
            slice(0, Op::Serial, 400, 500, 1) };
        const auto json = chromeTraceJson(events, handMeta());
        std::vector<std::string> names;
        for (const auto& x : eventsWithPhase(json, "X"))
            names.push_back(x["name"].get<std::string>());
        QCOMPARE(names, (std::vector<std::string> { "quantize", "quantize", "residual", "serial" }));
        const auto back = parseChromeTrace(nlohmann::json::parse(json.dump()));
        QCOMPARE(back.size(), events.size());
        for (size_t i = 0; i < back.size(); ++i)
            QVERIFY2(sameEvent(back[i], events[i]), (describe(back[i]) + " vs " + describe(events[i])).c_str());
    }

    void subMicrosecondTimesSurviveAsFractions()
    {
        const std::vector<TraceEvent> events { slice(0, Op::Rope, 1234567, 1234999, 0) };
        const auto x = eventsWithPhase(chromeTraceJson(events, handMeta()), "X").at(0);
        QCOMPARE(x["ts"].get<double>(), 1234.567);
        QCOMPARE(x["dur"].get<double>(), 0.432);
        const auto back = parseChromeTrace(nlohmann::json::parse(chromeTraceJson(events, handMeta()).dump()));
        QCOMPARE(back.size(), size_t(1));
        QCOMPARE(back[0].beginNs, int64_t(1234567));
        QCOMPARE(back[0].endNs, int64_t(1234999));
    }

    void workerJoinAndLeaveAreThreadInstants()
    {
        const auto instants = eventsWithPhase(chromeTraceJson(handEvents(), handMeta()), "i");
        QCOMPARE(instants.size(), size_t(2));
        QCOMPARE(instants[0]["name"].get<std::string>(), std::string("worker_join"));
        QCOMPARE(instants[0]["s"].get<std::string>(), std::string("t"));
        QCOMPARE(instants[0]["tid"].get<int>(), 2);
        QCOMPARE(instants[0]["ts"].get<double>(), 1.2);
        QCOMPARE(instants[1]["name"].get<std::string>(), std::string("worker_leave"));
        QCOMPARE(instants[1]["ts"].get<double>(), 9.6);
    }

    void timedEventsAreSortedWithParentsFirst()
    {
        const nlohmann::json trace = chromeTraceJson(handEvents(), handMeta());
        double previous = -1.0;
        bool metadataDone = false;
        for (const auto& e : trace["traceEvents"]) {
            if (e["ph"] == "M") {
                QVERIFY(!metadataDone); // all metadata comes first
                continue;
            }
            metadataDone = true;
            QVERIFY(e["ts"].get<double>() >= previous);
            previous = e["ts"].get<double>();
        }
        // The outer task and its nested attn_k both begin at 4 µs; the outer one must come first.
        const auto slices = eventsWithPhase(trace, "X");
        const auto outer
            = std::find_if(slices.begin(), slices.end(), [](const auto& x) { return x["name"] == "other"; });
        const auto inner
            = std::find_if(slices.begin(), slices.end(), [](const auto& x) { return x["name"] == "attn_k"; });
        QVERIFY(outer < inner);
    }

    void busyCounterMatchesHandTimeline_data()
    {
        QTest::addColumn<double>("atMicros");
        QTest::addColumn<int>("busy");
        QTest::newRow("embed alone") << 0.5 << 1;
        QTest::newRow("join marker is not work") << 1.2 << 1;
        QTest::newRow("two attn_q overlap") << 1.6 << 2;
        QTest::newRow("three workers") << 2.2 << 3;
        QTest::newRow("ffn_down done") << 2.7 << 2;
        QTest::newRow("w0 done") << 3.2 << 1;
        QTest::newRow("all idle") << 3.7 << 0;
        QTest::newRow("nested slices count once") << 5.0 << 1;
        QTest::newRow("nested ends as w1 starts") << 6.2 << 2;
        QTest::newRow("outer task alone") << 7.0 << 1;
        QTest::newRow("logits and outer task") << 8.7 << 2;
        QTest::newRow("logits alone") << 9.2 << 1;
        QTest::newRow("after the run") << 10.0 << 0;
    }
    void busyCounterMatchesHandTimeline()
    {
        QFETCH(double, atMicros);
        QFETCH(int, busy);
        const auto counters = eventsWithPhase(chromeTraceJson(handEvents(), handMeta()), "C");
        // A counter holds its last value until the next point.
        int value = -1;
        for (const auto& c : counters) {
            QCOMPARE(c["name"].get<std::string>(), std::string("busy workers"));
            if (c["ts"].get<double>() <= atMicros)
                value = c["args"]["busy"].get<int>();
        }
        QCOMPARE(value, busy);
    }

    void busyCounterHasPointsOnlyAtChanges()
    {
        // 0 → 1 at 0 (replacing the start point), then 2, 3, 2, 1, 0, 1, 2, 1, 2, 1, 0: the 1 µs hand-over on w0
        // and the nested begin/end at 4 µs on w0 are no changes.
        const std::vector<std::pair<int64_t, int>> expected { { 0, 1 }, { 1500, 2 }, { 2000, 3 }, { 2500, 2 },
            { 3000, 1 }, { 3500, 0 }, { 4000, 1 }, { 6000, 2 }, { 6500, 1 }, { 8500, 2 }, { 9000, 1 }, { 9500, 0 } };
        QCOMPARE(busyWorkerSteps(handEvents()), expected);
        QCOMPARE(eventsWithPhase(chromeTraceJson(handEvents(), handMeta()), "C").size(), expected.size());
        const std::vector<std::pair<int64_t, int>> idle { { 0, 0 } };
        QCOMPARE(busyWorkerSteps({}), idle);
    }

    void parsedBackSlicesEqualTheInput()
    {
        const nlohmann::json trace = chromeTraceJson(handEvents(), handMeta());
        // Through text, as a file would go.
        const nlohmann::json reread = nlohmann::json::parse(trace.dump());
        QCOMPARE(reread, trace);
        for (bool withMarkers : { false, true }) {
            const auto back = parseChromeTrace(reread, withMarkers);
            const auto expected = sortedLikeExport(handEvents(), withMarkers);
            QCOMPARE(back.size(), expected.size());
            for (size_t i = 0; i < back.size(); ++i)
                QVERIFY2(sameEvent(back[i], expected[i]), (describe(back[i]) + " vs " + describe(expected[i])).c_str());
        }
        // The bare-array form reads the same.
        QCOMPARE(parseChromeTrace(reread["traceEvents"]).size(), size_t(8));
    }

    void writtenFileParsesToTheSameDocument()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("trace.json")).toStdString();
        writeChromeTrace(path, handEvents(), handMeta());
        std::ifstream in(path);
        const nlohmann::json fromFile = nlohmann::json::parse(in);
        QCOMPARE(fromFile, chromeTraceJson(handEvents(), handMeta()));
        std::string why;
        QVERIFY2(lanesWellFormed(parseChromeTrace(fromFile), &why), why.c_str());
    }

    void writeChromeTraceThrowsNamingThePath()
    {
        const std::string path = "/nonexistent-directory-for-test/trace.json";
        try {
            writeChromeTrace(path, handEvents(), handMeta());
            QFAIL("no exception");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
        }
    }

    void parseRejectsMalformedDocuments_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("not a trace") << QByteArray(R"({"events":[]})");
        QTest::newRow("slice without ts")
            << QByteArray(R"({"traceEvents":[{"ph":"X","name":"rope","tid":1,"dur":1}]})");
        QTest::newRow("slice with string dur")
            << QByteArray(R"({"traceEvents":[{"ph":"X","name":"rope","tid":1,"ts":1,"dur":"1"}]})");
        QTest::newRow("event not an object") << QByteArray(R"([1])");
        // Found by fuzz/trace_json.cpp: out-of-range numbers were converted with undefined behaviour.
        QTest::newRow("tid beyond int") << QByteArray(R"([{"ph":"X","name":"rope","tid":-2147483648,"ts":1,"dur":1}])");
        QTest::newRow("ts beyond int64 ns") << QByteArray(R"([{"ph":"X","name":"rope","tid":1,"ts":1e300,"dur":1}])");
        QTest::newRow("layer beyond int")
            << QByteArray(R"([{"ph":"X","name":"rope","tid":1,"ts":1,"dur":1,"args":{"layer":1e300}}])");
        QTest::newRow("string rows") << QByteArray(
            R"([{"ph":"X","name":"rope","tid":1,"ts":1,"dur":1,"args":{"rows":["a",1]}}])");
        QTest::newRow("string layer") << QByteArray(
            R"([{"ph":"X","name":"rope","tid":1,"ts":1,"dur":1,"args":{"layer":"x"}}])");
    }
    void parseRejectsMalformedDocuments()
    {
        QFETCH(QByteArray, text);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, parseChromeTrace(nlohmann::json::parse(text.toStdString())));
    }

    void lanesWellFormedAcceptsNestingAndRejectsPartialOverlap_data()
    {
        using Events = std::vector<TraceEvent>;
        // Slices on worker 0 unless said otherwise; p is a parent [0, 100).
        auto s = [](int64_t begin, int64_t end, int worker = 0) { return slice(worker, Op::AttnQ, begin, end); };
        const TraceEvent p = slice(0, Op::Other, 0, 100);
        QTest::addColumn<Events>("events");
        QTest::addColumn<bool>("wellFormed");
        QTest::newRow("hand trace") << handEvents() << true;
        QTest::newRow("partial overlap on one worker") << Events { s(0, 100), s(50, 150) } << false;
        QTest::newRow("same overlap on two workers") << Events { s(0, 100), s(50, 150, 1) } << true;
        QTest::newRow("nested") << Events { p, s(10, 90) } << true;
        QTest::newRow("nested, child listed first") << Events { s(10, 90), p } << true;
        QTest::newRow("identical") << Events { s(5, 9), s(5, 9) } << true;
        QTest::newRow("touching ends") << Events { s(0, 10), s(10, 20) } << true;
        QTest::newRow("two children in sequence") << Events { p, s(10, 50), s(60, 90) } << true;
        QTest::newRow("child crosses parent end") << Events { p, s(10, 50), s(60, 120) } << false;
        QTest::newRow("siblings overlap inside parent") << Events { p, s(10, 50), s(40, 60) } << false;
        QTest::newRow("ends before it begins") << Events { s(10, 5) } << false;
        // A join inside a slice, and a (malformed) leave with a duration crossing it: neither is a slice.
        const Events markers { s(0, 10), marker(0, Op::WorkerJoin, 5), slice(0, Op::WorkerLeave, 3, 20) };
        QTest::newRow("markers ignored") << markers << true;
    }
    void lanesWellFormedAcceptsNestingAndRejectsPartialOverlap()
    {
        QFETCH(std::vector<TraceEvent>, events);
        QFETCH(bool, wellFormed);
        std::string why = "stale";
        QCOMPARE(lanesWellFormed(events, &why), wellFormed);
        if (wellFormed)
            QVERIFY(why.empty());
        else
            QVERIFY2(why.find("worker 0") != std::string::npos, why.c_str()); // the message names the lane
        QCOMPARE(lanesWellFormed(events), wellFormed); // why is optional
    }

    void realRunExportsWellFormedLanesThatParseBack_data()
    {
        QTest::addColumn<Strategy>("strategy");
        for (Strategy s : allStrategies())
            QTest::newRow(strategyName(s)) << s;
    }
    void realRunExportsWellFormedLanesThatParseBack()
    {
        QFETCH(Strategy, strategy);
        static const auto model = makeSyntheticModel("tiny");
        RunRequest request;
        request.prompts = { "The quick brown fox", "jumps over" };
        request.maxTokens = 4;
        request.stopAtEos = false;
        request.strategy = strategy;
        request.scheduler = { 2, Partitioner::Auto, 1 };
        request.contextLength = 64;
        const RunResult r = executeRun(model, request);
        QVERIFY(!r.trace.empty());

        TraceMeta meta;
        meta.threads = 2;
        meta.strategy = strategyName(strategy);
        const nlohmann::json trace = nlohmann::json::parse(chromeTraceJson(r.trace, meta).dump());
        const auto back = parseChromeTrace(trace);
        const auto expected = sortedLikeExport(r.trace, false);
        QCOMPARE(back.size(), expected.size());
        for (size_t i = 0; i < back.size(); ++i)
            QVERIFY2(sameEvent(back[i], expected[i]), (describe(back[i]) + " vs " + describe(expected[i])).c_str());
        std::string why;
        QVERIFY2(lanesWellFormed(back, &why), why.c_str());
        for (const auto& c : eventsWithPhase(trace, "C"))
            QVERIFY(c["args"]["busy"].get<int>() <= 2); // never more busy workers than slots
    }

    void emptyTraceStillOpens()
    {
        TraceMeta meta;
        meta.threads = 2;
        const nlohmann::json trace = nlohmann::json::parse(chromeTraceJson({}, meta).dump());
        QCOMPARE(eventsWithPhase(trace, "M").size(), size_t(1 + 2 * 2));
        QCOMPARE(eventsWithPhase(trace, "X").size(), size_t(0));
        QVERIFY(parseChromeTrace(trace).empty());
    }
};

QTEST_APPLESS_MAIN(TestTraceExport)
#include "test_traceexport.moc"
