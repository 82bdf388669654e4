// GGUF reader and writer: exact round trips, and every kind of malformed file refused with a ModelFileError
// that names the byte offset, never a crash.
#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>

using namespace engine;
using namespace testsupport;

Q_DECLARE_METATYPE(engine::GgufValue)

namespace {

// Hand-assembles GGUF bytes, so tests can write what GgufWriter never would.
class RawGguf {
public:
    RawGguf& u8(uint8_t v) { return put(v); }
    RawGguf& u32(uint32_t v) { return put(v); }
    RawGguf& u64(uint64_t v) { return put(v); }
    RawGguf& str(std::string_view s)
    {
        u64(s.size());
        m_bytes.insert(m_bytes.end(), s.begin(), s.end());
        return *this;
    }
    RawGguf& header(uint32_t version, uint64_t tensorCount, uint64_t kvCount)
    {
        m_bytes.insert(m_bytes.end(), { 'G', 'G', 'U', 'F' });
        return u32(version).u64(tensorCount).u64(kvCount);
    }
    RawGguf& kvU32(std::string_view key, uint32_t v) { return str(key).u32(uint32_t(GgufValueType::UInt32)).u32(v); }
    // name, dims, type, offset: one tensor info record
    RawGguf& tensorInfo(std::string_view name, std::initializer_list<uint64_t> dims, uint32_t type, uint64_t offset)
    {
        str(name).u32(uint32_t(dims.size()));
        for (uint64_t d : dims)
            u64(d);
        return u32(type).u64(offset);
    }
    RawGguf& padTo(size_t alignment)
    {
        m_bytes.resize((m_bytes.size() + alignment - 1) / alignment * alignment, 0);
        return *this;
    }
    RawGguf& zeros(size_t n)
    {
        m_bytes.resize(m_bytes.size() + n, 0);
        return *this;
    }
    qint64 pos() const { return qint64(m_bytes.size()); }
    QByteArray bytes() const
    {
        return QByteArray(reinterpret_cast<const char*>(m_bytes.data()), qsizetype(m_bytes.size()));
    }

private:
    template <typename T> RawGguf& put(T v)
    {
        const size_t at = m_bytes.size();
        m_bytes.resize(at + sizeof(T));
        std::memcpy(m_bytes.data() + at, &v, sizeof(T));
        return *this;
    }
    std::vector<uint8_t> m_bytes;
};

std::span<const uint8_t> asSpan(const std::vector<uint8_t>& v) { return { v.data(), v.size() }; }

// Deterministic, position-dependent bytes so a tensor read from the wrong place cannot compare equal.
std::vector<uint8_t> patternBytes(size_t n, uint8_t salt)
{
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = uint8_t(i * 31 + salt * 7 + (i >> 8));
    return out;
}

uint64_t doubleBits(double d) { return std::bit_cast<uint64_t>(d); }

// Exact equality, including the stored type at every level; floats compare bit for bit so -0.0 and NaN count.
bool sameValue(const GgufValue& a, const GgufValue& b)
{
    if (a.type() != b.type())
        return false;
    switch (a.type()) {
    case GgufValueType::UInt8:
    case GgufValueType::UInt16:
    case GgufValueType::UInt32:
    case GgufValueType::UInt64:
        return a.asUInt() == b.asUInt();
    case GgufValueType::Int8:
    case GgufValueType::Int16:
    case GgufValueType::Int32:
    case GgufValueType::Int64:
        return a.asInt() == b.asInt();
    case GgufValueType::Float32:
    case GgufValueType::Float64:
        return doubleBits(a.asFloat()) == doubleBits(b.asFloat());
    case GgufValueType::Bool:
        return a.asBool() == b.asBool();
    case GgufValueType::String:
        return a.asString() == b.asString();
    case GgufValueType::Array: {
        if (a.elementType() != b.elementType() || a.arraySize() != b.arraySize())
            return false;
        for (size_t i = 0; i < a.arraySize(); ++i)
            if (!sameValue(a.arrayElement(i), b.arrayElement(i)))
                return false;
        return true;
    }
    }
    return false;
}

GgufValue array(GgufValueType elementType, std::vector<GgufValue> elements)
{
    return GgufValue::fromArray(elementType, std::move(elements));
}

GgufValue u(GgufValueType t, uint64_t v) { return GgufValue::fromUInt(t, v); }
GgufValue i(GgufValueType t, int64_t v) { return GgufValue::fromInt(t, v); }
GgufValue f(GgufValueType t, double v) { return GgufValue::fromFloat(t, v); }
GgufValue s(std::string v) { return GgufValue::fromString(std::move(v)); }

// A small valid file with metadata of several kinds and two tensors. The last tensor's data is a multiple of the
// alignment, so the file ends exactly where that data ends: any shorter prefix is truncated for real.
std::vector<uint8_t> smallValidFile()
{
    GgufWriter w;
    w.setString("general.architecture", "llama");
    w.setUInt32("llama.context_length", 128);
    w.setFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.setBool("flag", true);
    w.setStringArray("tokenizer.ggml.tokens", { "<s>", "a", "" });
    w.setInt32Array("tokenizer.ggml.token_type", { 1, -2, 3 });
    w.set("nested", array(GgufValueType::Array, { array(GgufValueType::UInt8, { u(GgufValueType::UInt8, 7) }) }));
    std::vector<float> values(8 * 2);
    for (size_t k = 0; k < values.size(); ++k)
        values[k] = float(k) * 0.5f - 3.0f;
    w.addTensorF32("a", { 8, 2 }, values);
    w.addTensor("b", GgmlType::F16, { 16 }, patternBytes(32, 2));
    return w.toBytes();
}

// Runs `body`, which must throw ModelFileError; returns it for further checks.
template <typename Body> std::optional<ModelFileError> catchModelFileError(Body body)
{
    try {
        body();
    } catch (const ModelFileError& e) {
        return e;
    }
    return std::nullopt;
}

} // namespace

