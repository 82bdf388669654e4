// ggml block types: layouts decoded against hand-built blocks, dequantisation bit-exact against a
// transliteration of ggml's loops, quantisation error bounds, dot products, and whole models quantised
// by quantizeModel running close to their F32 original and identically on every thread count.
#include "engine/format/gguffile.h"
#include "engine/kernels/activationq8.h"
#include "engine/kernels/blockformats.h"
#include "engine/kernels/modelquantizer.h"
#include "engine/kernels/q4groups.h"
#include "engine/kernels/typekernels.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/model.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"
#include "engine/run/generation.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>

using namespace engine;
using namespace testsupport;

Q_DECLARE_METATYPE(engine::GgmlType)

namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v)
        x = dist(rng);
    return v;
}

std::vector<uint8_t> quantized(GgmlType type, const std::vector<float>& x)
{
    std::vector<uint8_t> out(ggmlRowBytes(type, x.size()));
    quantizeRow(type, x.data(), out.data(), x.size());
    return out;
}

std::vector<float> dequantized(GgmlType type, const std::vector<uint8_t>& bytes, size_t n)
{
    std::vector<float> out(n);
    typeKernels(type).dequantizeRow(bytes.data(), out.data(), n);
    return out;
}

using IntegerDot = float (*)(const uint8_t*, const ActivationQ8&, size_t);
IntegerDot integerDotScalar(GgmlType type)
{
    switch (type) {
    case GgmlType::Q8_0:
        return dotQ8_0Q8Scalar;
    case GgmlType::Q4_0:
        return dotQ4_0Q8Scalar;
    case GgmlType::Q5_0:
        return dotQ5_0Q8Scalar;
    case GgmlType::Q4_K:
        return dotQ4_KQ8Scalar;
    case GgmlType::Q5_K:
        return dotQ5_KQ8Scalar;
    case GgmlType::Q6_K:
        return dotQ6_KQ8Scalar;
    default:
        return nullptr;
    }
}

double relativeRmse(const std::vector<float>& ref, const std::vector<float>& got)
{
    double err = 0, sig = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        err += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
        sig += double(ref[i]) * ref[i];
    }
    return std::sqrt(err / sig);
}

