// Session files: a real run, its analysis and a real sweep survive save → open field for field; the trace codec
// keeps every event; damaged, truncated, future and hostile files are refused with a message, never a crash.
#include "session/sessionfile.h"
#include "session/tracecodec.h"

#include "engine/measure/sweepexport.h"
#include "engine/model/synthetic.h"
#include "engine/run/runsettings.h"
#include "testsupport.h"

#include <QtTest>

#include <zlib.h>

#include <fstream>
#include <random>

using namespace session;
using nlohmann::json;

namespace {

bool sameEvent(const engine::TraceEvent& a, const engine::TraceEvent& b)
{
    return a.beginNs == b.beginNs && a.endNs == b.endNs && a.first == b.first && a.last == b.last
        && a.position == b.position && a.worker == b.worker && a.layer == b.layer && a.sequence == b.sequence
        && a.op == b.op && a.tokens == b.tokens;
}

// Events with every field at awkward values: negative layers and positions, extremes, markers, out-of-order
// begin times across workers.
std::vector<engine::TraceEvent> randomEvents(size_t n, uint32_t seed)
{
    std::mt19937_64 rng(seed);
    std::vector<engine::TraceEvent> v(n);
    std::vector<int64_t> clock(8, 0);
    for (auto& e : v) {
        e.worker = int16_t(rng() % 8);
        int64_t& t = clock[size_t(e.worker)];
        t += int64_t(rng() % 50000);
        e.beginNs = t;
        e.endNs = t + int64_t(rng() % 200000);
        e.first = uint32_t(rng() % 4096);
        e.last = e.first + uint32_t(rng() % 512);
        e.position = int32_t(rng() % 300) - 1;
        e.layer = int16_t(int(rng() % 40) - 1);
        e.sequence = int16_t(rng() % 4);
        e.op = engine::Op(rng() % uint64_t(engine::Op::Count_));
        e.tokens = uint8_t(1 + rng() % 255);
    }
    v.front().beginNs = std::numeric_limits<int64_t>::min() / 4; // deltas must not overflow
    v.back().first = std::numeric_limits<uint32_t>::max();
    v.back().last = std::numeric_limits<uint32_t>::max();
    v.back().worker = std::numeric_limits<int16_t>::min();
    return v;
}

QString refusal(const std::string& bytes)
{
    try {
        SessionFile::parse(bytes);
    } catch (const SessionError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

std::string zlibOf(const std::string& raw)
{
    uLongf size = compressBound(uLong(raw.size()));
    std::string out(size, '\0');
    compress2(
        reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 9);
    out.resize(size);
    return out;
}

std::string base64(const std::string& s)
{
    // Through the session writer: one event-free run whose trace is replaced below would be circular; Qt's own.
    return QByteArray::fromStdString(s).toBase64().toStdString();
}

} // namespace

class TestSessionFile : public QObject {
    Q_OBJECT

    Session m_session; // a real traced run with its analysis and a real sweep, made once

private Q_SLOTS:
    void initTestCase()
    {
        auto model = engine::makeSyntheticModel("tiny");
        engine::RunRequest request;
        request.sampling.temperature = 0;
        request.prompts = { "Once upon a time", "The cat" };
        request.maxTokens = 6;
        request.strategy = engine::Strategy::Request;
        request.scheduler.threads = 2;
        request.systemPrompt = "Be brief. «ünïcode»";
        request.sampling.seed = 9876543210ull;
        struct Collect : engine::RunListener {
            std::mutex mutex;
            std::vector<TokenRecord> tokens;
            void onToken(int sequence, int32_t id, std::string_view text) override
            {
                std::lock_guard lock(mutex);
                tokens.push_back({ sequence, id, int(tokens.size()), std::string(text) });
            }
        } listener;
        const engine::RunResult result = engine::executeRun(model, request, &listener);
        QVERIFY(!result.trace.empty());
        RunRecord run;
        run.startedAt = SessionFile::nowUtc();
        run.settings = request;
        run.sequences = result.sequences;
        run.tokens = listener.tokens;
        run.metrics = result.metrics;
        run.threads = result.threads;
        run.strategy = result.strategy;
        run.pinnedCpus = { 3, 1 };
        run.backgroundLoad = { true, 0.5, 0.25, 2, 1.5 };
        run.trace = result.trace;
        run.report = engine::buildRunReport(result, *model, testsupport::fakeMachinePeaks(), { 1, 2, 4 });
        m_session.runs.push_back(run);
        RunRecord untraced = run;
        untraced.trace.clear();
        untraced.report.reset();
        untraced.cancelled = true;
        m_session.runs.push_back(untraced);

        engine::SweepRequest sweep;
        sweep.workload = request;
        sweep.workload.trace = false;
        sweep.workload.maxTokens = 2;
        sweep.threads = { 1, 2 };
        sweep.repeat = 2;
        sweep.warmup = 0;
        sweep.strategies = { engine::Strategy::IntraOp, engine::Strategy::Request };
        m_session.sweeps.push_back({ SessionFile::nowUtc(), engine::runSweep(model, sweep) });
        m_session.model = ModelRef::of("synthetic:tiny", "tiny");
        m_session.settings = request;
        m_session.settings.scheduler.grain = 16;
    }

    void roundTripKeepsEveryField()
    {
        QTemporaryDir dir;
        const std::string path = testsupport::tempPath(dir, QStringLiteral("s.json"));
        SessionFile::write(path, m_session);
        const Session back = SessionFile::read(path);
        QCOMPARE(back.formatVersion, SessionFile::kVersion);
        QCOMPARE(back.model.path, m_session.model.path);
        QCOMPARE(engine::toJson(back.settings), engine::toJson(m_session.settings));
        QCOMPARE(back.runs.size(), m_session.runs.size());
        for (size_t r = 0; r < back.runs.size(); ++r) {
            const RunRecord& a = m_session.runs[r];
            const RunRecord& b = back.runs[r];
            QCOMPARE(b.startedAt, a.startedAt);
            QCOMPARE(engine::toJson(b.settings), engine::toJson(a.settings));
            QCOMPARE(b.cancelled, a.cancelled);
            QCOMPARE(b.threads, a.threads);
            QCOMPARE(b.strategy, a.strategy);
            QCOMPARE(b.pinnedCpus, a.pinnedCpus);
            QCOMPARE(b.backgroundLoad.otherCores, a.backgroundLoad.otherCores);
            QCOMPARE(b.backgroundLoad.seconds, a.backgroundLoad.seconds);
            // Doubles keep every bit (JSON numbers written with round-trip precision).
            QCOMPARE(b.metrics.wallMs, a.metrics.wallMs);
            QCOMPARE(b.metrics.decodeTokensPerSecond, a.metrics.decodeTokensPerSecond);
            QCOMPARE(b.metrics.loadImbalance, a.metrics.loadImbalance);
            QCOMPARE(b.metrics.decodeEndNs, a.metrics.decodeEndNs);
            QCOMPARE(b.metrics.workers.size(), a.metrics.workers.size());
            for (size_t w = 0; w < a.metrics.workers.size(); ++w) {
                QCOMPARE(b.metrics.workers[w].busyNs, a.metrics.workers[w].busyNs);
                QCOMPARE(b.metrics.workers[w].meanChunkNs, a.metrics.workers[w].meanChunkNs);
            }
            QCOMPARE(b.sequences.size(), a.sequences.size());
            for (size_t s = 0; s < a.sequences.size(); ++s) {
                QCOMPARE(b.sequences[s].text, a.sequences[s].text);
                QCOMPARE(b.sequences[s].promptIds, a.sequences[s].promptIds);
                QCOMPARE(b.sequences[s].tokenIds, a.sequences[s].tokenIds);
                QCOMPARE(b.sequences[s].stats.timeToFirstTokenMs, a.sequences[s].stats.timeToFirstTokenMs);
                QCOMPARE(b.sequences[s].stats.stopReason, a.sequences[s].stats.stopReason);
            }
            QCOMPARE(b.tokens.size(), a.tokens.size());
            for (size_t t = 0; t < a.tokens.size(); ++t) {
                QCOMPARE(b.tokens[t].text, a.tokens[t].text);
                QCOMPARE(b.tokens[t].id, a.tokens[t].id);
                QCOMPARE(b.tokens[t].sequence, a.tokens[t].sequence);
            }
            QCOMPARE(b.trace.size(), a.trace.size());
            for (size_t e = 0; e < a.trace.size(); ++e)
                QVERIFY2(sameEvent(b.trace[e], a.trace[e]), qPrintable(QStringLiteral("event %1").arg(e)));
            QCOMPARE(b.report.has_value(), a.report.has_value());
            if (a.report) {
                // The engine's own JSON of the analysis (not the session codec) is the same for both.
                QCOMPARE(engine::toJson(*b.report), engine::toJson(*a.report));
                QCOMPARE(engine::readRunReport(*b.report), engine::readRunReport(*a.report));
            }
        }
        QCOMPARE(back.sweeps.size(), size_t(1));
        // The fits are derived again on reading: the engine's export of the sweep is the same, every number.
        QCOMPARE(engine::sweepToJson(back.sweeps[0].result), engine::sweepToJson(m_session.sweeps[0].result));
        QCOMPARE(back.sweeps[0].result.strategies[1].decode[1].seconds,
            m_session.sweeps[0].result.strategies[1].decode[1].seconds);
    }

    void traceCodecKeepsEveryEvent()
    {
        const auto events = randomEvents(20000, 7);
        const std::string data = TraceCodec::encode(events);
        const auto back = TraceCodec::decode(data, events.size());
        QCOMPARE(back.size(), events.size());
        for (size_t i = 0; i < events.size(); ++i)
            QVERIFY2(sameEvent(back[i], events[i]), qPrintable(QStringLiteral("event %1").arg(i)));
        QCOMPARE(TraceCodec::decode(TraceCodec::encode({}), 0).size(), size_t(0));
        // The count is part of the data: claiming more or fewer events is refused.
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TraceCodec::decode(data, events.size() + 1));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TraceCodec::decode(data, events.size() - 1));
        QVERIFY_THROWS_EXCEPTION(
            std::runtime_error, TraceCodec::decode(data.substr(0, data.size() / 2), events.size()));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TraceCodec::decode(data, TraceCodec::kMaxEvents + 1));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TraceCodec::decode("not zlib at all", 3));
        // Extreme deltas (sums past int64) decode without overflow; a first row past uint32 is refused.
        std::string raw;
        for (int column = 0; column < 10; ++column)
            raw += column == 5 || column == 6 || column == 7 ? std::string(9, '\xff') + '\x01' : std::string(1, '\x01');
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TraceCodec::decode(zlibOf(raw), 1));
    }

    // Sessions store ops by ordinal: the ops added later (quantize, residual) come after the older ones, whose numbers
    // files already hold (serial 16, region 19) and still mean the same.
    void opOrdinalsOfOlderFilesKeepTheirMeaning()
    {
        std::string raw;
        raw += std::string(4, '\x00'); // workers
        raw += std::string { '\x10', '\x13', '\x14', '\x15' }; // ops 16, 19, 20, 21
        for (int column = 2; column < 10; ++column)
            raw += column == 2 ? std::string(4, '\x01') : std::string(4, '\x00'); // one token each; zeros
        const auto back = TraceCodec::decode(zlibOf(raw), 4);
        QCOMPARE(back.size(), size_t(4));
        QCOMPARE(back[0].op, engine::Op::Serial);
        QCOMPARE(back[1].op, engine::Op::Region);
        QCOMPARE(back[2].op, engine::Op::Quantize);
        QCOMPARE(back[3].op, engine::Op::Residual);
        QCOMPARE(QByteArray(engine::opName(back[2].op)), QByteArray("quantize"));
        QCOMPARE(QByteArray(engine::opName(back[3].op)), QByteArray("residual"));
    }

    // A 1M-event trace (the real run's events, repeated later in time) keeps every event through a file; its size
    // and load time are printed for docs/benchmarks.md, not asserted.
    void millionEventTraceRoundTrip()
    {
        const auto& base = m_session.runs[0].trace;
        const int64_t wall = m_session.runs[0].metrics.wallNs + 1000;
        Session big;
        big.model = m_session.model;
        RunRecord run = m_session.runs[0];
        run.trace.clear();
        run.trace.reserve(1'000'000);
        for (int64_t copy = 0; run.trace.size() < 1'000'000; ++copy)
            for (size_t i = 0; i < base.size() && run.trace.size() < 1'000'000; ++i) {
                engine::TraceEvent e = base[i];
                e.beginNs += copy * wall;
                e.endNs += copy * wall;
                run.trace.push_back(e);
            }
        big.runs.push_back(run);
        QTemporaryDir dir;
        const std::string path = testsupport::tempPath(dir, QStringLiteral("big.json"));
        QElapsedTimer timer;
        timer.start();
        SessionFile::write(path, big);
        const qint64 writeMs = timer.restart();
        const Session back = SessionFile::read(path);
        const qint64 readMs = timer.elapsed();
        const qint64 bytes = QFileInfo(QString::fromStdString(path)).size();
        qInfo("1M-event session: %lld bytes (%.2f bytes per event, %zu distinct events repeated), written in %lld ms, "
              "read in %lld ms",
            bytes, double(bytes) / 1e6, base.size(), writeMs, readMs);
        QCOMPARE(back.runs[0].trace.size(), run.trace.size());
        for (size_t i = 0; i < run.trace.size(); i += 997)
            QVERIFY(sameEvent(back.runs[0].trace[i], run.trace[i]));
        QVERIFY(sameEvent(back.runs[0].trace.back(), run.trace.back()));
    }

    void legacyFilesStillOpen()
    {
        const json legacy = { { "format", "llm-playground-session-1" }, { "model", "/models/x.gguf" },
            { "prompts", { "a", "b" } }, { "threads", 3 }, { "max_tokens", 17 },
            { "outputs", { { { "text", "one" }, { "stats", "1 tok/s" } }, { { "text", "two" }, { "stats", "" } } } } };
        const Session s = SessionFile::parse(legacy.dump());
        QCOMPARE(s.formatVersion, 1);
        QCOMPARE(s.model.path, std::string("/models/x.gguf"));
        QCOMPARE(s.settings.prompts, (std::vector<std::string> { "a", "b" }));
        QCOMPARE(s.settings.scheduler.threads, 3);
        QCOMPARE(s.settings.maxTokens, 17);
        QVERIFY(s.settings.chat); // format 1 files without "chat" always opened with it on
        QCOMPARE(s.legacyOutputs.size(), size_t(2));
        QCOMPARE(s.legacyOutputs[0].first, std::string("one"));
        QCOMPARE(s.legacyOutputs[0].second, std::string("1 tok/s"));
        QVERIFY(s.runs.empty());
    }

    void damagedFilesAreRefused()
    {
        const std::string good = SessionFile::toJson(m_session).dump();
        QVERIFY(refusal(good).isEmpty());
        QVERIFY(refusal("").contains(QStringLiteral("not valid JSON")));
        QVERIFY(refusal("[1,2,3]").contains(QStringLiteral("not a playground session")));
        QVERIFY(refusal(R"({"format":"something else"})").contains(QStringLiteral("not a playground session")));
        // Cut anywhere, the file is refused (invalid JSON, or a trace whose data no longer decodes).
        for (size_t cut : { size_t(1), good.size() / 7, good.size() / 3, good.size() / 2, good.size() - 2 })
            QVERIFY2(!refusal(good.substr(0, cut)).isEmpty(), qPrintable(QString::number(cut)));
        json future = SessionFile::toJson(m_session);
        future["version"] = SessionFile::kVersion + 1;
        QVERIFY(refusal(future.dump()).contains(QStringLiteral("newer version")));
        json noVersion = future;
        noVersion.erase("version");
        QVERIFY(refusal(noVersion.dump()).contains(QStringLiteral("version")));
        // Wrong types are refused by their place in the file.
        json bad = SessionFile::toJson(m_session);
        bad["runs"][0]["metrics"]["wall_ms"] = "fast";
        QVERIFY(refusal(bad.dump()).contains(QStringLiteral("runs[0].metrics.wall_ms")));
        bad = SessionFile::toJson(m_session);
        bad["runs"][0]["sequences"][1]["stats"]["stop_reason"] = 99;
        QVERIFY(refusal(bad.dump()).contains(QStringLiteral("stop_reason")));
        bad = SessionFile::toJson(m_session);
        bad["runs"][0]["threads"] = 1e300;
        QVERIFY(!refusal(bad.dump()).isEmpty());
        bad = SessionFile::toJson(m_session);
        bad["sweeps"][0]["result"]["strategies"][0]["strategy"] = "warp-drive";
        QVERIFY(refusal(bad.dump()).contains(QStringLiteral("warp-drive")));
        bad = SessionFile::toJson(m_session);
        bad["runs"][0]["trace"]["data"] = "!!!!";
        QVERIFY(refusal(bad.dump()).contains(QStringLiteral("runs[0].trace")));
        bad = SessionFile::toJson(m_session);
        bad["runs"][0]["trace"]["encoding"] = "zstd-v9";
        QVERIFY(refusal(bad.dump()).contains(QStringLiteral("unknown encoding")));
        bad = SessionFile::toJson(m_session);
        bad["settings"]["threads"] = -4;
        QVERIFY(refusal(bad.dump()).contains(QStringLiteral("settings")));
    }

    void hostileFilesAreRefusedWithinBoundedMemory()
    {
        // Deep nesting: refused before parsing (a recursive parser or destructor would exhaust the stack).
        const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
        QVERIFY(refusal(deep).contains(QStringLiteral("nests deeper")));
        // A trace claiming a huge number of events: refused before anything is allocated for them.
        json huge = SessionFile::toJson(m_session);
        huge["runs"][0]["trace"]["events"] = 1'000'000'000'000ull;
        QVERIFY(refusal(huge.dump()).contains(QStringLiteral("more than")));
        // A claimed count the data cannot back (the first run's data, a thousand times the events).
        huge["runs"][0]["trace"]["events"] = m_session.runs[0].trace.size() * 1000;
        QVERIFY(refusal(huge.dump()).contains(QStringLiteral("truncated")));
        // A zip bomb: 64 MiB of zeros (64 KiB compressed) claiming ten events is refused while inflating, at the
        // ten events' bound, not after inflating it all.
        json bomb = SessionFile::toJson(m_session);
        bomb["runs"][0]["trace"]["events"] = 10;
        bomb["runs"][0]["trace"]["data"] = base64(zlibOf(std::string(64u << 20, '\0')));
        QVERIFY(refusal(bomb.dump()).contains(QStringLiteral("longer than")));
        // Too many runs.
        json many = { { "format", "llm-playground-session" }, { "version", 2 } };
        many["runs"] = json::array();
        for (size_t i = 0; i <= SessionFile::kMaxRuns; ++i)
            many["runs"].push_back(json::object());
        QVERIFY(refusal(many.dump()).contains(QStringLiteral("more than")));
        // Files over the size limit are refused before they are read.
        QTemporaryDir dir;
        const std::string path = testsupport::tempPath(dir, QStringLiteral("big.json"));
        {
            std::ofstream out(path, std::ios::binary);
            out.seekp(std::streamoff(SessionFile::kMaxFileBytes + 1));
            out.put(' ');
        }
        try {
            SessionFile::read(path);
            QFAIL("a file over the limit was read");
        } catch (const SessionError& e) {
            QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("larger than")));
        }
    }

    void modelReferenceTellsFilesApart()
    {
        QTemporaryDir dir;
        const std::string path = testsupport::tempPath(dir, QStringLiteral("m.gguf"));
        std::string bytes(3u << 20, 'x');
        for (size_t i = 0; i < bytes.size(); i += 4093)
            bytes[i] = char(i);
        auto writeFile = [&](const std::string& b) { std::ofstream(path, std::ios::binary) << b; };
        writeFile(bytes);
        const ModelRef ref = ModelRef::of(path, "m");
        QCOMPARE(ref.size, uint64_t(bytes.size()));
        QVERIFY(QString::fromStdString(ref.hash).startsWith(QStringLiteral("fnv1a64-edges:")));
        QCOMPARE(ref.check(), ModelRef::Match::Same);
        for (size_t at : { size_t(10), bytes.size() - 10 }) { // a byte in the first MiB, then in the last
            std::string changed = bytes;
            changed[at] ^= 1;
            writeFile(changed);
            QCOMPARE(ref.check(), ModelRef::Match::Differs);
        }
        writeFile(bytes + "y");
        QCOMPARE(ref.check(), ModelRef::Match::Differs);
        QFile::remove(QString::fromStdString(path));
        QCOMPARE(ref.check(), ModelRef::Match::Missing);
        QCOMPARE(ModelRef::of("synthetic:tiny", "tiny").check(), ModelRef::Match::Same);
    }
};

QTEST_GUILESS_MAIN(TestSessionFile)
#include "test_sessionfile.moc"