class TestGguf : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void scalarValueRoundTripsExactly_data();
    void scalarValueRoundTripsExactly();
    void arrayValueRoundTripsExactly_data();
    void arrayValueRoundTripsExactly();
    void tensorRoundTripsThroughFile_data();
    void tensorRoundTripsThroughFile();
    void metadataKeepsInsertionOrderWithAlignmentFirst();
    void settingAKeyAgainReplacesItInPlace();
    void gettersConvertCompatibleTypes();
    void gettersRejectMissingKeysAndWrongTypes_data();
    void gettersRejectMissingKeysAndWrongTypes();
    void valueToStringShowsTypeAppropriateText();

    void malformedFileIsRefusedWithOffset_data();
    void malformedFileIsRefusedWithOffset();
    void everyTruncationIsRefused();
    void randomByteFlipsParseOrThrowModelFileError();
    void openOnMissingPathNamesThePath();
    void hugeMetadataArrayCostsWhatItHolds();
    void emptyFileIsAModelFileError();

    void addTensorRejectsWrongByteCount_data();
    void addTensorRejectsWrongByteCount();
    void writeFailureNamesThePathAndLeavesNoFile();
};

// --- round trips

void TestGguf::scalarValueRoundTripsExactly_data()
{
    QTest::addColumn<GgufValue>("value");
    using T = GgufValueType;
    QTest::newRow("uint8 max") << u(T::UInt8, 255);
    QTest::newRow("int8 min") << i(T::Int8, -128);
    QTest::newRow("uint16 max") << u(T::UInt16, 65535);
    QTest::newRow("int16 min") << i(T::Int16, -32768);
    QTest::newRow("uint32 max") << u(T::UInt32, std::numeric_limits<uint32_t>::max());
    QTest::newRow("int32 min") << i(T::Int32, std::numeric_limits<int32_t>::min());
    QTest::newRow("uint64 max") << u(T::UInt64, std::numeric_limits<uint64_t>::max());
    QTest::newRow("int64 min") << i(T::Int64, std::numeric_limits<int64_t>::min());
    QTest::newRow("int64 -1") << i(T::Int64, -1);
    QTest::newRow("float32 fraction") << f(T::Float32, 0.1f);
    QTest::newRow("float32 negative zero") << f(T::Float32, -0.0);
    QTest::newRow("float32 infinity") << f(T::Float32, std::numeric_limits<float>::infinity());
    QTest::newRow("float32 denormal") << f(T::Float32, std::numeric_limits<float>::denorm_min());
    QTest::newRow("float64 pi") << f(T::Float64, 3.141592653589793);
    QTest::newRow("float64 tiny") << f(T::Float64, 1e-300);
    QTest::newRow("bool true") << GgufValue::fromBool(true);
    QTest::newRow("bool false") << GgufValue::fromBool(false);
    QTest::newRow("empty string") << s("");
    QTest::newRow("ascii string") << s("llama");
    QTest::newRow("utf-8 string") << s("h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\xa6\x99");
    QTest::newRow("string with NUL") << s(std::string("a\0b", 3));
}

void TestGguf::scalarValueRoundTripsExactly()
{
    QFETCH(GgufValue, value);
    GgufWriter w;
    w.setString("before", "x");
    w.set("key", value);
    w.setUInt32("after", 9);
    const std::vector<uint8_t> bytes = w.toBytes();
    const GgufFile file = GgufFile::fromMemory(asSpan(bytes), "scalar.gguf");

    QCOMPARE(file.version(), 3u);
    QCOMPARE(file.metadata().size(), size_t(3));
    const GgufValue* read = file.find("key");
    QVERIFY(read);
    QVERIFY2(sameValue(*read, value), (read->toString() + " != " + value.toString()).c_str());
    QCOMPARE(file.getUInt("after"), uint64_t(9)); // the value's size was read exactly: the next key lines up
}

void TestGguf::arrayValueRoundTripsExactly_data()
{
    QTest::addColumn<GgufValue>("value");
    using T = GgufValueType;
    QTest::newRow("uint8") << array(T::UInt8, { u(T::UInt8, 0), u(T::UInt8, 255) });
    QTest::newRow("int8") << array(T::Int8, { i(T::Int8, -1), i(T::Int8, 127) });
    QTest::newRow("uint16") << array(T::UInt16, { u(T::UInt16, 1), u(T::UInt16, 65535) });
    QTest::newRow("int16") << array(T::Int16, { i(T::Int16, -300), i(T::Int16, 300) });
    QTest::newRow("uint32") << array(T::UInt32, { u(T::UInt32, 4000000000u) });
    QTest::newRow("int32") << array(T::Int32, { i(T::Int32, -2), i(T::Int32, 2), i(T::Int32, 0) });
    QTest::newRow("uint64") << array(T::UInt64, { u(T::UInt64, uint64_t(1) << 63) });
    QTest::newRow("int64") << array(T::Int64, { i(T::Int64, -(int64_t(1) << 62)) });
    QTest::newRow("float32") << array(T::Float32, { f(T::Float32, 1.25), f(T::Float32, -1e-7) });
    QTest::newRow("float64") << array(T::Float64, { f(T::Float64, 1e300), f(T::Float64, -2.5) });
    QTest::newRow("bool") << array(T::Bool, { GgufValue::fromBool(true), GgufValue::fromBool(false) });
    QTest::newRow("string") << array(T::String, { s("<unk>"), s(""), s("\xe2\x96\x81the") });
    QTest::newRow("empty uint32") << array(T::UInt32, {});
    QTest::newRow("empty string") << array(T::String, {});
    QTest::newRow("nested") << array(T::Array,
        { array(T::Int32, { i(T::Int32, 1), i(T::Int32, 2) }), array(T::String, { s("x") }), array(T::Bool, {}) });
    QTest::newRow("nested three deep") << array(
        T::Array, { array(T::Array, { array(T::Float64, { f(T::Float64, 0.5) }) }) });
    QTest::newRow("array of empty arrays") << array(T::Array, { array(T::UInt8, {}), array(T::UInt8, {}) });
    QTest::newRow("empty array of arrays") << array(T::Array, {});
}

