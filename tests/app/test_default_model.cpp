// The shipped model: a valid GGUF, the engine agrees with the training code's own PyTorch forward pass
// (tests/data/default_model_reference.json), and greedy text reads as the corpus's English.
#include "engine/format/gguffile.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/model.h"
#include "engine/run/defaults.h"
#include "engine/run/generation.h"
#include "testsupport.h"

#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

using namespace engine;
using namespace testsupport;

namespace {

QString modelPath()
{
    return QStringLiteral(PLAYGROUND_RESOURCE_DIR "/models/") + QString::fromLatin1(kDefaultModelFile);
}

const nlohmann::json& reference()
{
    static const nlohmann::json ref = [] {
        std::ifstream in(testDataPath("default_model_reference.json").toStdString());
        return nlohmann::json::parse(in);
    }();
    return ref;
}

std::shared_ptr<const Model> model()
{
    static auto m = Model::load(modelPath().toStdString());
    return m;
}

std::vector<int32_t> ids(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

} // namespace

class TestDefaultModel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(QFileInfo::exists(modelPath()), qPrintable(modelPath()));
        QVERIFY2(QFileInfo::exists(testDataPath("default_model_reference.json")), "reference logits missing");
    }

    void fileIsGgufV3WithCompleteLlamaMetadataAndSmall()
    {
        const GgufFile f = GgufFile::open(modelPath().toStdString());
        QCOMPARE(f.version(), 3u);
        QCOMPARE(f.getString("general.architecture"), std::string("llama"));
        QVERIFY(!f.getString("general.name").empty());
        for (const char* key : { "llama.context_length", "llama.embedding_length", "llama.block_count",
                 "llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv",
                 "llama.rope.dimension_count", "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon",
                 "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                 "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id" })
            QVERIFY2(f.has(key), key);
        qint64 total = 0;
        for (const QFileInfo& info : QDir(QStringLiteral(PLAYGROUND_RESOURCE_DIR "/models")).entryInfoList(QDir::Files))
            total += info.size();
        QVERIFY2(total < 50 * 1024 * 1024, qPrintable(QString::number(total)));
        QCOMPARE(model()->config().vocab, reference().at("n_vocab").get<int>());
    }

    void tokenizerProducesTheReferenceIds()
    {
        const Tokenizer& tok = model()->tokenizer();
        for (const auto& p : reference().at("prompts"))
            QCOMPARE(tok.encode(p.at("text").get<std::string>(), true), ids(p.at("token_ids")));
        int cases = 0;
        for (const auto& c : reference().at("tokenizer_cases")) {
            const std::string text = c.at("text").get<std::string>();
            QVERIFY2(tok.encode(text, false) == ids(c.at("ids")), text.c_str());
            ++cases;
        }
        QVERIFY(cases >= 10);
    }

    void logitsMatchTheReference_data()
    {
        QTest::addColumn<int>("threads");
        QTest::newRow("1 thread") << 1;
        QTest::newRow("2 threads") << 2;
    }
    void logitsMatchTheReference()
    {
        QFETCH(int, threads);
        Scheduler scheduler({ threads, Partitioner::Auto, 1 });
        const int vocab = model()->config().vocab;
        bool first = true;
        for (const auto& p : reference().at("prompts")) {
            const auto prompt = ids(p.at("token_ids"));
            InferenceContext ctx(model(), 0);
            const auto all = ctx.evalAll(scheduler, prompt);
            double worst = 0;
            if (first) { // every logit of every position
                const auto& rows = p.at("logits_all");
                QCOMPARE(rows.size(), prompt.size());
                for (size_t pos = 0; pos < prompt.size(); ++pos)
                    for (int v = 0; v < vocab; ++v)
                        worst = std::max(worst,
                            std::abs(
                                double(all[pos * size_t(vocab) + size_t(v)]) - rows[pos][size_t(v)].get<double>()));
                first = false;
            }
            const auto& top = p.at("top20");
            QCOMPARE(top.size(), prompt.size());
            for (size_t pos = 0; pos < prompt.size(); ++pos)
                for (const auto& pair : top[pos])
                    worst = std::max(worst,
                        std::abs(double(all[pos * size_t(vocab) + pair[0].get<size_t>()]) - pair[1].get<double>()));
            QVERIFY2(worst < 1e-3,
                qPrintable(QStringLiteral("max |dlogit| = %1 for '%2'")
                               .arg(worst)
                               .arg(QString::fromStdString(p.at("text").get<std::string>()))));
        }
    }

    void greedyContinuationEqualsTheReference_data() { logitsMatchTheReference_data(); }
    void greedyContinuationEqualsTheReference()
    {
        QFETCH(int, threads);
        Scheduler scheduler({ threads, Partitioner::Auto, 1 });
        for (const auto& p : reference().at("prompts")) {
            const auto want = ids(p.at("greedy_ids"));
            const GenerationRequest req = greedyRequest(p.at("text").get<std::string>(), int(want.size()));
            const auto got = generate(model(), scheduler, req);
            QCOMPARE(got.promptIds, ids(p.at("token_ids")));
            QCOMPARE(got.tokenIds, want);
        }
    }

    void greedyTextIsMadeOfCorpusWords()
    {
        QFile f(testDataPath("default_model_words.txt"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QSet<QString> words;
        for (const QByteArray& line : f.readAll().split('\n'))
            if (!line.isEmpty())
                words.insert(QString::fromUtf8(line));
        QVERIFY(words.size() > 5000);
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        const QRegularExpression word(QStringLiteral("[A-Za-z]+(?:'[A-Za-z]+)*"));
        for (const char* prompt :
            { "In the beginning God created", "And the LORD said unto Moses,", "Blessed are the" }) {
            const GenerationRequest req = greedyRequest(prompt, 200);
            const QString text = QString::fromStdString(generate(model(), scheduler, req).text);
            int total = 0, known = 0;
            for (auto it = word.globalMatch(text); it.hasNext();) {
                ++total;
                known += words.contains(it.next().captured().toLower()) ? 1 : 0;
            }
            QVERIFY2(total >= 60, qPrintable(text)); // 200 tokens of real text, not a handful of symbols
            const double share = double(known) / double(total);
            qInfo("%s -> %d words, %.1f%% in the corpus vocabulary", prompt, total, 100.0 * share);
            QVERIFY2(share >= 0.9, qPrintable(QStringLiteral("%1% corpus words in: %2").arg(100.0 * share).arg(text)));
        }
    }
};

QTEST_APPLESS_MAIN(TestDefaultModel)
#include "test_default_model.moc"
