// What the window writes to disk: session files (old ones keep opening) and the saved run settings
// (one JSON key; the old per-field keys are read when it is missing).
#include "engine/run/runsettings.h"
#include "ui/savedsettings.h"
#include "ui/sessionfile.h"

#include <QFile>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

using namespace ui;

class TestSavedSettings : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void aSessionWrittenBeforeTheCodecStillOpens()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("old.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({ "format": "llm-playground-session-1", "model": "synthetic:tiny", "prompts": ["a", "b"],
            "system": "sys", "chat": false, "temperature": 0.7, "top_k": 5, "top_p": 0.9, "min_p": 0.1,
            "repeat_penalty": 1.2, "seed": 4242, "max_tokens": 33, "threads": 3, "strategy": "hybrid",
            "partitioner": "simple", "grain": 2, "pin_threads": true,
            "outputs": [ { "text": "a out", "stats": "s1" }, { "text": "b out", "stats": "s2" } ] })");
        f.close();
        session::Session s;
        QCOMPARE(SessionFile::read(path, s), QString());
        QCOMPARE(s.formatVersion, 1);
        QCOMPARE(s.model.path, std::string("synthetic:tiny"));
        QVERIFY(s.settings.prompts == (std::vector<std::string> { "a", "b" }));
        QCOMPARE(s.settings.systemPrompt, std::string("sys"));
        QCOMPARE(s.settings.chat, false);
        QCOMPARE(s.settings.sampling.temperature, 0.7f);
        QCOMPARE(s.settings.sampling.topK, 5);
        QCOMPARE(s.settings.sampling.seed, uint64_t(4242));
        QCOMPARE(s.settings.maxTokens, 33);
        QCOMPARE(s.settings.scheduler.threads, 3);
        QCOMPARE(s.settings.strategy, engine::Strategy::Hybrid);
        QCOMPARE(s.settings.scheduler.partitioner, engine::Partitioner::Simple);
        QCOMPARE(s.settings.scheduler.grain, size_t(2));
        QCOMPARE(s.settings.scheduler.pinThreads, true);
        QCOMPARE(s.legacyOutputs.size(), size_t(2));
        QCOMPARE(s.legacyOutputs[0].first, std::string("a out"));
        QCOMPARE(s.legacyOutputs[1].first, std::string("b out"));
        QCOMPARE(s.legacyOutputs[1].second, std::string("s2"));
    }

    void aSessionSurvivesSaveAndOpen()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("s.json"));
        session::Session a;
        a.model.path = "/models/m.gguf";
        a.settings.prompts = { "x" };
        a.settings.sampling.topP = 0.5f;
        a.settings.scheduler.threads = 2;
        QCOMPARE(SessionFile::write(path, a), QString());
        session::Session b;
        QCOMPARE(SessionFile::read(path, b), QString());
        QCOMPARE(b.formatVersion, session::SessionFile::kVersion);
        QCOMPARE(b.model.path, a.model.path);
        QCOMPARE(engine::toJson(b.settings), engine::toJson(a.settings));
    }

    void badSessionsAreRefusedWithAMessage()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("bad.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({ "format": "llm-playground-session-1", "temperature": -1 })");
        f.close();
        session::Session s;
        s.model.path = "untouched";
        QVERIFY(SessionFile::read(path, s).contains(QStringLiteral("temperature")));
        QCOMPARE(s.model.path, std::string("untouched")); // a refused file leaves the session as it was
        QVERIFY(!SessionFile::read(dir.filePath(QStringLiteral("missing.json")), s).isEmpty());
    }

    void oldPerFieldKeysAreReadWhenTheJsonKeyIsMissing()
    {
        QTemporaryDir dir;
        QSettings st(dir.filePath(QStringLiteral("old.conf")), QSettings::IniFormat);
        st.setValue(QStringLiteral("run/prompts"), QStringList { QStringLiteral("p1"), QStringLiteral("p2") });
        st.setValue(QStringLiteral("run/temperature"), 0.3);
        st.setValue(QStringLiteral("run/threads"), 1);
        st.setValue(QStringLiteral("run/strategy"), QStringLiteral("request"));
        st.setValue(QStringLiteral("run/pin_threads"), false);
        engine::RunRequest fallback;
        fallback.sampling.topK = 17; // not in the file: the fallback's value stays
        const engine::RunRequest r = SavedSettings::loadRun(st, fallback);
        QVERIFY(r.prompts == (std::vector<std::string> { "p1", "p2" }));
        QCOMPARE(r.sampling.temperature, 0.3f);
        QCOMPARE(r.sampling.topK, 17);
        QCOMPARE(r.scheduler.threads, 1);
        QCOMPARE(r.strategy, engine::Strategy::Request);
        QCOMPARE(r.scheduler.pinThreads, false);
        QCOMPARE(r.chat, true); // the old default
    }

    void theJsonKeyWinsOnceSaved()
    {
        QTemporaryDir dir;
        QSettings st(dir.filePath(QStringLiteral("new.conf")), QSettings::IniFormat);
        st.setValue(QStringLiteral("run/temperature"), 0.3);
        engine::RunRequest saved;
        saved.prompts = { "q" };
        saved.sampling.temperature = 1.5f;
        saved.scheduler.partitioner = engine::Partitioner::Static;
        SavedSettings::saveRun(st, saved);
        const engine::RunRequest r = SavedSettings::loadRun(st, engine::RunRequest());
        QCOMPARE(engine::toJson(r), engine::toJson(saved));
    }
};

QTEST_GUILESS_MAIN(TestSavedSettings)
#include "test_savedsettings.moc"