void TestGguf::arrayValueRoundTripsExactly()
{
    QFETCH(GgufValue, value);
    GgufWriter w;
    w.set("key", value);
    w.setString("after", "end");
    const std::vector<uint8_t> bytes = w.toBytes();
    const GgufFile file = GgufFile::fromMemory(asSpan(bytes), "array.gguf");

    const GgufValue* read = file.find("key");
    QVERIFY(read);
    QCOMPARE(read->type(), GgufValueType::Array);
    QCOMPARE(read->elementType(), value.elementType());
    QVERIFY2(sameValue(*read, value), (read->toString() + " != " + value.toString()).c_str());
    QCOMPARE(file.getString("after"), std::string("end"));
}

void TestGguf::tensorRoundTripsThroughFile_data()
{
    QTest::addColumn<uint32_t>("type");
    QTest::addColumn<QList<quint64>>("dims");
    QTest::addColumn<uint64_t>("alignment");

    QTest::newRow("F32 1-d") << uint32_t(GgmlType::F32) << QList<quint64> { 5 } << uint64_t(32);
    QTest::newRow("F32 2-d") << uint32_t(GgmlType::F32) << QList<quint64> { 3, 7 } << uint64_t(32);
    QTest::newRow("F16 3-d") << uint32_t(GgmlType::F16) << QList<quint64> { 5, 3, 2 } << uint64_t(32);
    QTest::newRow("BF16 4-d") << uint32_t(GgmlType::BF16) << QList<quint64> { 3, 2, 2, 3 } << uint64_t(32);
    QTest::newRow("F32 4-d align 64") << uint32_t(GgmlType::F32) << QList<quint64> { 2, 3, 1, 5 } << uint64_t(64);
    QTest::newRow("F16 1-d align 64") << uint32_t(GgmlType::F16) << QList<quint64> { 33 } << uint64_t(64);
    QTest::newRow("BF16 2-d align 64") << uint32_t(GgmlType::BF16) << QList<quint64> { 9, 4 } << uint64_t(64);
    // Known types without kernels yet are the model loader's business, not the reader's.
    QTest::newRow("Q8_0 without kernels") << uint32_t(GgmlType::Q8_0) << QList<quint64> { 64, 3 } << uint64_t(32);
    QTest::newRow("Q4_K without kernels") << uint32_t(GgmlType::Q4_K) << QList<quint64> { 256, 2 } << uint64_t(32);
}

void TestGguf::tensorRoundTripsThroughFile()
{
    QFETCH(uint32_t, type);
    QFETCH(QList<quint64>, dims);
    QFETCH(uint64_t, alignment);
    const auto ggmlType = GgmlType(type);
    const std::vector<uint64_t> shape(dims.begin(), dims.end());
    uint64_t rows = 1;
    for (size_t k = 1; k < shape.size(); ++k)
        rows *= shape[k];
    const uint64_t nbytes = ggmlRowBytes(ggmlType, shape[0]) * rows;

    // Three tensors so the one under test sits between others: its offset depends on padding of the first.
    GgufWriter w;
    w.setAlignment(alignment);
    w.setString("general.name", "tensors");
    const std::vector<uint8_t> first = patternBytes(4 * 3, 1); // 12 bytes: forces padding after it
    const std::vector<uint8_t> middle = patternBytes(nbytes, 2);
    const std::vector<uint8_t> last = patternBytes(2 * 5, 3);
    w.addTensor("first", GgmlType::F32, { 3 }, first);
    w.addTensor("blk.0.attn_q.weight", ggmlType, shape, middle);
    w.addTensor("last", GgmlType::F16, { 5 }, last);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = tempPath(dir, QStringLiteral("model.gguf"));
    w.write(path);
    const GgufFile file = GgufFile::open(path);

    QCOMPARE(file.path(), path);
    QCOMPARE(file.alignment(), alignment);
    QCOMPARE(file.dataOffset() % alignment, uint64_t(0));
    QCOMPARE(file.tensors().size(), size_t(3));
    const std::vector<uint8_t>* expected[] = { &first, &middle, &last };
    for (size_t k = 0; k < 3; ++k) {
        const GgufTensorInfo& t = file.tensors()[k];
        QCOMPARE(t.offset % alignment, uint64_t(0));
        QCOMPARE(t.fileOffset, file.dataOffset() + t.offset);
        QCOMPARE(t.nbytes, uint64_t(expected[k]->size()));
        QVERIFY(std::memcmp(t.data, expected[k]->data(), expected[k]->size()) == 0);
    }
    const GgufTensorInfo* t = file.findTensor("blk.0.attn_q.weight");
    QVERIFY(t);
    QCOMPARE(t, &file.tensors()[1]);
    QCOMPARE(t->type, ggmlType);
    QCOMPARE(t->dims, shape);
    QCOMPARE(t->elementCount(), shape[0] * rows);
    QCOMPARE(file.tensors()[1].offset, (first.size() + alignment - 1) / alignment * alignment);
    QVERIFY(!file.findTensor("missing"));
}