uint32_t floatBits(float f)
{
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// Exactly representable half values used in hand-built blocks.
constexpr uint16_t kHalfOne = 0x3C00, kHalfHalf = 0x3800, kHalfQuarter = 0x3400, kHalfEighth = 0x3000;

template <typename Block> std::vector<uint8_t> bytesOf(const Block& b)
{
    std::vector<uint8_t> v(sizeof(Block));
    std::memcpy(v.data(), &b, sizeof(Block));
    return v;
}

// Packs 8 six-bit scales and mins as ggml-common.h describes block_q4_K.scales: bytes 0-3 hold the
// low 6 bits of scales 0-3 (top 2 bits: scales 4-7 >> 4), bytes 4-7 the same for mins, bytes 8-11 the
// low nibbles of scales 4-7 (low half) and mins 4-7 (high half). Written out here independently of
// the engine's packer so a shared mistake cannot hide.
void packK4Scales(const int sc[8], const int m[8], uint8_t out[12])
{
    for (int j = 0; j < 4; ++j) {
        out[j] = uint8_t((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        out[j + 4] = uint8_t((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        out[j + 8] = uint8_t((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
}

// ---- ggml's dequantize_row_* loops transliterated from ggml-quants.c over raw bytes (offsets from
// ggml-common.h), sharing nothing with engine/quant.cpp but the f16 conversion.

float refHalf(const uint8_t* p)
{
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16ToF32(h);
}

void refGetScaleMinK4(int j, const uint8_t* q, int& d, int& m)
{
    if (j < 4) {
        d = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

std::vector<float> refDequantize(GgmlType type, const uint8_t* x, size_t n)
{
    std::vector<float> out;
    out.reserve(n);
    auto emit = [&](float v) { out.push_back(v); };
    if (type == GgmlType::Q8_0) {
        for (size_t i = 0; i < n / 32; ++i, x += 34)
            for (int j = 0; j < 32; ++j)
                emit(float(int8_t(x[2 + j])) * refHalf(x));
    } else if (type == GgmlType::Q4_0) {
        for (size_t i = 0; i < n / 32; ++i, x += 18) {
            std::vector<float> y(32);
            for (int j = 0; j < 16; ++j) {
                y[j] = float((x[2 + j] & 0x0F) - 8) * refHalf(x);
                y[j + 16] = float((x[2 + j] >> 4) - 8) * refHalf(x);
            }
            out.insert(out.end(), y.begin(), y.end());
        }
    } else if (type == GgmlType::Q5_0) {
        for (size_t i = 0; i < n / 32; ++i, x += 22) {
            uint32_t qh;
            std::memcpy(&qh, x + 2, 4);
            std::vector<float> y(32);
            for (int j = 0; j < 16; ++j) {
                const int xh0 = ((qh >> (j + 0)) << 4) & 0x10;
                const int xh1 = ((qh >> (j + 12))) & 0x10;
                y[j] = float(((x[6 + j] & 0x0F) | xh0) - 16) * refHalf(x);
                y[j + 16] = float(((x[6 + j] >> 4) | xh1) - 16) * refHalf(x);
            }
            out.insert(out.end(), y.begin(), y.end());
        }
    } else if (type == GgmlType::Q4_K || type == GgmlType::Q5_K) {
        const bool five = type == GgmlType::Q5_K;
        const size_t blockBytes = five ? 176 : 144;
        for (size_t i = 0; i < n / 256; ++i, x += blockBytes) {
            const float d = refHalf(x), min = refHalf(x + 2);
            const uint8_t* scales = x + 4;
            const uint8_t* qh = x + 16; // Q5_K only
            const uint8_t* q = x + (five ? 48 : 16);
            int is = 0;
            uint8_t u1 = 1, u2 = 2;
            for (int j = 0; j < 256; j += 64) {
                int sc, m;
                refGetScaleMinK4(is + 0, scales, sc, m);
                const float d1 = d * float(sc), m1 = min * float(m);
                refGetScaleMinK4(is + 1, scales, sc, m);
                const float d2 = d * float(sc), m2 = min * float(m);
                // ggml writes d1 * q - m1, which GCC and Clang contract to one fma on this target.
                for (int l = 0; l < 32; ++l)
                    emit(std::fma(d1, float((q[l] & 0xF) + (five && (qh[l] & u1) ? 16 : 0)), -m1));
                for (int l = 0; l < 32; ++l)
                    emit(std::fma(d2, float((q[l] >> 4) + (five && (qh[l] & u2) ? 16 : 0)), -m2));
                q += 32;
                is += 2;
                u1 = uint8_t(u1 << 2);
                u2 = uint8_t(u2 << 2);
            }
        }
    } else if (type == GgmlType::Q6_K) {
        for (size_t i = 0; i < n / 256; ++i, x += 210) {
            const float d = refHalf(x + 208);
            const uint8_t* ql = x;
            const uint8_t* qh = x + 128;
            const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
            std::vector<float> y(256);
            float* yp = y.data();
            for (int half = 0; half < 2; ++half) {
                for (int l = 0; l < 32; ++l) {
                    const int is = l / 16;
                    const int q1 = int8_t((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    const int q2 = int8_t((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    const int q3 = int8_t((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    const int q4 = int8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    yp[l + 0] = d * float(sc[is + 0]) * float(q1);
                    yp[l + 32] = d * float(sc[is + 2]) * float(q2);
                    yp[l + 64] = d * float(sc[is + 4]) * float(q3);
                    yp[l + 96] = d * float(sc[is + 6]) * float(q4);
                }
                yp += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
            out.insert(out.end(), y.begin(), y.end());
        }
    }
    return out;
}

// Where each type keeps its f16 scales inside a block (byte offsets), so random blocks can be given
// finite, sensible scales.
std::vector<size_t> halfOffsets(GgmlType type)
{
    switch (type) {
    case GgmlType::Q6_K:
        return { 208 };
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
        return { 0, 2 };
    default:
        return { 0 };
    }
}

const GgmlType kTypes[]
    = { GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K };

// A llama shape whose rows are whole 256-element super-blocks, so every k-quant applies everywhere.
SyntheticShape kShape256()
{
    SyntheticShape s = syntheticShape("tiny");
    s.name = "q256";
    s.dim = 256;
    s.layers = 2;
    s.heads = 4;
    s.kvHeads = 2;
    s.hidden = 512;
    s.vocab = 512;
    s.contextLength = 256;
    s.description = "test shape for k-quants";
    return s;
}

std::vector<int32_t> promptIds(int n, int vocab)
{
    std::vector<int32_t> ids;
    for (int i = 0; i < n; ++i)
        ids.push_back(int32_t(3 + (i * 37 + 11) % (vocab - 3)));
    return ids;
}

// All logits of a prompt (prefill: the dequantise-then-GEMM path) followed by a few single-token steps
// (decode: the dot path), concatenated.
std::vector<float> runLogits(std::shared_ptr<const Model> model, const SchedulerOptions& options)
{
    Scheduler scheduler(options);
    InferenceContext ctx(model, 64);
    const auto ids = promptIds(16, model->config().vocab);
    auto all = ctx.evalAll(scheduler, ids);
    std::vector<float> out(all.begin(), all.end());
    for (int32_t id : { 5, 77, 300, 12 }) {
        auto l = ctx.eval(scheduler, std::span<const int32_t>(&id, 1));
        out.insert(out.end(), l.begin(), l.end());
    }
    return out;
}

} // namespace

class TestQuant : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_f32Path;
    std::map<GgmlType, QString> m_quantPaths;
    std::map<GgmlType, QuantizeReport> m_reports;

    const QString& quantizedPath(GgmlType type)
    {
        auto it = m_quantPaths.find(type);
        if (it == m_quantPaths.end()) {
            const QString path
                = m_dir.filePath(QStringLiteral("q256-%1.gguf").arg(QString::fromLatin1(ggmlTypeName(type))));
            m_reports[type] = quantizeModel(m_f32Path.toStdString(), path.toStdString(), type);
            it = m_quantPaths.emplace(type, path).first;
        }
        return it->second;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_f32Path = m_dir.filePath(QStringLiteral("q256-f32.gguf"));
        writeFile(m_f32Path, syntheticModelGguf(kShape256()));
    }

    // ---- layouts

    void handBuiltBlocksDecodeToTheValuesOfTheGgmlLayout_data()
    {
        QTest::addColumn<GgmlType>("type");
        for (GgmlType t : kTypes)
            QTest::newRow(ggmlTypeName(t)) << t;
    }
    void handBuiltBlocksDecodeToTheValuesOfTheGgmlLayout()
    {
        // Each block is filled element by element following ggml-common.h's description of where
        // element i lives, with scales chosen so every product is exact; the engine must return
        // exactly those values. A swapped nibble order, a wrong scale index or a misplaced high bit
        // changes at least one value.
        QFETCH(GgmlType, type);
        std::vector<uint8_t> bytes;
        std::vector<float> expected;
        if (type == GgmlType::Q8_0) {
            BlockQ8_0 b {};
            b.d = kHalfHalf;
            for (int i = 0; i < 32; ++i) {
                b.qs[i] = int8_t(i * 8 - 128 + (i == 31 ? 7 : 0)); // -128 .. 127
                expected.push_back(float(b.qs[i]) * 0.5f);
            }
            bytes = bytesOf(b);
        } else if (type == GgmlType::Q4_0 || type == GgmlType::Q5_0) {
            const bool five = type == GgmlType::Q5_0;
            const uint32_t qh = 0xA5C3F00Fu;
            uint8_t qs[16] {};
            for (int i = 0; i < 32; ++i) {
                const int q = (i * 7 + 3) % 16; // element i's low 4 bits
                qs[i % 16] |= uint8_t(i < 16 ? q : q << 4); // elements 0..15: low nibbles, 16..31: high
                const int q5 = q | (five && (qh >> i & 1) ? 16 : 0);
                expected.push_back(float(q5 - (five ? 16 : 8)) * 0.25f);
            }
            if (five) {
                BlockQ5_0 b {};
                b.d = kHalfQuarter;
                std::memcpy(b.qh, &qh, 4);
                std::memcpy(b.qs, qs, 16);
                bytes = bytesOf(b);
            } else {
                BlockQ4_0 b {};
                b.d = kHalfQuarter;
                std::memcpy(b.qs, qs, 16);
                bytes = bytesOf(b);
            }
        } else if (type == GgmlType::Q4_K || type == GgmlType::Q5_K) {
            const bool five = type == GgmlType::Q5_K;
            // Distinct per-sub-block scales and mins, some above 15 and 31 so the packed high bits matter.
            const int sc[8] = { 1, 7, 13, 63, 33, 20, 47, 5 };
            const int mn[8] = { 0, 3, 62, 9, 17, 40, 2, 31 };
            uint8_t scales[12];
            packK4Scales(sc, mn, scales);
            uint8_t qs[128] {}, qh[32] {};
            for (int i = 0; i < 256; ++i) {
                const int s = i / 32, l = i % 32; // sub-block s, element l
                const int q = (s * 5 + l * 3) % 16;
                const bool high = five && (l + s) % 3 == 0;
                // Sub-blocks 2k and 2k+1 share bytes 32k..32k+31: low nibbles for 2k, high for 2k+1.
                qs[32 * (s / 2) + l] |= uint8_t(s % 2 == 0 ? q : q << 4);
                if (high)
                    qh[l] |= uint8_t(1 << s); // bit s of qh[l] is the fifth bit of sub-block s
                expected.push_back(0.5f * float(sc[s]) * float(q + (high ? 16 : 0)) - 0.25f * float(mn[s]));
            }
            if (five) {
                BlockQ5_K b {};
                b.d = kHalfHalf;
                b.dmin = kHalfQuarter;
                std::memcpy(b.scales, scales, 12);
                std::memcpy(b.qh, qh, 32);
                std::memcpy(b.qs, qs, 128);
                bytes = bytesOf(b);
            } else {
                BlockQ4_K b {};
                b.d = kHalfHalf;
                b.dmin = kHalfQuarter;
                std::memcpy(b.scales, scales, 12);
                std::memcpy(b.qs, qs, 128);
                bytes = bytesOf(b);
            }
        } else if (type == GgmlType::Q6_K) {
            BlockQ6_K b {};
            b.d = kHalfEighth;
            for (int g = 0; g < 16; ++g)
                b.scales[g] = int8_t((g * 37) % 256 - 128); // distinct, negative and positive
            for (int i = 0; i < 256; ++i) {
                const int q = (i * 7 + 3) % 64;
                // Element i: half h = i / 128; in it, quarter k = (i % 128) / 32 and lane l = i % 32.
                // Quarters 0/1 use the low nibbles of ql[l] / ql[l+32], quarters 2/3 their high nibbles;
                // qh[l] bits 2k..2k+1 hold q >> 4.
                const int h = i / 128, k = (i % 128) / 32, l = i % 32;
                uint8_t& lowByte = b.ql[64 * h + (k % 2) * 32 + l];
                lowByte |= uint8_t(k < 2 ? (q & 15) : (q & 15) << 4);
                b.qh[32 * h + l] |= uint8_t((q >> 4) << (2 * k));
                expected.push_back(0.125f * float(b.scales[i / 16]) * float(q - 32));
            }
            bytes = bytesOf(b);
        }
        const size_t n = expected.size();
        const auto got = dequantized(type, bytes, n);
        for (size_t i = 0; i < n; ++i)
            QVERIFY2(got[i] == expected[i],
                qPrintable(QStringLiteral("element %1: got %2, expected %3").arg(i).arg(got[i]).arg(expected[i])));
    }

    void dequantizationIsBitExactAgainstGgmlReferenceLoops_data()
    {
        QTest::addColumn<GgmlType>("type");
        for (GgmlType t : kTypes)
            QTest::newRow(ggmlTypeName(t)) << t;
    }
    void dequantizationIsBitExactAgainstGgmlReferenceLoops()
    {
        // Random bytes exercise every bit of every field; only the f16 scales are kept finite.
        QFETCH(GgmlType, type);
        const size_t n = 16 * 256;
        std::vector<uint8_t> bytes(ggmlRowBytes(type, n));
        std::mt19937 rng(42);
        for (uint8_t& b : bytes)
            b = uint8_t(rng());
        const size_t blockBytes = ggmlRowBytes(type, ggmlBlockSize(type));
        std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
        for (size_t off = 0; off < bytes.size(); off += blockBytes)
            for (size_t h : halfOffsets(type)) {
                const uint16_t v = f32ToF16(scale(rng));
                std::memcpy(bytes.data() + off + h, &v, 2);
            }
        const auto got = dequantized(type, bytes, n);
        const auto ref = refDequantize(type, bytes.data(), n);
        QCOMPARE(ref.size(), n);
        for (size_t i = 0; i < n; ++i)
            QVERIFY2(floatBits(got[i]) == floatBits(ref[i]),
                qPrintable(QStringLiteral("element %1: got %2, ggml %3").arg(i).arg(got[i]).arg(ref[i])));
    }

    // ---- quantisation

    void quantizationErrorWithinFormatBound_data()
    {
        // Bounds: the relative RMSE measured on this N(0,1) data (printed by the test: Q8_0 0.0053,
        // Q6_K 0.0177, Q5_K 0.0360, Q5_0 0.0423, Q4_K 0.0711, Q4_0 0.0856, in line with step/sqrt(12)
        // for each format's step) plus about 25%. Elements decoded from the wrong slots give ~140%.
        QTest::addColumn<GgmlType>("type");
        QTest::addColumn<double>("bound");
        QTest::newRow("Q8_0") << GgmlType::Q8_0 << 0.0065;
        QTest::newRow("Q6_K") << GgmlType::Q6_K << 0.0220;
        QTest::newRow("Q5_K") << GgmlType::Q5_K << 0.0450;
        QTest::newRow("Q5_0") << GgmlType::Q5_0 << 0.0530;
        QTest::newRow("Q4_K") << GgmlType::Q4_K << 0.0890;
        QTest::newRow("Q4_0") << GgmlType::Q4_0 << 0.1070;
    }
    void quantizationErrorWithinFormatBound()
    {
        QFETCH(GgmlType, type);
        QFETCH(double, bound);
        const size_t n = 64 * 256;
        const auto x = gaussian(n, 7);
        const auto bytes = quantized(type, x);
        QCOMPARE(bytes.size(), size_t(ggmlRowBytes(type, n)));
        const auto y = dequantized(type, bytes, n);
        const double rmse = relativeRmse(x, y);
        qInfo("%s: relative RMSE %.5f (bound %.4f)", ggmlTypeName(type), rmse, bound);
        QVERIFY2(rmse < bound, qPrintable(QStringLiteral("relative RMSE %1 >= %2").arg(rmse).arg(bound)));
        // The bound must be able to fail: the same values read with the two halves of every
        // 32-element group swapped (a swapped-nibble bug in Q4_0/Q5_0/Q4_K) are far outside it.
        std::vector<float> swapped(y);
        for (size_t g = 0; g < n; g += 32)
            std::swap_ranges(swapped.begin() + long(g), swapped.begin() + long(g + 16), swapped.begin() + long(g + 16));
        QVERIFY(relativeRmse(x, swapped) > 10 * bound);
        // Scaling the data scales the quantised values: the scale lives in the block, not the quants.
        std::vector<float> x2(x);
        for (float& v : x2)
            v *= 1e-3f;
        QVERIFY(relativeRmse(x2, dequantized(type, quantized(type, x2), n)) < bound);
    }

    void quantizationOfSpecialRowsIsExact_data()
    {
        QTest::addColumn<GgmlType>("type");
        for (GgmlType t : kTypes)
            QTest::newRow(ggmlTypeName(t)) << t;
    }
    void quantizationOfSpecialRowsIsExact()
    {
        // Zeros stay zeros (no NaN from a zero scale), and a constant row comes back close.
        QFETCH(GgmlType, type);
        const std::vector<float> zeros(512, 0.0f);
        for (float v : dequantized(type, quantized(type, zeros), zeros.size()))
            QCOMPARE(v, 0.0f);
        const std::vector<float> constant(512, 0.75f);
        for (float v : dequantized(type, quantized(type, constant), constant.size()))
            QVERIFY2(std::fabs(v - 0.75f) < 0.02f, qPrintable(QString::number(v)));
    }

    void quantizeRowRejectsPartialBlocksAndUnknownTargets()
    {
        std::vector<float> x(48, 1.0f);
        std::vector<uint8_t> out(1024);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, quantizeRow(GgmlType::Q4_0, x.data(), out.data(), 48));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, quantizeRow(GgmlType::Q4_K, x.data(), out.data(), 32));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, quantizeRow(GgmlType::Q4_1, x.data(), out.data(), 32));
    }

    // ---- dot products

    void dotMatchesDotOfDequantizedRow_data()
    {
        QTest::addColumn<GgmlType>("type");
        QTest::addColumn<int>("n");
        for (GgmlType t : kTypes) {
            const int qk = int(ggmlBlockSize(t));
            for (int blocks : { 1, 3, 8, 17, 64 })
                QTest::addRow("%s/%d", ggmlTypeName(t), blocks * qk) << t << blocks * qk;
        }
    }
    void dotMatchesDotOfDequantizedRow()
    {
        QFETCH(GgmlType, type);
        QFETCH(int, n);
        // Data with an offset so K-quant mins are non-zero and the min term of the dot matters.
        auto w = gaussian(size_t(n), uint32_t(n), 0.5f);
        for (float& v : w)
            v += 0.3f;
        const auto x = gaussian(size_t(n), uint32_t(n) + 1);
        const auto bytes = quantized(type, w);
        const auto wq = dequantized(type, bytes, size_t(n));
        double ref = 0, magnitude = 0;
        for (int i = 0; i < n; ++i) {
            ref += double(wq[size_t(i)]) * x[size_t(i)];
            magnitude += std::fabs(double(wq[size_t(i)]) * x[size_t(i)]);
        }
        const float got = typeKernels(type).dot(bytes.data(), x.data(), size_t(n));
        QVERIFY2(std::fabs(got - ref) <= 1e-5 * magnitude,
            qPrintable(QStringLiteral("dot %1, reference %2, |terms| %3").arg(got).arg(ref).arg(magnitude)));
        // A pure function: the same inputs give the same bits.
        QCOMPARE(floatBits(typeKernels(type).dot(bytes.data(), x.data(), size_t(n))), floatBits(got));
    }

    // The integer dots of decode: against the exact dot of the dequantised row with the dequantised
    // 8-bit input, the SIMD and scalar versions agree to float rounding (so the int32 sums, nibble
    // order, offsets, mins and scales are right); against the float dot they differ by no more than
    // the input's rounding allows (half a step d_x per element).
    // Prefill quantises a step's tokens in parallel (resize, then quantizeRange per run of tokens, in whatever order
    // the threads take them): the result is quantize's, bit for bit, for any split, odd token counts included.
    void quantizeInRangesEqualsQuantize()
    {
        std::mt19937 rng(5);
        for (size_t width : { size_t(32), size_t(96), size_t(288) })
            for (size_t tokens : { size_t(1), size_t(3), size_t(17), size_t(33) }) {
                auto x = gaussian(width * tokens, uint32_t(width + tokens), 2.0f);
                x[width / 2] = 0.0f;
                std::fill(x.begin(), x.begin() + 32, 0.0f); // an all-zero block: d = 0
                x[x.size() - 1] = 1e30f; // one huge value: the rest of its block rounds to 0
                ActivationQ8 whole;
                whole.quantize(x.data(), x.size());
                for (int split = 0; split < 4; ++split) {
                    // Random runs of whole tokens, filled back to front into a buffer of stale values.
                    std::vector<size_t> cuts { 0, tokens };
                    for (int c = 0; c < split; ++c)
                        cuts.push_back(rng() % (tokens + 1));
                    std::sort(cuts.begin(), cuts.end());
                    ActivationQ8 parts;
                    parts.quantize(gaussian(width * tokens, 77).data(), width * tokens);
                    parts.resize(width * tokens);
                    for (size_t c = cuts.size() - 1; c > 0; --c)
                        parts.quantizeRange(x.data(), cuts[c - 1] * width, cuts[c] * width);
                    const QString what
                        = QStringLiteral("width %1, %2 tokens, %3 cuts").arg(width).arg(tokens).arg(split);
                    QCOMPARE(parts.n, whole.n);
                    QVERIFY2(parts.q == whole.q, qPrintable(what));
                    QVERIFY2(std::memcmp(parts.d.data(), whole.d.data(), whole.d.size() * sizeof(float)) == 0
                            && parts.d.size() == whole.d.size(),
                        qPrintable(what));
                    QVERIFY2(std::memcmp(parts.dsum.data(), whole.dsum.data(), whole.dsum.size() * sizeof(float)) == 0
                            && parts.dsum.size() == whole.dsum.size(),
                        qPrintable(what));
                    QVERIFY2(parts.qsum16 == whole.qsum16, qPrintable(what));
                }
            }
        // Ranges that are not whole blocks inside the sized buffers are refused, not written past.
        ActivationQ8 xq;
        xq.resize(64);
        const std::vector<float> x(128, 1.0f);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, xq.quantizeRange(x.data(), 0, 96));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, xq.quantizeRange(x.data(), 16, 48));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, xq.resize(40));
    }

    void integerDotMatchesExactDotOfQuantizedInput_data() { dotMatchesDotOfDequantizedRow_data(); }
    void integerDotMatchesExactDotOfQuantizedInput()
    {
        QFETCH(GgmlType, type);
        QFETCH(int, n);
        auto w = gaussian(size_t(n), uint32_t(n) + 7, 0.5f);
        for (float& v : w)
            v += 0.3f;
        auto x = gaussian(size_t(n), uint32_t(n) + 8);
        x[0] = 0.0f; // a zero and an all-zero block: d = 0 must not divide by zero
        std::fill(x.begin() + std::min<ptrdiff_t>(32, n - 32), x.begin() + std::min<ptrdiff_t>(64, n), 0.0f);
        const auto bytes = quantized(type, w);
        const auto wq = dequantized(type, bytes, size_t(n));
        ActivationQ8 xq;
        xq.quantize(x.data(), size_t(n));
        for (int blk = 0; blk < n / 32; ++blk) { // the block sums the offsets and mins rely on
            int32_t s0 = 0, s1 = 0;
            for (int j = 0; j < 16; ++j) {
                s0 += xq.q[size_t(32 * blk + j)];
                s1 += xq.q[size_t(32 * blk + 16 + j)];
            }
            QCOMPARE(xq.qsum16[size_t(2 * blk)], s0);
            QCOMPARE(xq.qsum16[size_t(2 * blk + 1)], s1);
            QCOMPARE(xq.dsum[size_t(blk)], xq.d[size_t(blk)] * float(s0 + s1));
        }
        for (int8_t v : xq.q)
            QVERIFY(v >= -127 && v <= 127);
        double exact = 0, magnitude = 0, roundingBound = 0;
        for (int i = 0; i < n; ++i) {
            const double xi = double(xq.d[size_t(i / 32)]) * xq.q[size_t(i)];
            QVERIFY(std::fabs(xi - x[size_t(i)]) <= 0.5 * xq.d[size_t(i / 32)] * (1 + 1e-6));
            exact += double(wq[size_t(i)]) * xi;
            magnitude += std::fabs(double(wq[size_t(i)]) * xi);
            roundingBound += std::fabs(double(wq[size_t(i)])) * 0.5 * xq.d[size_t(i / 32)];
        }
        const auto& k = typeKernels(type);
        QVERIFY(k.dotQ8 != nullptr);
        const float got = k.dotQ8(bytes.data(), xq, size_t(n));
        const float scalar = integerDotScalar(type)(bytes.data(), xq, size_t(n));
        QVERIFY2(std::fabs(got - exact) <= 2e-5 * magnitude + 1e-6,
            qPrintable(QStringLiteral("dotQ8 %1, exact %2, |terms| %3").arg(got).arg(exact).arg(magnitude)));
        QVERIFY2(std::fabs(scalar - exact) <= 2e-5 * magnitude + 1e-6,
            qPrintable(QStringLiteral("scalar %1, exact %2, |terms| %3").arg(scalar).arg(exact).arg(magnitude)));
        const float floatDot = k.dot(bytes.data(), x.data(), size_t(n));
        QVERIFY2(std::fabs(got - floatDot) <= roundingBound + 2e-5 * magnitude,
            qPrintable(QStringLiteral("dotQ8 %1, float dot %2, bound %3").arg(got).arg(floatDot).arg(roundingBound)));
        QCOMPARE(floatBits(k.dotQ8(bytes.data(), xq, size_t(n))), floatBits(got));
    }

    // Q8_0 weights of -128 (outside what the quantiser writes, but a file may hold them) against inputs
    // of +-127: the sign trick of the SIMD path must still give the exact products.
    void integerDotOfExtremeQ8_0Values()
    {
        const size_t n = 128;
        std::vector<uint8_t> bytes(ggmlRowBytes(GgmlType::Q8_0, n));
        auto* blocks = reinterpret_cast<BlockQ8_0*>(bytes.data());
        for (size_t b = 0; b < n / 32; ++b) {
            blocks[b].d = 0x3C00; // 1.0 in f16
            for (int j = 0; j < 32; ++j)
                blocks[b].qs[j] = int8_t(j % 3 == 0 ? -128 : (j % 3 == 1 ? 127 : -1));
        }
        std::vector<float> x(n);
        for (size_t i = 0; i < n; ++i)
            x[i] = (i % 2) ? 127.0f : -127.0f; // quantises to d = 1, q = +-127
        ActivationQ8 xq;
        xq.quantize(x.data(), n);
        double exact = 0;
        for (size_t i = 0; i < n; ++i)
            exact += double(blocks[i / 32].qs[i % 32]) * x[i];
        QCOMPARE(double(typeKernels(GgmlType::Q8_0).dotQ8(bytes.data(), xq, n)), exact);
        QCOMPARE(double(dotQ8_0Q8Scalar(bytes.data(), xq, n)), exact);

        // Non-finite activations (a broken model) stay inside int8, so no product can overflow.
        x[3] = std::numeric_limits<float>::quiet_NaN();
        x[40] = std::numeric_limits<float>::infinity();
        x[70] = -std::numeric_limits<float>::infinity();
        xq.quantize(x.data(), n);
        for (int8_t v : xq.q)
            QVERIFY(v >= -127 && v <= 127);
    }

    // ---- Q4_0 rows repacked for decode (q4groups.h)

    // The grouped layout, read back by its definition in q4groups.h (written out here, not by the engine's code):
    // every value equals the stored row's dequantised value.
    void q4GroupsFollowTheirDefinition()
    {
        for (size_t n : { size_t(128), size_t(384), size_t(2048) }) {
            const auto w = gaussian(n, uint32_t(n) + 3, 0.7f);
            const auto stored = quantized(GgmlType::Q4_0, w);
            const auto values = dequantized(GgmlType::Q4_0, stored, n);
            std::vector<uint8_t> grouped(stored.size());
            repackQ4_0Groups(stored.data(), grouped.data(), n);
            QCOMPARE(grouped.size(), n / 128 * 72);
            std::vector<float> readBack(n, std::nanf(""));
            for (size_t g = 0; g < n / 128; ++g) {
                const uint8_t* p = grouped.data() + 72 * g;
                auto scale = [&](size_t block) { return refHalf(p + 2 * (block - 4 * g)); };
                for (size_t i = 0; i < 64; ++i) {
                    const size_t lowBlock = 4 * g + i / 32, highBlock = 4 * g + 2 + i / 32;
                    readBack[32 * lowBlock + i % 32] = float((p[8 + i] & 0x0F) - 8) * scale(lowBlock);
                    readBack[32 * highBlock + i % 32] = float((p[8 + i] >> 4) - 8) * scale(highBlock);
                }
            }
            for (size_t i = 0; i < n; ++i)
                QVERIFY2(floatBits(readBack[i]) == floatBits(values[i]),
                    qPrintable(QStringLiteral("n %1, value %2: %3 vs stored %4")
                                   .arg(n)
                                   .arg(i)
                                   .arg(readBack[i])
                                   .arg(values[i])));
        }
        QVERIFY(q4GroupsFit(4096) && !q4GroupsFit(96) && !q4GroupsFit(0));
    }

    // The grouped dots (the level's vector kernel where it has one, and the scalar reference) against the exact
    // dot of the quantised values, as integerDotMatchesExactDotOfQuantizedInput holds the stored layout's dots; and
    // every quant at 15 against inputs of +127 (each product lane at its largest: the kernel sums two in int16).
    void q4GroupsDotMatchesExactDot()
    {
        for (size_t n : { size_t(128), size_t(512), size_t(2048), size_t(5632) }) {
            auto w = gaussian(n, uint32_t(n) + 11, 0.5f);
            for (float& v : w)
                v += 0.2f;
            auto x = gaussian(n, uint32_t(n) + 12);
            std::fill(x.begin(), x.begin() + 32, 0.0f); // an all-zero block: d = 0
            const auto stored = quantized(GgmlType::Q4_0, w);
            const auto wq = dequantized(GgmlType::Q4_0, stored, n);
            std::vector<uint8_t> grouped(stored.size());
            repackQ4_0Groups(stored.data(), grouped.data(), n);
            ActivationQ8 xq;
            xq.quantize(x.data(), n);
            double exact = 0, magnitude = 0;
            for (size_t i = 0; i < n; ++i) {
                const double xi = double(xq.d[i / 32]) * xq.q[i];
                exact += double(wq[i]) * xi;
                magnitude += std::fabs(double(wq[i]) * xi);
            }
            const auto& k = typeKernels(GgmlType::Q4_0);
            std::vector<std::pair<const char*, float>> dots { { "scalar",
                dotQ4_0GroupsQ8Scalar(grouped.data(), xq, n) } };
            if (k.dotQ8Groups)
                dots.emplace_back("vector", k.dotQ8Groups(grouped.data(), xq, n));
            for (const auto& [which, dot] : dots)
                QVERIFY2(std::fabs(dot - exact) <= 2e-5 * magnitude + 1e-6,
                    qPrintable(QStringLiteral("n %1, %2: %3, exact %4").arg(n).arg(which).arg(dot).arg(exact)));
        }
        const size_t n = 1024;
        std::vector<uint8_t> stored(ggmlRowBytes(GgmlType::Q4_0, n));
        auto* blocks = reinterpret_cast<BlockQ4_0*>(stored.data());
        for (size_t b = 0; b < n / 32; ++b) {
            blocks[b].d = (b % 3 == 1) ? kHalfHalf : kHalfOne;
            std::memset(blocks[b].qs, 0xFF, sizeof blocks[b].qs);
        }
        std::vector<uint8_t> grouped(stored.size());
        repackQ4_0Groups(stored.data(), grouped.data(), n);
        const std::vector<float> x(n, 127.0f); // d = 1, q = 127
        ActivationQ8 xq;
        xq.quantize(x.data(), n);
        double exact = 0;
        for (size_t b = 0; b < n / 32; ++b)
            exact += 32 * 7 * 127.0 * ((b % 3 == 1) ? 0.5 : 1.0);
        QCOMPARE(double(dotQ4_0GroupsQ8Scalar(grouped.data(), xq, n)), exact);
        if (typeKernels(GgmlType::Q4_0).dotQ8Groups)
            QCOMPARE(double(typeKernels(GgmlType::Q4_0).dotQ8Groups(grouped.data(), xq, n)), exact);
    }

    // A Q4_0 model gets the grouped rows where the level has the kernel (PLAYGROUND_Q4_GROUPS=0: never), and its
    // logits differ from the stored layout's by float rounding order only (the same integer products per block).
    void q4GroupsDecodeMatchesStoredLayout()
    {
        const std::string path = quantizedPath(GgmlType::Q4_0).toStdString();
        const QByteArray saved = qgetenv("PLAYGROUND_Q4_GROUPS");
        // A malformed switch is refused on every CPU, with or without the grouped kernel.
        qputenv("PLAYGROUND_Q4_GROUPS", "maybe");
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Model::load(path));
        qputenv("PLAYGROUND_Q4_GROUPS", "0");
        const auto stored = Model::load(path);
        qunsetenv("PLAYGROUND_Q4_GROUPS");
        const auto grouped = Model::load(path);
        if (!saved.isNull())
            qputenv("PLAYGROUND_Q4_GROUPS", saved);
        if (!typeKernels(GgmlType::Q4_0).dotQ8Groups)
            QSKIP("this CPU's kernel level has no grouped Q4_0 dot (AVX-512 only): models keep the stored layout");
        for (const WeightMatrix* w : stored->decodeMatrices())
            QVERIFY(w->decodeRows == nullptr);
        int repacked = 0;
        for (const WeightMatrix* w : grouped->decodeMatrices()) {
            QCOMPARE(w->decodeRows != nullptr, w->type == GgmlType::Q4_0 && q4GroupsFit(w->cols));
            repacked += w->decodeRows != nullptr;
        }
        QVERIFY(repacked > 0);
        const int vocab = stored->config().vocab;
        const auto a = runLogits(stored, { 1, Partitioner::Auto, 1 });
        const auto b = runLogits(grouped, { 2, Partitioner::Auto, 1 });
        QCOMPARE(a.size(), b.size());
        double worst = 0;
        for (size_t p = 0; p < a.size() / size_t(vocab); ++p) {
            const float* la = a.data() + p * size_t(vocab);
            const float* lb = b.data() + p * size_t(vocab);
            const auto [mn, mx] = std::minmax_element(la, la + vocab);
            for (int i = 0; i < vocab; ++i)
                worst = std::max(worst, std::fabs(double(la[i]) - lb[i]) / (*mx - *mn));
        }
        qInfo("grouped vs stored Q4_0 decode: max |dlogit| / spread %.2e over %d repacked matrices", worst, repacked);
        QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
    }

    // ---- whole models

    void quantizedModelLogitsCloseToF32_data()
    {
        // Measured on the q256 synthetic model (uniform weights, 16-token prefill + 4 decode steps),
        // "error" being max |dlogit| over the spread (max - min) of the F32 logits at that position
        // (prefill by the integer kernels, input quantised to 8 bits as in decode):
        //   Q8_0 0.018 / corr 0.99973 / top-1 1.00     Q6_K 0.044 / 0.9984 / 0.95
        //   Q5_K 0.080 / 0.9934 / 0.95                 Q5_0 0.091 / 0.9913 / 0.75
        //   Q4_K 0.176 / 0.9777 / 0.65                 Q4_0 0.224 / 0.9658 / 0.65
        // The logit error tracks the weights' relative RMSE (about 2.5x it through two layers), so the
        // bounds are ~1.7x the measured error, and correlation / top-1 bounds leave similar room. Random
        // synthetic logits have many near-ties, which is why top-1 agreement is modest for 4-bit types.
        QTest::addColumn<GgmlType>("type");
        QTest::addColumn<double>("maxError");
        QTest::addColumn<double>("minCorrelation");
        QTest::addColumn<double>("minTop1");
        QTest::newRow("Q8_0") << GgmlType::Q8_0 << 0.025 << 0.9995 << 0.9;
        QTest::newRow("Q6_K") << GgmlType::Q6_K << 0.07 << 0.996 << 0.8;
        QTest::newRow("Q5_K") << GgmlType::Q5_K << 0.14 << 0.985 << 0.75;
        QTest::newRow("Q5_0") << GgmlType::Q5_0 << 0.16 << 0.98 << 0.6;
        QTest::newRow("Q4_K") << GgmlType::Q4_K << 0.30 << 0.95 << 0.45;
        QTest::newRow("Q4_0") << GgmlType::Q4_0 << 0.38 << 0.93 << 0.45;
    }
    void quantizedModelLogitsCloseToF32()
    {
        QFETCH(GgmlType, type);
        QFETCH(double, maxError);
        QFETCH(double, minCorrelation);
        QFETCH(double, minTop1);
        const auto f32 = Model::load(m_f32Path.toStdString());
        const auto q = Model::load(quantizedPath(type).toStdString());
        const int vocab = f32->config().vocab;
        const auto a = runLogits(f32, { 2, Partitioner::Auto, 1 });
        const auto b = runLogits(q, { 2, Partitioner::Auto, 1 });
        QCOMPARE(a.size(), b.size());
        const size_t positions = a.size() / size_t(vocab);
        double worst = 0, sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
        int agree = 0;
        for (size_t p = 0; p < positions; ++p) {
            const float* la = a.data() + p * size_t(vocab);
            const float* lb = b.data() + p * size_t(vocab);
            const auto [mn, mx] = std::minmax_element(la, la + vocab);
            double diff = 0;
            for (int i = 0; i < vocab; ++i) {
                diff = std::max(diff, std::fabs(double(la[i]) - lb[i]));
                sa += la[i];
                sb += lb[i];
                sab += double(la[i]) * lb[i];
                saa += double(la[i]) * la[i];
                sbb += double(lb[i]) * lb[i];
            }
            worst = std::max(worst, diff / (*mx - *mn));
            agree += std::max_element(la, la + vocab) - la == std::max_element(lb, lb + vocab) - lb;
        }
        const double N = double(a.size());
        const double corr = (sab - sa * sb / N) / std::sqrt((saa - sa * sa / N) * (sbb - sb * sb / N));
        const double top1 = double(agree) / double(positions);
        qInfo("%s: max |dlogit|/spread %.4f, correlation %.6f, top-1 agreement %.2f", ggmlTypeName(type), worst, corr,
            top1);
        QVERIFY(worst > 0); // the quantised model really is a different model
        QVERIFY2(worst < maxError, qPrintable(QString::number(worst)));
        QVERIFY2(corr > minCorrelation, qPrintable(QString::number(corr, 'f', 6)));
        QVERIFY2(top1 >= minTop1, qPrintable(QString::number(top1)));
    }

    void quantizedModelIdenticalAcrossThreadCountsAndPartitioners_data()
    {
        QTest::addColumn<GgmlType>("type");
        for (GgmlType t : kTypes)
            QTest::newRow(ggmlTypeName(t)) << t;
    }
    void quantizedModelIdenticalAcrossThreadCountsAndPartitioners()
    {
        QFETCH(GgmlType, type);
        const auto model = Model::load(quantizedPath(type).toStdString());
        const auto baseline = runLogits(model, { 1, Partitioner::Auto, 1 });
        const GenerationRequest req = greedyRequest("The quick brown fox", 24);
        std::vector<int32_t> tokens;
        for (int threads : { 1, 2, 3 })
            for (Partitioner p :
                { Partitioner::Auto, Partitioner::Simple, Partitioner::Static, Partitioner::Affinity }) {
                const QString where = QStringLiteral("%1 threads, %2").arg(threads).arg(partitionerName(p));
                const auto logits = runLogits(model, { threads, p, 1 });
                QVERIFY2(std::memcmp(logits.data(), baseline.data(), logits.size() * sizeof(float)) == 0,
                    qPrintable(where + QStringLiteral(": logits differ")));
                Scheduler scheduler({ threads, p, 1 });
                const auto r = generate(model, scheduler, req, 128);
                QCOMPARE(int(r.tokenIds.size()), 24);
                if (tokens.empty())
                    tokens = r.tokenIds;
                QVERIFY2(r.tokenIds == tokens, qPrintable(where + QStringLiteral(": tokens differ")));
            }
    }

    void quantizedFileHasExpectedTypesSizesAndMetadata_data()
    {
        QTest::addColumn<GgmlType>("type");
        QTest::addColumn<uint>("fileType");
        QTest::newRow("Q8_0") << GgmlType::Q8_0 << 7u;
        QTest::newRow("Q4_0") << GgmlType::Q4_0 << 2u;
        QTest::newRow("Q5_0") << GgmlType::Q5_0 << 8u;
        QTest::newRow("Q4_K") << GgmlType::Q4_K << 15u;
        QTest::newRow("Q5_K") << GgmlType::Q5_K << 17u;
        QTest::newRow("Q6_K") << GgmlType::Q6_K << 18u;
    }
    void quantizedFileHasExpectedTypesSizesAndMetadata()
    {
        QFETCH(GgmlType, type);
        QFETCH(uint, fileType);
        const std::string outPath = quantizedPath(type).toStdString();
        const QuantizeReport& report = m_reports.at(type);
        const GgufFile in = GgufFile::open(m_f32Path.toStdString());
        const GgufFile out = GgufFile::open(outPath);

        // Metadata: every key of the input, in the input's order, with the same value except the file type.
        std::vector<std::string> outKeys;
        for (const auto& [key, value] : out.metadata())
            if (in.has(key))
                outKeys.push_back(key);
        QCOMPARE(outKeys.size(), in.metadata().size());
        for (size_t i = 0; i < outKeys.size(); ++i) {
            const auto& [key, value] = in.metadata()[i];
            QCOMPARE(outKeys[i], key);
            if (key != "general.file_type")
                QCOMPARE(out.find(key)->toString(1 << 20), value.toString(1 << 20));
        }
        QCOMPARE(uint(out.getUInt("general.file_type")), fileType);
        QCOMPARE(report.fileType, uint32_t(fileType));
        QCOMPARE(out.getUInt("general.quantization_version"), uint64_t(2));

        // Tensor types as llama-quantize picks them, and sizes that follow from the types.
        QCOMPARE(out.tensors().size(), in.tensors().size());
        QCOMPARE(report.tensors.size(), in.tensors().size());
        uint64_t expectedBytes = 0;
        for (size_t i = 0; i < in.tensors().size(); ++i) {
            const GgufTensorInfo& a = in.tensors()[i];
            const GgufTensorInfo& b = out.tensors()[i];
            QCOMPARE(b.name, a.name);
            QCOMPARE(b.dims, a.dims);
            GgmlType want = type;
            if (a.dims.size() == 1)
                want = GgmlType::F32;
            else if (a.name == "output.weight" && type != GgmlType::Q8_0)
                want = GgmlType::Q6_K;
            else if ((type == GgmlType::Q4_K || type == GgmlType::Q5_K)
                && (a.name == "blk.1.attn_v.weight" || a.name == "blk.1.ffn_down.weight"))
                want = GgmlType::Q6_K; // *_K_M: use_more_bits(1, 2) is true for the last layer
            QVERIFY2(b.type == want,
                qPrintable(QStringLiteral("%1 is %2, expected %3")
                               .arg(QString::fromStdString(a.name), QString::fromLatin1(ggmlTypeName(b.type)),
                                   QString::fromLatin1(ggmlTypeName(want)))));
            QCOMPARE(report.tensors[i].to, want);
            QCOMPARE(report.tensors[i].converted(), a.dims.size() == 2);
            QCOMPARE(b.nbytes, ggmlRowBytes(want, a.dims[0]) * (a.elementCount() / a.dims[0]));
            QCOMPARE(report.tensors[i].bytesAfter, b.nbytes);
            expectedBytes += b.nbytes;
        }
        QCOMPARE(report.tensorBytesAfter, expectedBytes);
        QCOMPARE(report.fileBytesAfter, out.fileSize());
        QCOMPARE(report.fileBytesBefore, in.fileSize());
        // Bytes per weight relative to F32 (4 bytes): Q8_0 8.5 bits, Q6_K 6.56, Q5_K 5.5, Q5_0 5.5,
        // Q4_K 4.5, Q4_0 4.5 (plus the Q6_K output and mix tensors, metadata and F32 norms).
        const double ratio = double(report.tensorBytesAfter) / double(report.tensorBytesBefore);
        const std::map<GgmlType, double> maxRatio
            = { { GgmlType::Q8_0, 8.5 / 32 + 0.001 }, { GgmlType::Q6_K, 6.5625 / 32 + 0.005 }, { GgmlType::Q5_K, 0.20 },
                  { GgmlType::Q5_0, 0.20 }, { GgmlType::Q4_K, 0.18 }, { GgmlType::Q4_0, 0.17 } };
        qInfo("%s: tensors %.3f of F32, file %llu -> %llu bytes", ggmlTypeName(type), ratio,
            (unsigned long long)report.fileBytesBefore, (unsigned long long)report.fileBytesAfter);
        QVERIFY2(ratio < maxRatio.at(type), qPrintable(QString::number(ratio)));
        QVERIFY(report.fileBytesAfter < report.fileBytesBefore);
    }

    void quantizingTwiceWritesIdenticalBytes()
    {
        // The quantiser is deterministic (rows are independent, whatever TBB does with them).
        const QString again = m_dir.filePath(QStringLiteral("again.gguf"));
        quantizeModel(m_f32Path.toStdString(), again.toStdString(), GgmlType::Q4_K);
        QFile a(quantizedPath(GgmlType::Q4_K)), b(again);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QVERIFY(a.readAll() == b.readAll());
    }

    void rowsNotWholeSuperBlocksFallBackAsLlamaCppDoes()
    {
        // tiny has rows of 128 and 384: no 256-element super-blocks. Q4_K falls back to Q5_0 and Q6_K to
        // Q8_0 (so output.weight, Q6_K in a Q4_K file, becomes Q8_0), and the model still loads and runs.
        const QString tinyPath = m_dir.filePath(QStringLiteral("tiny.gguf"));
        writeFile(tinyPath, syntheticModelGguf(syntheticShape("tiny")));
        for (auto [target, fallback] :
            { std::pair { GgmlType::Q4_K, GgmlType::Q5_0 }, std::pair { GgmlType::Q6_K, GgmlType::Q8_0 } }) {
            const QString out
                = m_dir.filePath(QStringLiteral("tiny-%1.gguf").arg(QString::fromLatin1(ggmlTypeName(target))));
            const auto report = quantizeModel(tinyPath.toStdString(), out.toStdString(), target);
            int matrices = 0;
            for (const auto& t : report.tensors) {
                if (t.dims.size() != 2)
                    continue;
                ++matrices;
                // *_K_M: use_more_bits(i, 4) picks layers 2 ((i - 0) % 3 == 2) and 3 (i >= 7 * 4 / 8).
                const bool wantedQ6 = t.name == "output.weight" || t.name == "blk.2.ffn_down.weight"
                    || t.name == "blk.2.attn_v.weight" || t.name == "blk.3.ffn_down.weight"
                    || t.name == "blk.3.attn_v.weight";
                QCOMPARE(t.to, target == GgmlType::Q4_K && !wantedQ6 ? fallback : GgmlType::Q8_0);
                QVERIFY2(t.note.find("not a multiple of 256") != std::string::npos, t.note.c_str());
            }
            QVERIFY(matrices > 0);
            const auto model = Model::load(out.toStdString());
            Scheduler scheduler({ 2, Partitioner::Auto, 1 });
            const GenerationRequest req = greedyRequest("hello", 4);
            QCOMPARE(int(generate(model, scheduler, req, 64).tokenIds.size()), 4);
        }
    }

    // ---- failures

    void unreadableInputThrowsNamingThePath_data()
    {
        QTest::addColumn<QString>("content"); // empty: the file does not exist
        QTest::newRow("missing") << QString();
        QTest::newRow("not gguf") << QStringLiteral("this is a text file, not a model");
        QTest::newRow("truncated gguf") << QStringLiteral("GGUF\x03");
    }
    void unreadableInputThrowsNamingThePath()
    {
        QFETCH(QString, content);
        const QString path
            = m_dir.filePath(QStringLiteral("bad-%1.gguf").arg(QTest::currentDataTag()).replace(' ', '_'));
        if (!content.isEmpty()) {
            const QByteArray bytes = content.toLatin1();
            writeFile(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
        }
        const QString out = m_dir.filePath(QStringLiteral("never.gguf"));
        try {
            quantizeModel(path.toStdString(), out.toStdString(), GgmlType::Q8_0);
            QFAIL("no exception");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find(path.toStdString()) != std::string::npos, e.what());
        }
        QVERIFY(!QFile::exists(out));
    }

    void unwritableOutputAndBadTargetThrow()
    {
        const std::string missingDir = tempPath(m_dir, QStringLiteral("no/such/dir/out.gguf"));
        try {
            quantizeModel(m_f32Path.toStdString(), missingDir, GgmlType::Q8_0);
            QFAIL("no exception");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find(missingDir) != std::string::npos, e.what());
        }
        for (GgmlType bad : { GgmlType::Q8_K, GgmlType::Q4_1, GgmlType::Q2_K })
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                quantizeModel(m_f32Path.toStdString(), tempPath(m_dir, QStringLiteral("x.gguf")), bad));
    }
};

QTEST_APPLESS_MAIN(TestQuant)
#include "test_quant.moc"
