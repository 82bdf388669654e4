// The model families (llama, qwen2, qwen3) and their RoPE variants (frequency factors, linear and
// YaRN scaling, partial rotary, explicit head dimension) against an independent reference: logits
// computed with Hugging Face transformers' semantics by tools/reference/families_reference.py from
// the very GGUF files generated here, stored in tests/data/families_reference.json.
//
// Regenerate the reference (after changing a shape below or the synthetic generator):
//   PLAYGROUND_WRITE_FAMILY_MODELS=/tmp/families build/tests/test_families
//   /usr/bin/python3 tools/reference/families_reference.py /tmp/families tests/data/families_reference.json
#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/model.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"

#include "testsupport.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <set>

using namespace engine;

namespace {

constexpr const char* kRegenerate
    = "regenerate the reference: PLAYGROUND_WRITE_FAMILY_MODELS=/tmp/families build/tests/test_families && "
      "/usr/bin/python3 tools/reference/families_reference.py /tmp/families tests/data/families_reference.json";

// Small enough to run in milliseconds, big enough that every variant moves the logits: 2 layers of
// width 64, 4 heads of 16 (2 K/V heads), a context of 64 of which the scaled cases were "trained" on 32.
SyntheticShape base(const char* name, const char* architecture)
{
    SyntheticShape s { name, 64, 2, 4, 2, 160, 384, 64, GgmlType::F32, false, "model-family test case" };
    s.architecture = architecture;
    return s;
}

// The cases; tools/reference/families_reference.py computes each file's reference.
std::vector<SyntheticShape> familyShapes()
{
    std::vector<SyntheticShape> shapes;
    shapes.push_back(base("llama_gqa", "llama"));
    {
        SyntheticShape s = base("llama_tied", "llama");
        s.kvHeads = 4;
        s.tied = true;
        shapes.push_back(s);
    }
    {
        SyntheticShape s = base("llama3_freqs", "llama"); // Llama 3.1: rope_freqs.weight, no scaling keys
        s.llama3RopeFreqs = true;
        s.ropeOriginalContext = 32;
        shapes.push_back(s);
    }
    {
        SyntheticShape s = base("llama_linear", "llama");
        s.ropeScaling = "linear";
        s.ropeScaleFactor = 2.0f;
        shapes.push_back(s);
    }
    {
        SyntheticShape s = base("llama_yarn", "llama");
        s.ropeScaling = "yarn";
        s.ropeScaleFactor = 2.0f;
        s.ropeOriginalContext = 32;
        shapes.push_back(s);
    }
    shapes.push_back(base("qwen2", "qwen2"));
    {
        SyntheticShape s = base("qwen2_yarn", "qwen2"); // as Qwen2.5 runs past 32K
        s.ropeScaling = "yarn";
        s.ropeScaleFactor = 2.0f;
        s.ropeOriginalContext = 32;
        s.ropeBase = 10000.0f; // a wider YaRN ramp at head dim 16 than Qwen's 1e6 gives
        shapes.push_back(s);
    }
    {
        SyntheticShape s = base("qwen2_partial", "qwen2");
        s.ropeDims = 8; // half of each head rotates
        shapes.push_back(s);
    }
    {
        SyntheticShape s = base("qwen3", "qwen3"); // q/k norms, head dim 32: q is 128 wide over a 64 embedding
        s.headDim = 32;
        s.tied = true;
        shapes.push_back(s);
    }
    {
        SyntheticShape s = base("qwen3_partial_yarn", "qwen3");
        s.headDim = 32;
        s.ropeDims = 16;
        s.ropeScaling = "yarn";
        s.ropeScaleFactor = 2.0f;
        s.ropeOriginalContext = 32;
        s.ropeBase = 10000.0f;
        shapes.push_back(s);
    }
    return shapes;
}

const SyntheticShape& familyShape(const QString& name)
{
    static const std::vector<SyntheticShape> shapes = familyShapes();
    for (const SyntheticShape& s : shapes)
        if (QString::fromStdString(s.name) == name)
            return s;
    throw std::invalid_argument("no family shape " + name.toStdString());
}

QJsonObject referenceCase(const QString& name)
{
    static const QJsonObject doc = [] {
        QFile f(testsupport::testDataPath("families_reference.json"));
        if (!f.open(QIODevice::ReadOnly))
            return QJsonObject();
        return QJsonDocument::fromJson(f.readAll()).object();
    }();
    for (const QJsonValue& c : doc.value("cases").toArray())
        if (c.toObject().value("name").toString() == name)
            return c.toObject();
    return QJsonObject();
}

int argmax(std::span<const float> v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

std::shared_ptr<const Model> loadBytes(const std::vector<uint8_t>& bytes, const std::string& name)
{
    return Model::fromGgufBuffer(std::make_shared<const std::vector<uint8_t>>(bytes), name);
}

// `bytes` with the metadata keys in `drop` removed and `edit` applied; tensors unchanged.
std::vector<uint8_t> rewriteMetadata(
    const std::vector<uint8_t>& bytes, const std::set<std::string>& drop, const std::function<void(GgufWriter&)>& edit)
{
    const GgufFile in = GgufFile::fromMemory(bytes, "in.gguf");
    GgufWriter w;
    for (const auto& [key, value] : in.metadata())
        if (!drop.count(key))
            w.set(key, value);
    edit(w);
    for (const auto& t : in.tensors())
        w.addTensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.nbytes));
    return w.toBytes();
}