void TestGguf::metadataKeepsInsertionOrderWithAlignmentFirst()
{
    GgufWriter w;
    w.setString("z.first", "1");
    w.setUInt32("a.second", 2);
    w.setBool("m.third", false);
    w.setAlignment(64);
    const std::vector<uint8_t> bytes = w.toBytes();
    const GgufFile file = GgufFile::fromMemory(asSpan(bytes), "order.gguf");

    const auto& md = file.metadata();
    QCOMPARE(md.size(), size_t(4));
    QCOMPARE(md[0].first, std::string("general.alignment"));
    QCOMPARE(md[0].second.type(), GgufValueType::UInt32);
    QCOMPARE(md[0].second.asUInt(), uint64_t(64));
    QCOMPARE(md[1].first, std::string("z.first"));
    QCOMPARE(md[2].first, std::string("a.second"));
    QCOMPARE(md[3].first, std::string("m.third"));
    QCOMPARE(file.alignment(), uint64_t(64));

    // The default alignment is implied, not written.
    GgufWriter plain;
    plain.setString("k", "v");
    const std::vector<uint8_t> plainBytes = plain.toBytes();
    const GgufFile plainFile = GgufFile::fromMemory(asSpan(plainBytes), "plain.gguf");
    QVERIFY(!plainFile.has("general.alignment"));
    QCOMPARE(plainFile.alignment(), uint64_t(32));
}

void TestGguf::settingAKeyAgainReplacesItInPlace()
{
    GgufWriter w;
    w.setString("a", "old");
    w.setUInt32("b", 1);
    w.setInt32("a", -5);
    const std::vector<uint8_t> bytes = w.toBytes();
    const GgufFile file = GgufFile::fromMemory(asSpan(bytes), "replace.gguf");
    QCOMPARE(file.metadata().size(), size_t(2));
    QCOMPARE(file.metadata()[0].first, std::string("a"));
    QCOMPARE(file.metadata()[0].second.type(), GgufValueType::Int32);
    QCOMPARE(file.metadata()[0].second.asInt(), int64_t(-5));
}

void TestGguf::gettersConvertCompatibleTypes()
{
    GgufWriter w;
    w.set("u8", u(GgufValueType::UInt8, 200));
    w.set("i64", i(GgufValueType::Int64, 123456789012));
    w.set("f64", f(GgufValueType::Float64, 0.25));
    w.setFloat32("f32", 1.5f);
    w.setBool("yes", true);
    w.setString("name", "tiny");
    w.set("u16s", array(GgufValueType::UInt16, { u(GgufValueType::UInt16, 1), u(GgufValueType::UInt16, 65535) }));
    w.set("i8s", array(GgufValueType::Int8, { i(GgufValueType::Int8, -3) }));
    w.setFloat32Array("scores", { -1.0f, 0.5f });
    w.setStringArray("tokens", { "a", "\xc3\xa9" });
    const std::vector<uint8_t> bytes = w.toBytes();
    const GgufFile file = GgufFile::fromMemory(asSpan(bytes), "getters.gguf");

    QCOMPARE(file.getUInt("u8"), uint64_t(200));
    QCOMPARE(file.getUInt("i64"), uint64_t(123456789012));
    QCOMPARE(file.getUInt("absent", 77), uint64_t(77));
    QCOMPARE(file.getFloat("f64"), 0.25);
    QCOMPARE(file.getFloat("f32"), 1.5);
    QCOMPARE(file.getFloat("u8"), 200.0);
    QCOMPARE(file.getFloat("absent", -2.0), -2.0);
    QCOMPARE(file.getBool("yes", false), true);
    QCOMPARE(file.getBool("absent", true), true);
    QCOMPARE(file.getString("name"), std::string("tiny"));
    QCOMPARE(file.getString("absent", "fallback"), std::string("fallback"));
    QCOMPARE(file.getIntArray("u16s"), (std::vector<int32_t> { 1, 65535 }));
    QCOMPARE(file.getIntArray("i8s"), (std::vector<int32_t> { -3 }));
    QCOMPARE(file.getFloatArray("scores"), (std::vector<float> { -1.0f, 0.5f }));
    QCOMPARE(file.getFloatArray("i8s"), (std::vector<float> { -3.0f }));
    QCOMPARE(file.getStringArray("tokens"), (std::vector<std::string> { "a", "\xc3\xa9" }));
}

void TestGguf::gettersRejectMissingKeysAndWrongTypes_data()
{
    QTest::addColumn<QString>("getter");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("phrase");
    // clang-format off
    QTest::newRow("missing string") << "string" << "nope" << "missing metadata key 'nope'";
    QTest::newRow("missing uint") << "uint" << "nope" << "missing metadata key 'nope'";
    QTest::newRow("missing float") << "float" << "nope" << "missing metadata key 'nope'";
    QTest::newRow("missing string array") << "strings" << "nope" << "missing metadata key 'nope'";
    QTest::newRow("string from uint") << "string" << "count" << "'count' has type uint32, expected string";
    QTest::newRow("uint from string") << "uint" << "name" << "'name' has type string, expected";
    QTest::newRow("uint from negative") << "uint" << "negative" << "expected a non-negative integer";
    QTest::newRow("uint from float") << "uint" << "ratio" << "'ratio' has type float32";
    QTest::newRow("float from bool") << "float" << "flag" << "'flag' has type bool";
    QTest::newRow("bool from uint, even with a fallback") << "bool" << "count" << "'count' has type uint32";
    QTest::newRow("uint with fallback, wrong type") << "uint or" << "name" << "'name' has type string";
    QTest::newRow("int array from string array") << "ints" << "tokens" << "has type array of string";
    QTest::newRow("int array from float array") << "ints" << "scores" << "has type array of float32";
    QTest::newRow("int array value too big") << "ints" << "bigs" << "does not fit in int32";
    QTest::newRow("float array from string array") << "floats" << "tokens" << "has type array of string";
    QTest::newRow("string array from scalar") << "strings" << "name" << "has type string, expected array of string";
    // clang-format on
}

void TestGguf::gettersRejectMissingKeysAndWrongTypes()
{
    QFETCH(QString, getter);
    QFETCH(QString, key);
    QFETCH(QString, phrase);
    GgufWriter w;
    w.setUInt32("count", 3);
    w.setString("name", "tiny");
    w.setInt32("negative", -1);
    w.setFloat32("ratio", 0.5f);
    w.setBool("flag", true);
    w.setStringArray("tokens", { "a" });
    w.setFloat32Array("scores", { 1.0f });
    w.set("bigs", array(GgufValueType::UInt64, { u(GgufValueType::UInt64, uint64_t(1) << 40) }));
    const std::vector<uint8_t> bytes = w.toBytes();
    const GgufFile file = GgufFile::fromMemory(asSpan(bytes), "getters.gguf");
    const std::string k = key.toStdString();

    const auto error = catchModelFileError([&] {
        if (getter == QLatin1String("string"))
            file.getString(k);
        else if (getter == QLatin1String("uint"))
            file.getUInt(k);
        else if (getter == QLatin1String("uint or"))
            file.getUInt(k, 5);
        else if (getter == QLatin1String("float"))
            file.getFloat(k);
        else if (getter == QLatin1String("bool"))
            file.getBool(k, false);
        else if (getter == QLatin1String("strings"))
            file.getStringArray(k);
        else if (getter == QLatin1String("floats"))
            file.getFloatArray(k);
        else if (getter == QLatin1String("ints"))
            file.getIntArray(k);
    });
    QVERIFY2(error, "no ModelFileError");
    QVERIFY2(std::string(error->what()).find(phrase.toStdString()) != std::string::npos, error->what());
    QVERIFY2(std::string(error->what()).starts_with("getters.gguf: "), error->what());
}

void TestGguf::valueToStringShowsTypeAppropriateText()
{
    using T = GgufValueType;
    QCOMPARE(u(T::UInt32, 7).toString(), std::string("7"));
    QCOMPARE(i(T::Int8, -7).toString(), std::string("-7"));
    QCOMPARE(GgufValue::fromBool(true).toString(), std::string("true"));
    QCOMPARE(s("a\"b\n").toString(), std::string("\"a\\\"b\\n\""));
    QCOMPARE(f(T::Float32, 0.5).toString(), std::string("0.5"));
    std::vector<GgufValue> many;
    for (int k = 0; k < 10; ++k)
        many.push_back(i(T::Int32, k));
    QCOMPARE(array(T::Int32, many).toString(3), std::string("[0, 1, 2, ... 10 items]"));
    QCOMPARE(array(T::Int32, {}).toString(), std::string("[]"));
    QCOMPARE(std::string(ggufValueTypeName(T::Float64)), std::string("float64"));
}

// --- malformed files