// All logits of a fixed 40-token prompt at one thread.
std::vector<float> promptLogits(const std::vector<uint8_t>& bytes)
{
    const auto model = loadBytes(bytes, "m.gguf");
    std::vector<int32_t> tokens;
    for (int i = 0; i < 40; ++i)
        tokens.push_back(int32_t(3 + (i * 37) % 300));
    Scheduler scheduler({ 1, Partitioner::Auto, 1 });
    InferenceContext ctx(model, 64);
    const auto all = ctx.evalAll(scheduler, tokens);
    return { all.begin(), all.end() };
}

// The ModelFileError a shape's file is refused with, or "" if it loads.
QString refusal(const SyntheticShape& s)
{
    try {
        loadBytes(syntheticModelGguf(s), "refused.gguf");
        return QString();
    } catch (const ModelFileError& e) {
        return QString::fromUtf8(e.what());
    }
}

} // namespace

class TestFamilies : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void referenceCoversEveryCase()
    {
        for (const SyntheticShape& s : familyShapes())
            QVERIFY2(!referenceCase(QString::fromStdString(s.name)).isEmpty(),
                qPrintable("tests/data/families_reference.json has no case '" + QString::fromStdString(s.name) + "'; "
                    + kRegenerate));
    }

    void logitsMatchTheIndependentReference_data()
    {
        QTest::addColumn<QString>("name");
        for (const SyntheticShape& s : familyShapes())
            QTest::newRow(s.name.c_str()) << QString::fromStdString(s.name);
    }
    void logitsMatchTheIndependentReference()
    {
        QFETCH(QString, name);
        const SyntheticShape& shape = familyShape(name);
        const QJsonObject ref = referenceCase(name);
        if (ref.isEmpty())
            QFAIL(qPrintable("no reference for '" + name + "'; " + kRegenerate));
        const std::vector<uint8_t> bytes = syntheticModelGguf(shape);
        const QByteArray digest = QCryptographicHash::hash(
            QByteArrayView(bytes.data(), qsizetype(bytes.size())), QCryptographicHash::Sha256)
                                      .toHex();
        // A different file means the generator changed, not that the engine is wrong.
        QVERIFY2(QString::fromLatin1(digest) == ref.value("sha256").toString(),
            qPrintable("the synthetic GGUF file of '" + name + "' is not the one the reference was computed from; "
                + kRegenerate));

        const auto model = loadBytes(bytes, shape.name + ".gguf");
        std::vector<int32_t> tokens;
        for (const QJsonValue& t : ref.value("tokens").toArray())
            tokens.push_back(int32_t(t.toInt()));
        const QJsonArray positions = ref.value("positions").toArray();
        const QJsonArray logits = ref.value("logits").toArray();
        const QJsonArray greedy = ref.value("greedy").toArray();
        const QJsonArray margins = ref.value("greedy_margins").toArray();
        const size_t vocab = size_t(model->config().vocab);

        for (const int threads : { 1, 2 }) {
            Scheduler scheduler({ threads, Partitioner::Auto, 1 });
            InferenceContext ctx(model, model->config().contextLength);
            // The prompt in one call (matrix-matrix), logits of every position.
            const auto all = ctx.evalAll(scheduler, tokens);
            for (qsizetype i = 0; i < positions.size(); ++i) {
                const int pos = positions[i].toInt();
                const QJsonArray want = logits[i].toArray();
                QCOMPARE(size_t(want.size()), vocab);
                // F32 arithmetic against a float64 reference: errors of ~1e-5 relative; 1e-3 leaves room
                // and still sees any RoPE or layout mistake (they move logits by ~0.1 and more).
                double maxRef = 0.0, maxDiff = 0.0;
                int worst = 0;
                for (size_t v = 0; v < vocab; ++v) {
                    const double r = want[qsizetype(v)].toDouble();
                    const double d = std::abs(double(all[size_t(pos) * vocab + v]) - r);
                    maxRef = std::max(maxRef, std::abs(r));
                    if (d > maxDiff) {
                        maxDiff = d;
                        worst = int(v);
                    }
                }
                const double tolerance = 1e-3 * std::max(1.0, maxRef);
                QVERIFY2(maxDiff <= tolerance,
                    qPrintable(QString("%1, %2 thread(s), position %3: logit %4 is %5, reference %6 (|diff| %7 > %8)")
                                   .arg(name)
                                   .arg(threads)
                                   .arg(pos)
                                   .arg(worst)
                                   .arg(double(all[size_t(pos) * vocab + size_t(worst)]))
                                   .arg(want[worst].toDouble())
                                   .arg(maxDiff)
                                   .arg(tolerance)));
            }
            // The greedy continuation, one token per call (matrix-vector).
            int next = argmax(all.subspan((tokens.size() - 1) * vocab, vocab));
            for (qsizetype i = 0; i < greedy.size(); ++i) {
                const int want = greedy[i].toInt();
                // A different pick is only acceptable where the reference's top two are within the tolerance.
                QVERIFY2(next == want || margins[i].toDouble() < 1e-3,
                    qPrintable(QString("%1, %2 thread(s): greedy token %3 is %4, reference %5")
                                   .arg(name)
                                   .arg(threads)
                                   .arg(i)
                                   .arg(next)
                                   .arg(want)));
                const int32_t fed = int32_t(want);
                next = argmax(ctx.eval(scheduler, std::span<const int32_t>(&fed, 1)));
            }
        }
    }

    void loadedConfigurationIsReported()
    {
        const auto yarn = loadBytes(syntheticModelGguf(familyShape("qwen3_partial_yarn")), "q.gguf");
        const ModelConfig& c = yarn->config();
        QCOMPARE(c.architecture, std::string("qwen3"));
        QCOMPARE(c.headDim, 32);
        QCOMPARE(c.ropeDims, 16);
        QCOMPARE(c.ropeScaling, RopeScaling::Yarn);
        QCOMPARE(c.ropeScaleFactor, 2.0f);
        QCOMPARE(c.ropeOriginalContext, 32);
        QCOMPARE(c.yarnExtFactor, 1.0f);
        QVERIFY(c.qkNorm && !c.ropeInterleaved);
        QCOMPARE(int(yarn->layers()[0].wq.rows), 4 * 32);
        QCOMPARE(int(yarn->layers()[0].wo.cols), 4 * 32);

        const auto llama3 = loadBytes(syntheticModelGguf(familyShape("llama3_freqs")), "l.gguf");
        QCOMPARE(llama3->config().ropeScaling, RopeScaling::None);
        QCOMPARE(int(llama3->config().ropeFreqFactors.size()), 16 / 2);
        // convert_hf_to_gguf's factors at head dim 16, base 10000, original context 32: wavelength 2π
        // (< 32/4) keeps 1, 2π·10^0.5 ≈ 19.9 is smoothed, the longer ones get the full factor 8.
        QCOMPARE(llama3->config().ropeFreqFactors[0], 1.0f);
        QVERIFY(llama3->config().ropeFreqFactors[1] > 1.0f && llama3->config().ropeFreqFactors[1] < 8.0f);
        QCOMPARE(llama3->config().ropeFreqFactors[2], 8.0f);

        const auto linear = loadBytes(syntheticModelGguf(familyShape("llama_linear")), "l.gguf");
        QCOMPARE(linear->config().ropeScaling, RopeScaling::Linear);
        QCOMPARE(linear->config().ropeFreqScale(), 0.5f);
        QCOMPARE(linear->config().yarnExtFactor, 0.0f);
    }

    void equivalentScalingKeysGiveIdenticalLogits()
    {
        const auto plain = syntheticModelGguf(familyShape("llama_gqa"));
        const auto linear = syntheticModelGguf(familyShape("llama_linear"));
        const std::set<std::string> scalingKeys = { "llama.rope.scaling.type", "llama.rope.scaling.factor" };
        // The older key, without a type: linear, as llama.cpp reads it.
        const auto older = rewriteMetadata(
            linear, scalingKeys, [](GgufWriter& w) { w.setFloat32("llama.rope.scale_linear", 2.0f); });
        QVERIFY(promptLogits(older) == promptLogits(linear));
        // Type "none" ignores the factor.
        const auto none = rewriteMetadata(linear, { "llama.rope.scaling.type" },
            [](GgufWriter& w) { w.setString("llama.rope.scaling.type", "none"); });
        QVERIFY(promptLogits(none) == promptLogits(plain));
        // YaRN with its ramp switched off (yarn_ext_factor 0) is linear interpolation, without mscale.
        const auto yarnOff = rewriteMetadata(linear, { "llama.rope.scaling.type" }, [](GgufWriter& w) {
            w.setString("llama.rope.scaling.type", "yarn");
            w.setFloat32("llama.rope.scaling.yarn_ext_factor", 0.0f);
        });
        QVERIFY(promptLogits(yarnOff) == promptLogits(linear));
        QVERIFY(promptLogits(linear) != promptLogits(plain));
    }

    void ropeTableOfAnUnscaledModelIsThePlainRotation()
    {
        const auto model = loadBytes(syntheticModelGguf(familyShape("llama_gqa")), "l.gguf");
        std::vector<float> cs, sn;
        computeRopeTable(model->config(), 40, cs, sn);
        const int pairs = 8;
        for (int p : { 0, 1, 39 })
            for (int i = 0; i < pairs; ++i) {
                const double theta = p * std::pow(10000.0, -2.0 * i / 16);
                QCOMPARE(cs[size_t(p * pairs + i)], float(std::cos(theta)));
                QCOMPARE(sn[size_t(p * pairs + i)], float(std::sin(theta)));
            }
    }

    void unsupportedVariantsAreRefusedByName()
    {
        {
            SyntheticShape s = base("longrope", "llama");
            s.ropeScaling = "longrope";
            s.ropeScaleFactor = 4.0f;
            const QString e = refusal(s);
            QVERIFY2(e.startsWith("refused.gguf") && e.contains("RoPE scaling type 'longrope'")
                    && e.contains("supported: none, linear, yarn"),
                qPrintable(e));
        }
        for (const char* arch : { "gemma3", "phi3" }) {
            const QString e = refusal(base("other", arch));
            QVERIFY2(e.startsWith("refused.gguf")
                    && e.contains(
                        QString("architecture '%1' is not supported (supported: llama, qwen2, qwen3)").arg(arch)),
                qPrintable(e));
        }
        {
            SyntheticShape s = base("partial", "llama"); // llama.cpp refuses partial rotation for llama
            s.ropeDims = 8;
            QVERIFY2(refusal(s).contains("partial RoPE"), qPrintable(refusal(s)));
        }
        {
            SyntheticShape s = base("odd", "qwen2");
            s.ropeDims = 7;
            QVERIFY2(refusal(s).contains("rope.dimension_count 7 must be even"), qPrintable(refusal(s)));
            s.ropeDims = 18;
            QVERIFY2(refusal(s).contains("rope.dimension_count 18"), qPrintable(refusal(s)));
        }
        {
            SyntheticShape s = base("freqs", "qwen2"); // llama.cpp's qwen graphs take no frequency factors
            s.llama3RopeFreqs = true;
            QVERIFY2(refusal(s).contains("'rope_freqs.weight' is not used"), qPrintable(refusal(s)));
        }
    }
};

int main(int argc, char** argv)
{
    // PLAYGROUND_WRITE_FAMILY_MODELS=DIR: write every case's GGUF file for the Python reference, run nothing.
    if (const char* dir = std::getenv("PLAYGROUND_WRITE_FAMILY_MODELS")) {
        QDir().mkpath(QString::fromLocal8Bit(dir));
        for (const SyntheticShape& s : familyShapes()) {
            const std::string path = std::string(dir) + "/" + s.name + ".gguf";
            writeSyntheticModel(s, path);
            std::cout << "wrote " << path << "\n";
        }
        return 0;
    }
    TestFamilies test;
    return QTest::qExec(&test, argc, argv);
}

#include "test_families.moc"