void TestGguf::malformedFileIsRefusedWithOffset_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("phrase");
    QTest::addColumn<qint64>("offset"); // -1: the offset is not asserted

    constexpr uint64_t kAbsurd = uint64_t(1) << 60;
    constexpr uint32_t kU8 = uint32_t(GgufValueType::UInt8);
    constexpr uint32_t kArray = uint32_t(GgufValueType::Array);
    constexpr uint32_t kF32 = uint32_t(GgmlType::F32);

    {
        RawGguf r;
        r.header(3, 0, 0);
        QByteArray bytes = r.bytes();
        bytes[3] = 'L';
        QTest::newRow("bad magic") << bytes << "bad magic" << qint64(0);
    }
    QTest::newRow("version 1") << RawGguf().header(1, 0, 0).bytes() << "unsupported GGUF version 1" << qint64(4);
    QTest::newRow("version 4") << RawGguf().header(4, 0, 0).bytes() << "unsupported GGUF version 4" << qint64(4);
    QTest::newRow("big-endian version") << RawGguf().header(0x03000000, 0, 0).bytes() << "big-endian" << qint64(4);
    QTest::newRow("header cut short") << RawGguf().header(3, 0, 0).bytes().left(20) << "unexpected end of file"
                                      << qint64(16);
    QTest::newRow("absurd tensor count") << RawGguf().header(3, kAbsurd, 0).bytes()
                                         << "tensor count 1152921504606846976 cannot fit" << qint64(8);
    QTest::newRow("absurd kv count") << RawGguf().header(3, 0, kAbsurd).zeros(64).bytes() << "metadata count"
                                     << qint64(16);
    QTest::newRow("key length past EOF") << RawGguf().header(3, 0, 1).u64(1000).zeros(8).bytes()
                                         << "string length 1000 of metadata key runs past the end" << qint64(24);
    {
        RawGguf r;
        r.header(3, 0, 1).str("k").u32(uint32_t(GgufValueType::String));
        const qint64 at = r.pos();
        r.u64(kAbsurd).zeros(4);
        QTest::newRow("string value length past EOF") << r.bytes() << "of metadata key 'k' runs past the end" << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 1).str("k").u32(kArray).u32(kU8);
        const qint64 at = r.pos();
        r.u64(kAbsurd).zeros(16);
        QTest::newRow("absurd array count") << r.bytes() << "array element count 1152921504606846976 cannot fit" << at;
    }
    {
        // Strings take at least 8 bytes each: the count is checked against the element's minimum size.
        RawGguf r;
        r.header(3, 0, 1).str("k").u32(kArray).u32(uint32_t(GgufValueType::String));
        const qint64 at = r.pos();
        r.u64(3).u64(0).u64(0).zeros(4); // 3 strings need 24 bytes; 20 are left
        QTest::newRow("array count of strings past EOF") << r.bytes() << "array element count 3 cannot fit" << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 1).str("k");
        const qint64 at = r.pos();
        r.u32(13).zeros(8);
        QTest::newRow("unknown value type") << r.bytes() << "unknown metadata value type 13 for key 'k'" << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 1).str("k").u32(kArray);
        const qint64 at = r.pos();
        r.u32(0xffffffffu).u64(0);
        QTest::newRow("unknown array element type") << r.bytes() << "unknown array element type 4294967295" << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 1).str("deep").u32(kArray);
        qint64 at = 0;
        for (int depth = 0; depth < 9; ++depth) {
            at = r.pos();
            r.u32(kArray).u64(1);
        }
        r.zeros(16);
        QTest::newRow("arrays nested too deep") << r.bytes() << "nested deeper than 8" << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 1).str("b").u32(uint32_t(GgufValueType::Bool));
        const qint64 at = r.pos();
        r.u8(2);
        QTest::newRow("bool neither 0 nor 1") << r.bytes() << "invalid bool value 2" << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 2).kvU32("a", 1);
        const qint64 at = r.pos();
        r.kvU32("a", 2);
        QTest::newRow("duplicate keys") << r.bytes() << "duplicate metadata key 'a'" << at;
    }
    for (uint32_t bad : { 0u, 1u, 3u, 4u, 48u }) { // 1 and 4: fuzz/gguf.cpp found misaligned F32 data
        RawGguf r;
        r.header(3, 0, 1).str("general.alignment").u32(uint32_t(GgufValueType::UInt32));
        const qint64 at = r.pos();
        r.u32(bad);
        QTest::addRow("alignment %u", bad)
            << r.bytes() << QStringLiteral("general.alignment %1 is not a power of two of at least 8").arg(bad) << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 1).str("general.alignment").u32(uint32_t(GgufValueType::UInt64));
        const qint64 at = r.pos();
        r.u64(32);
        QTest::newRow("alignment as uint64") << r.bytes() << "general.alignment has type uint64, expected uint32" << at;
    }
    {
        RawGguf r;
        r.header(3, 0, 1).str("general.alignment").u32(uint32_t(GgufValueType::String));
        const qint64 at = r.pos();
        r.str("32");
        QTest::newRow("alignment as string") << r.bytes() << "general.alignment has type string" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w");
        const qint64 at = r.pos();
        r.u32(5);
        for (int k = 0; k < 5; ++k)
            r.u64(1);
        r.u32(kF32).u64(0).padTo(32).zeros(32);
        QTest::newRow("five dimensions") << r.bytes() << "tensor 'w' has 5 dimensions, expected 1 to 4" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w");
        const qint64 at = r.pos();
        r.u32(0).u32(kF32).u64(0).padTo(32).zeros(32);
        QTest::newRow("zero dimensions") << r.bytes() << "tensor 'w' has 0 dimensions" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w").u32(2).u64(4);
        const qint64 at = r.pos();
        r.u64(0).u32(kF32).u64(0).padTo(32).zeros(32);
        QTest::newRow("dimension of size 0") << r.bytes() << "tensor 'w' dimension 1 is 0" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w").u32(3).u64(uint64_t(1) << 20).u64(uint64_t(1) << 20);
        const qint64 at = r.pos();
        r.u64(uint64_t(1) << 40).u32(kF32).u64(0).padTo(32).zeros(32);
        QTest::newRow("element count overflows") << r.bytes() << "tensor 'w' has too many elements" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w").u32(1).u64(4);
        const qint64 at = r.pos();
        r.u32(99).u64(0).padTo(32).zeros(32);
        QTest::newRow("unknown tensor type") << r.bytes() << "unknown tensor type 99 for tensor 'w'" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w").u32(1).u64(30);
        const qint64 at = r.pos();
        r.u32(uint32_t(GgmlType::Q8_0)).u64(0).padTo(32).zeros(64);
        QTest::newRow("row not a whole number of blocks")
            << r.bytes() << "row length 30 is not a multiple of the Q8_0 block size 32" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w").u32(1).u64(4).u32(kF32);
        const qint64 at = r.pos();
        r.u64(16).padTo(32).zeros(64);
        QTest::newRow("misaligned offset") << r.bytes() << "data offset 16 is not a multiple of the alignment 32" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 1).kvU32("general.alignment", 64).str("w").u32(1).u64(4).u32(kF32);
        const qint64 at = r.pos();
        r.u64(32).padTo(64).zeros(128);
        QTest::newRow("offset misaligned for custom alignment")
            << r.bytes() << "not a multiple of the alignment 64" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).str("w").u32(1).u64(100).u32(kF32);
        const qint64 at = r.pos();
        r.u64(0).padTo(32).zeros(396); // 400 bytes needed
        QTest::newRow("tensor data past EOF")
            << r.bytes() << "data of tensor 'w' (400 bytes at data offset 0) runs past the end" << at;
    }
    {
        // offset + nbytes wraps around 2^64; a naive sum would pass the bounds check.
        RawGguf r;
        r.header(3, 1, 0).str("w").u32(1).u64(8).u32(kF32);
        const qint64 at = r.pos();
        r.u64(~uint64_t(0) - 31).padTo(32).zeros(64);
        QTest::newRow("tensor offset wraps around") << r.bytes() << "runs past the end of the file" << at;
    }
    {
        RawGguf r;
        r.header(3, 2, 0).tensorInfo("w", { 8 }, kF32, 0);
        const qint64 at = r.pos();
        r.tensorInfo("w", { 8 }, kF32, 32).padTo(32).zeros(64);
        QTest::newRow("duplicate tensor names") << r.bytes() << "duplicate tensor name 'w'" << at;
    }
    {
        RawGguf r;
        r.header(3, 1, 0).u64(40).zeros(30);
        QTest::newRow("tensor name past EOF") << r.bytes() << "runs past the end" << qint64(24);
    }
}

void TestGguf::malformedFileIsRefusedWithOffset()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, phrase);
    QFETCH(qint64, offset);
    // Parse from an exactly sized heap copy, so the sanitizer build catches any read past the end.
    const std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    const auto error = catchModelFileError([&] { GgufFile::fromMemory(asSpan(copy), "bad.gguf"); });
    QVERIFY2(error, "parsed without error");
    QVERIFY2(std::string(error->what()).find(phrase.toStdString()) != std::string::npos, error->what());
    QCOMPARE(error->file(), std::string("bad.gguf"));
    if (offset >= 0) {
        QCOMPARE(error->offset(), uint64_t(offset));
        const std::string prefix = "bad.gguf: at byte " + std::to_string(offset) + ": ";
        QVERIFY2(std::string(error->what()).starts_with(prefix), error->what());
    }
}

void TestGguf::everyTruncationIsRefused()
{
    const std::vector<uint8_t> valid = smallValidFile();
    const GgufFile full = GgufFile::fromMemory(asSpan(valid), "full.gguf");
    const GgufTensorInfo& lastTensor = full.tensors().back();
    QCOMPARE(lastTensor.fileOffset + lastTensor.nbytes, uint64_t(valid.size())); // the premise of this test

    for (size_t length = 0; length < valid.size(); ++length) {
        const std::vector<uint8_t> prefix(valid.begin(), valid.begin() + std::ptrdiff_t(length));
        const auto error = catchModelFileError([&] { GgufFile::fromMemory(asSpan(prefix), "cut.gguf"); });
        if (!error)
            QFAIL(qPrintable(QStringLiteral("a prefix of %1 of %2 bytes parsed").arg(length).arg(valid.size())));
        QVERIFY2(error->offset() <= length, error->what());
    }
}

void TestGguf::randomByteFlipsParseOrThrowModelFileError()
{
    const std::vector<uint8_t> valid = smallValidFile();
    const uint64_t headerEnd = GgufFile::fromMemory(asSpan(valid), "valid.gguf").dataOffset();
    std::mt19937 rng(20240601);
    int parsed = 0;
    int refused = 0;
    unsigned checksum = 0;
    for (int round = 0; round < 5000; ++round) {
        std::vector<uint8_t> bytes = valid;
        const int flips = 1 + int(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            // Mostly hit the header, metadata and tensor table: flips in tensor data are always harmless.
            const size_t at = rng() % 8 ? rng() % headerEnd : rng() % bytes.size();
            bytes[at] ^= uint8_t(1 + rng() % 255);
        }
        try {
            const GgufFile file = GgufFile::fromMemory(asSpan(bytes), "flipped.gguf");
            // Touch every byte the reader vouched for, so the sanitizer build catches a wrong bound.
            for (const GgufTensorInfo& t : file.tensors())
                for (uint64_t b = 0; b < t.nbytes; ++b)
                    checksum += t.data[b];
            for (const auto& [key, value] : file.metadata())
                checksum += unsigned(value.toString().size() + key.size());
            ++parsed;
        } catch (const ModelFileError&) {
            ++refused;
        } catch (const std::exception& e) {
            QFAIL(qPrintable(QStringLiteral("round %1 threw something other than ModelFileError: %2")
                                 .arg(round)
                                 .arg(QString::fromUtf8(e.what()))));
        }
    }
    QCOMPARE(parsed + refused, 5000);
    QVERIFY(checksum != 0); // keeps the reads above from being optimised away
    QVERIFY2(parsed > 0 && refused > 0, qPrintable(QStringLiteral("parsed %1, refused %2").arg(parsed).arg(refused)));
}

void TestGguf::openOnMissingPathNamesThePath()
{
    const std::string path = "/nonexistent-dir-for-test/model.gguf";
    try {
        GgufFile::open(path);
        QFAIL("opened a missing file");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).starts_with(path + ": "), e.what());
        QVERIFY2(std::string(e.what()).find("No such file") != std::string::npos, e.what());
    }
}

// Peak resident memory of this process, from /proc/self/status (VmHWM), in bytes.
uint64_t peakResidentBytes()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').first().toULongLong() * 1024;
    return 0;
}

void TestGguf::hugeMetadataArrayCostsWhatItHolds()
{
    // An 8 MB file holding one 8M-element uint8 array. Each element once became a GgufValue of ~90 bytes (and the
    // vector was reserved from the claimed count): about 700 MB. Stored compactly it costs its 8 MB. Parsed in a
    // child process so the peak resident memory measured is the parser's alone.
    constexpr uint64_t kCount = uint64_t(8) << 20;
    RawGguf r;
    r.header(3, 0, 1).str("huge").u32(uint32_t(GgufValueType::Array)).u32(uint32_t(GgufValueType::UInt8)).u64(kCount);
    QByteArray bytes = r.bytes();
    bytes.append(QByteArray(qsizetype(kCount), '\x05'));

    int pipeFds[2];
    QVERIFY(::pipe(pipeFds) == 0);
    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        ::close(pipeFds[0]);
        uint64_t result[3] = { 0, 0, 0 };
        // Clear the peak (write "5" to clear_refs) so the figure starts from what the child holds now.
        if (QFile clear(QStringLiteral("/proc/self/clear_refs")); clear.open(QIODevice::WriteOnly))
            clear.write("5");
        const uint64_t before = peakResidentBytes();
        try {
            const GgufFile file = GgufFile::fromMemory(
                { reinterpret_cast<const uint8_t*>(bytes.constData()), size_t(bytes.size()) }, "huge.gguf");
            const GgufValue* v = file.find("huge");
            result[1] = v ? v->arraySize() : 0;
            result[2] = v ? v->arrayElement(size_t(kCount - 1)).asUInt() : 0;
        } catch (...) {
        }
        result[0] = peakResidentBytes() - before;
        [[maybe_unused]] const auto written = ::write(pipeFds[1], result, sizeof result);
        ::_exit(0);
    }
    ::close(pipeFds[1]);
    uint64_t result[3] = { 0, 0, 0 };
    const auto got = ::read(pipeFds[0], result, sizeof result);
    ::close(pipeFds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    QCOMPARE(got, ssize_t(sizeof result));
    QCOMPARE(result[1], kCount); // parsed, every element there
    QCOMPARE(result[2], uint64_t(5));
    qInfo("parsing the 8 MiB array grew the peak resident memory by %.1f MiB", double(result[0]) / (1 << 20));
    QVERIFY2(result[0] < (uint64_t(64) << 20), qPrintable(QStringLiteral("%1 bytes").arg(result[0])));
}

void TestGguf::emptyFileIsAModelFileError()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString qpath = dir.filePath(QStringLiteral("empty.gguf"));
    QFile file(qpath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    const std::string path = qpath.toStdString();

    const MappedFile mapping(path);
    QCOMPARE(mapping.bytes().size(), size_t(0));

    const auto error = catchModelFileError([&] { GgufFile::open(path); });
    QVERIFY2(error, "an empty file parsed");
    QCOMPARE(error->file(), path);
    QVERIFY2(std::string(error->what()).find("empty") != std::string::npos, error->what());
}

// --- writer misuse

void TestGguf::addTensorRejectsWrongByteCount_data()
{
    QTest::addColumn<uint32_t>("type");
    QTest::addColumn<QList<quint64>>("dims");
    QTest::addColumn<int>("byteCount");
    QTest::newRow("F32 one short") << uint32_t(GgmlType::F32) << QList<quint64> { 4, 2 } << 31;
    QTest::newRow("F32 one long") << uint32_t(GgmlType::F32) << QList<quint64> { 4, 2 } << 33;
    QTest::newRow("F16 sized as F32") << uint32_t(GgmlType::F16) << QList<quint64> { 8 } << 32;
    QTest::newRow("Q8_0 partial block") << uint32_t(GgmlType::Q8_0) << QList<quint64> { 16 } << 17;
    QTest::newRow("no dimensions") << uint32_t(GgmlType::F32) << QList<quint64> {} << 0;
    QTest::newRow("five dimensions") << uint32_t(GgmlType::F32) << QList<quint64> { 1, 1, 1, 1, 1 } << 4;
    QTest::newRow("zero dimension") << uint32_t(GgmlType::F32) << QList<quint64> { 4, 0 } << 0;
}

void TestGguf::addTensorRejectsWrongByteCount()
{
    QFETCH(uint32_t, type);
    QFETCH(QList<quint64>, dims);
    QFETCH(int, byteCount);
    GgufWriter w;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
        w.addTensor("t", GgmlType(type), std::vector<uint64_t>(dims.begin(), dims.end()),
            std::vector<uint8_t>(size_t(byteCount))));
    const std::vector<uint8_t> bytes = w.toBytes();
    QVERIFY(GgufFile::fromMemory(asSpan(bytes), "none.gguf").tensors().empty()); // nothing half-added
}

void TestGguf::writeFailureNamesThePathAndLeavesNoFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    GgufWriter w;
    w.setString("k", "v");
    const std::string missingDir = tempPath(dir, QStringLiteral("no/such/dir/model.gguf"));
    try {
        w.write(missingDir);
        QFAIL("wrote into a missing directory");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).starts_with(missingDir + ": "), e.what());
    }

    // A successful write leaves exactly the target, no temporary file beside it.
    const std::string path = tempPath(dir, QStringLiteral("ok.gguf"));
    w.write(path);
    w.write(path); // overwriting an existing file works too
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList { QStringLiteral("ok.gguf") });
    QCOMPARE(GgufFile::open(path).getString("k"), std::string("v"));
}

QTEST_APPLESS_MAIN(TestGguf)
#include "test_gguf.moc"
