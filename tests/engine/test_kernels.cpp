// F16/BF16 conversions and the per-type dot/dequantise kernels against plain scalar references.
#include "engine/format/ggmltype.h"
#include "engine/kernels/activationq8.h"
#include "engine/kernels/blockformats.h"
#include "engine/kernels/cpudispatch.h"
#include "engine/kernels/modelquantizer.h"
#include "engine/kernels/typekernels.h"

#include <QtTest>

#include <algorithm>

#include <limits>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

using namespace engine;

namespace {

// IEEE binary16 decoded from its fields with ldexp: independent of the engine's bit tricks.
double referenceHalf(uint16_t h)
{
    const int sign = (h >> 15) & 1;
    const int exp = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    double v;
    if (exp == 0)
        v = std::ldexp(double(mant), -24);
    else if (exp == 31)
        v = mant ? std::nan("") : INFINITY;
    else
        v = std::ldexp(double(1024 + mant), exp - 25);
    return sign ? -v : v;
}

double referenceBf16(uint16_t h)
{
    uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// The levels this CPU runs, lowest first (scalar always).
std::vector<const CpuKernels*> runnableLevels()
{
    std::vector<const CpuKernels*> levels;
    for (int i = 0; i < kCpuIsaCount; ++i)
        if (const CpuKernels* k = cpuKernelsFor(CpuIsa(i)))
            levels.push_back(k);
    return levels;
}

std::vector<float> randomFloats(size_t n, uint32_t seed, float scale = 1.0f)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (auto& x : v)
        x = dist(rng);
    return v;
}

} // namespace

class TestKernels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void f16DecodesEveryBitPatternExactly()
    {
        for (uint32_t h = 0; h < 65536; ++h) {
            const double want = referenceHalf(uint16_t(h));
            const float got = f16ToF32(uint16_t(h));
            if (std::isnan(want))
                QVERIFY2(std::isnan(got), qPrintable(QString::number(h, 16)));
            else
                QVERIFY2(
                    double(got) == want && std::signbit(got) == std::signbit(want), qPrintable(QString::number(h, 16)));
        }
    }

    void f16EncodeRoundTripsEveryHalf()
    {
        for (uint32_t h = 0; h < 65536; ++h) {
            if (std::isnan(referenceHalf(uint16_t(h))))
                continue;
            QCOMPARE(f32ToF16(f16ToF32(uint16_t(h))), uint16_t(h));
        }
    }

    void f16EncodeRoundsToNearestEven_data()
    {
        QTest::addColumn<float>("value");
        QTest::addColumn<int>("expected");
        QTest::newRow("one") << 1.0f << 0x3c00;
        QTest::newRow("tie down to even") << float(1.0 + std::ldexp(1.0, -11)) << 0x3c00;
        QTest::newRow("tie up to even") << float(1.0 + 3 * std::ldexp(1.0, -11)) << 0x3c02;
        QTest::newRow("above tie") << float(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -20)) << 0x3c01;
        QTest::newRow("max half") << 65504.0f << 0x7bff;
        QTest::newRow("overflow to inf") << 65520.0f << 0x7c00;
        QTest::newRow("smallest subnormal") << float(std::ldexp(1.0, -24)) << 0x0001;
        QTest::newRow("half of smallest subnormal rounds to zero") << float(std::ldexp(1.0, -25)) << 0x0000;
        QTest::newRow("negative") << -2.5f << 0xc100;
        QTest::newRow("infinity") << float(INFINITY) << 0x7c00;
    }
    void f16EncodeRoundsToNearestEven()
    {
        QFETCH(float, value);
        QFETCH(int, expected);
        QCOMPARE(int(f32ToF16(value)), expected);
    }

    void bf16RoundsToNearestEvenAndKeepsNaN()
    {
        QCOMPARE(f32ToBf16(1.0f), uint16_t(0x3f80));
        float f;
        uint32_t bits = 0x3f808000u; // exactly half-way between 0x3f80 and 0x3f81: to even
        std::memcpy(&f, &bits, 4);
        QCOMPARE(f32ToBf16(f), uint16_t(0x3f80));
        bits = 0x3f818000u; // half-way between 0x3f81 and 0x3f82: to even (0x3f82)
        std::memcpy(&f, &bits, 4);
        QCOMPARE(f32ToBf16(f), uint16_t(0x3f82));
        QVERIFY(std::isnan(bf16ToF32(f32ToBf16(std::nanf("")))));
        for (uint32_t h = 0; h < 65536; h += 7)
            if (!std::isnan(referenceBf16(uint16_t(h))))
                QCOMPARE(double(bf16ToF32(uint16_t(h))), referenceBf16(uint16_t(h)));
    }

    void dotProductsMatchScalarReference_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("n");
        for (GgmlType t : { GgmlType::F32, GgmlType::F16, GgmlType::BF16 })
            for (int n : { 1, 7, 16, 31, 64, 65, 100, 288, 768, 2051 })
                QTest::addRow("%s n=%d", ggmlTypeName(t), n) << int(t) << n;
    }
    void dotProductsMatchScalarReference()
    {
        QFETCH(int, type);
        QFETCH(int, n);
        const GgmlType t = GgmlType(type);
        std::mt19937 rng(uint32_t(n * 31 + type));
        std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
        std::vector<float> x(static_cast<size_t>(n)), w(static_cast<size_t>(n));
        for (auto& v : x)
            v = dist(rng);
        for (auto& v : w)
            v = dist(rng);
        // Store w in the type; the reference uses the stored (rounded) values.
        std::vector<uint8_t> bytes(ggmlRowBytes(t, uint64_t(n)));
        std::vector<double> stored(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) {
            if (t == GgmlType::F32) {
                std::memcpy(bytes.data() + 4 * i, &w[size_t(i)], 4);
                stored[size_t(i)] = w[size_t(i)];
            } else {
                const uint16_t h = t == GgmlType::F16 ? f32ToF16(w[size_t(i)]) : f32ToBf16(w[size_t(i)]);
                std::memcpy(bytes.data() + 2 * i, &h, 2);
                stored[size_t(i)] = t == GgmlType::F16 ? referenceHalf(h) : referenceBf16(h);
            }
        }
        double want = 0.0, magnitude = 0.0;
        for (int i = 0; i < n; ++i) {
            want += stored[size_t(i)] * x[size_t(i)];
            magnitude += std::abs(stored[size_t(i)] * x[size_t(i)]);
        }
        const TypeKernels& k = typeKernels(t);
        const double got = k.dot(bytes.data(), x.data(), size_t(n));
        QVERIFY2(std::abs(got - want) <= 1e-6 * magnitude + 1e-6,
            qPrintable(QStringLiteral("got %1 want %2").arg(got).arg(want)));

        std::vector<float> row(static_cast<size_t>(n));
        k.dequantizeRow(bytes.data(), row.data(), size_t(n));
        for (int i = 0; i < n; ++i)
            QCOMPARE(double(row[size_t(i)]), stored[size_t(i)]);
    }

    // Which level runs: the one PLAYGROUND_ISA asked for, capped at what this CPU runs (said when capped).
    void activeLevelIsTheRequestCappedAtTheCpu()
    {
        const char* env = std::getenv("PLAYGROUND_ISA");
        const std::string requested = env ? env : "";
        CpuIsa expected = chooseCpuIsa(requested, bestCpuIsa());
        if (expected == CpuIsa::Amx && !cpuKernelsFor(CpuIsa::Amx))
            expected = CpuIsa::Avx512; // the CPU has AMX, Linux refused the tile state
        QCOMPARE(activeCpuIsa(), expected);
        QCOMPARE(cpuKernels().isa, activeCpuIsa());
        if (!requested.empty() && parseCpuIsa(requested) && *parseCpuIsa(requested) > bestCpuIsa())
            qInfo("PLAYGROUND_ISA=%s: this CPU runs at most %s, so that level is tested instead", requested.c_str(),
                cpuIsaName(bestCpuIsa()));
        else
            qInfo("kernels tested at level %s (best on this CPU: %s)", cpuIsaName(activeCpuIsa()),
                cpuIsaName(bestCpuIsa()));
    }

    void levelRequestsAreCappedAndValidated()
    {
        QCOMPARE(chooseCpuIsa("", CpuIsa::Avx512), CpuIsa::Avx512);
        QCOMPARE(chooseCpuIsa("", CpuIsa::Scalar), CpuIsa::Scalar);
        QCOMPARE(chooseCpuIsa("scalar", CpuIsa::Avx512), CpuIsa::Scalar);
        QCOMPARE(chooseCpuIsa("avx2", CpuIsa::Avx512), CpuIsa::Avx2);
        QCOMPARE(chooseCpuIsa("avx512", CpuIsa::Avx2), CpuIsa::Avx2);
        QCOMPARE(chooseCpuIsa("avx512", CpuIsa::Scalar), CpuIsa::Scalar);
        QCOMPARE(chooseCpuIsa("amx", CpuIsa::Avx512), CpuIsa::Avx512); // no AMX, or no permission: the VNNI level
        QCOMPARE(chooseCpuIsa("avx512", CpuIsa::Amx), CpuIsa::Avx512);
        QCOMPARE(chooseCpuIsa("", CpuIsa::Amx), CpuIsa::Avx512); // amx only when asked for
        QCOMPARE(chooseCpuIsa("amx", CpuIsa::Amx), CpuIsa::Amx);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, chooseCpuIsa("sse9", CpuIsa::Avx512));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, chooseCpuIsa("AVX2", CpuIsa::Avx512));
        for (int i = 0; i < kCpuIsaCount; ++i)
            QCOMPARE(parseCpuIsa(cpuIsaName(CpuIsa(i))), std::optional<CpuIsa>(CpuIsa(i)));
    }

    // The environment's on/off switches: "1", "0", unset or empty (the default), and the error names the variable.
    void switchesAreOneOrZero()
    {
        QCOMPARE(parseSwitch("X", "1"), std::optional<bool>(true));
        QCOMPARE(parseSwitch("X", "0"), std::optional<bool>(false));
        QCOMPARE(parseSwitch("X", ""), std::optional<bool>());
        for (const char* bad : { "on", "true", "2", "01", "1 ", " 0" }) {
            try {
                parseSwitch("PLAYGROUND_SOMETHING", bad);
                QFAIL(qPrintable(QStringLiteral("'%1' was accepted").arg(QLatin1String(bad))));
            } catch (const std::invalid_argument& e) {
                QVERIFY2(std::string(e.what()).starts_with(std::string("PLAYGROUND_SOMETHING=") + bad), e.what());
            }
        }
        const QByteArray saved = qgetenv("PLAYGROUND_TEST_SWITCH");
        qunsetenv("PLAYGROUND_TEST_SWITCH");
        QCOMPARE(envSwitch("PLAYGROUND_TEST_SWITCH"), std::optional<bool>());
        qputenv("PLAYGROUND_TEST_SWITCH", "0");
        QCOMPARE(envSwitch("PLAYGROUND_TEST_SWITCH"), std::optional<bool>(false));
        qputenv("PLAYGROUND_TEST_SWITCH", "yes");
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, envSwitch("PLAYGROUND_TEST_SWITCH"));
        if (saved.isNull())
            qunsetenv("PLAYGROUND_TEST_SWITCH");
        else
            qputenv("PLAYGROUND_TEST_SWITCH", saved);
    }

    // Decode's software prefetch: on unless the CPU is AMD's, the environment's 1 or 0 over that, anything else
    // refused; the kernels' flag is the process's choice.
    void decodePrefetchFollowsVendorAndRequest()
    {
        QCOMPARE(chooseDecodePrefetch("", CpuVendor::Intel), true);
        QCOMPARE(chooseDecodePrefetch("", CpuVendor::Other), true);
        QCOMPARE(chooseDecodePrefetch("", CpuVendor::Amd), false);
        QCOMPARE(chooseDecodePrefetch("1", CpuVendor::Amd), true);
        QCOMPARE(chooseDecodePrefetch("0", CpuVendor::Intel), false);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, chooseDecodePrefetch("yes", CpuVendor::Intel));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, chooseDecodePrefetch(" 1", CpuVendor::Amd));
        const char* env = std::getenv("PLAYGROUND_DECODE_PREFETCH");
        QCOMPARE(decodePrefetchActive(), chooseDecodePrefetch(env ? env : "", cpuVendor()));
        QCOMPARE(detail::gDecodePrefetch, decodePrefetchActive());
        qInfo("decode prefetch %s on this CPU", decodePrefetchActive() ? "on" : "off");
    }

    // With and without the prefetch, every level's row dots give the same bits (rows of 64 KiB, so the prefetches
    // run far ahead of the reads, past the row's end).
    void rowDotsAreTheSameWithAndWithoutPrefetch()
    {
        const size_t n = 16384;
        const std::vector<float> w = randomFloats(n, 21), x = randomFloats(n, 22, 2.0f);
        ActivationQ8 xq;
        xq.quantize(x.data(), n);
        const bool saved = detail::gDecodePrefetch;
        for (const CpuKernels* level : runnableLevels())
            for (GgmlType type :
                { GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K }) {
                std::vector<uint8_t> row(ggmlRowBytes(type, n));
                if (type == GgmlType::F32)
                    std::memcpy(row.data(), w.data(), n * 4);
                else if (type == GgmlType::F16)
                    for (size_t i = 0; i < n; ++i) {
                        const uint16_t h = f32ToF16(w[i]);
                        std::memcpy(row.data() + 2 * i, &h, 2);
                    }
                else
                    quantizeRow(type, w.data(), row.data(), n);
                const TypeKernels& k = *typeKernelsOf(*level, type);
                float dots[2], dotsQ8[2] = { 0, 0 };
                for (int on = 0; on < 2; ++on) {
                    detail::gDecodePrefetch = on == 1;
                    dots[on] = k.dot(row.data(), x.data(), n);
                    if (k.dotQ8)
                        dotsQ8[on] = k.dotQ8(row.data(), xq, n);
                }
                const QString where = QString("%1 %2").arg(cpuIsaName(level->isa), ggmlTypeName(type));
                QVERIFY2(std::memcmp(&dots[0], &dots[1], 4) == 0, qPrintable(where));
                QVERIFY2(std::memcmp(&dotsQ8[0], &dotsQ8[1], 4) == 0, qPrintable(where));
                QVERIFY2(dots[0] != 0.0f, qPrintable(where));
            }
        detail::gDecodePrefetch = saved;
    }

    // Each table is built from its own level's copy of the sources, and the CPU runs at least scalar.
    void everyRunnableLevelHasItsOwnTable()
    {
        QVERIFY(cpuKernelsFor(CpuIsa::Scalar) != nullptr);
        QVERIFY(int(bestCpuIsa()) >= 0 && int(bestCpuIsa()) < kCpuIsaCount);
        for (int i = 0; i < kCpuIsaCount; ++i) {
            const CpuKernels* k = cpuKernelsFor(CpuIsa(i));
            if (CpuIsa(i) != CpuIsa::Amx) // amx also needs Linux's leave, which bestCpuIsa() does not ask
                QCOMPARE(k != nullptr, i <= int(bestCpuIsa()));
            else if (k)
                QVERIFY(bestCpuIsa() == CpuIsa::Amx);
            if (k)
                QCOMPARE(k->isa, CpuIsa(i));
        }
        if (cpuKernelsFor(CpuIsa::Avx2))
            QVERIFY(cpuKernelsFor(CpuIsa::Avx2)->f32.dot != cpuKernelsFor(CpuIsa::Scalar)->f32.dot);
        // The amx level is the avx512 table with its own integer matrix kernels.
        if (const CpuKernels* amx = cpuKernelsFor(CpuIsa::Amx)) {
            const CpuKernels& avx512 = *cpuKernelsFor(CpuIsa::Avx512);
            QVERIFY(amx->f32.dot == avx512.f32.dot && amx->matmul == avx512.matmul);
            QVERIFY(amx->q4_0.int8Gemm != nullptr && amx->q4_0.int8Gemm != avx512.q4_0.int8Gemm);
        }
    }

    // The matrix products of prefill and attention at every level this CPU runs, against the definition in
    // double: odd sizes (vector bodies and tails), leading dimensions wider than the rows, a scale; query counts below
    // and from 16 on (where avx512 leaves Eigen for its own tiles), head sizes that are whole panels and not.
    void matmulsMatchDefinitionAtEveryLevel()
    {
        struct Shape {
            int64_t m, n, k, lda, ldb, ldc;
        };
        for (const Shape& s : { Shape { 7, 37, 70, 75, 73, 41 }, Shape { 16, 64, 70, 75, 73, 67 },
                 Shape { 40, 37, 130, 131, 133, 41 }, Shape { 23, 128, 33, 40, 35, 130 } }) {
            const auto [m, n, k, lda, ldb, ldc] = s;
            const std::vector<float> a = randomFloats(size_t(m * lda), 1), b = randomFloats(size_t(n * ldb), 2);
            const std::vector<float> bn = randomFloats(size_t(k * ldc), 3); // (k × n) with leading dimension ldc
            for (const CpuKernels* level : runnableLevels()) {
                const QString where = QString("%1, m %2 n %3 k %4").arg(cpuIsaName(level->isa)).arg(m).arg(n).arg(k);
                std::vector<float> c(size_t(m * ldc), 42.0f);
                level->matmulTransposed(a.data(), lda, b.data(), ldb, c.data(), ldc, m, n, k, 0.5f);
                std::vector<float> c2(size_t(m * ldc), 42.0f);
                level->matmul(a.data(), lda, bn.data(), ldc, c2.data(), ldc, m, n, k);
                for (int64_t i = 0; i < m; ++i) {
                    for (int64_t j = 0; j < n; ++j) {
                        double want = 0, want2 = 0, mag = 0;
                        for (int64_t p = 0; p < k; ++p) {
                            want += double(a[size_t(i * lda + p)]) * b[size_t(j * ldb + p)];
                            want2 += double(a[size_t(i * lda + p)]) * bn[size_t(p * ldc + j)];
                            mag += std::abs(double(a[size_t(i * lda + p)]));
                        }
                        QVERIFY2(std::abs(c[size_t(i * ldc + j)] - 0.5 * want) <= 1e-5 * mag,
                            qPrintable(where + QString(": c[%1][%2]").arg(i).arg(j)));
                        QVERIFY2(std::abs(c2[size_t(i * ldc + j)] - want2) <= 1e-5 * mag,
                            qPrintable(where + QString(": c2[%1][%2]").arg(i).arg(j)));
                    }
                    for (int64_t j = n; j < ldc; ++j) { // past the last column: untouched
                        QVERIFY2(c[size_t(i * ldc + j)] == 42.0f, qPrintable(where + " wrote past c's columns"));
                        QVERIFY2(c2[size_t(i * ldc + j)] == 42.0f, qPrintable(where + " wrote past c2's columns"));
                    }
                }
            }
        }
    }

    // Causal attention of two query heads sharing one key/value head at every level this CPU runs, against the
    // definition in double (scores, softmax and weighted sum in double): query counts around decode's limit of 16 and
    // the kernel's blocks and tiles, heads of whole panels and not (37), no cache and a cache of earlier tokens,
    // leading dimensions wider than the heads; nothing written outside each head's columns. At avx512 and up also the
    // promise the logits' bit-identity rests on: a query's output has the same bits whether the queries are given at
    // once, in two chunks (the second at a later position), or one head at a time.
    void attentionMatchesDefinitionAtEveryLevel()
    {
        constexpr int kHeads = 2;
        for (const int hd : { 32, 48, 64, 37 }) {
            for (const int pos0 : { 0, 21 }) {
                for (const int T : { 1, 7, 16, 23, 47, 48, 49, 130 }) {
                    const int len = pos0 + T;
                    const int64_t ldq = kHeads * hd + 3, ldo = kHeads * hd + 5;
                    const float scale = 1.0f / std::sqrt(float(hd));
                    // Exactly len rows each: a read past the cache is a sanitizer error.
                    const std::vector<float> q = randomFloats(size_t(T * ldq), uint32_t(7 + hd + T), 2.0f);
                    const std::vector<float> k = randomFloats(size_t(len * hd), uint32_t(8 + hd + len), 2.0f);
                    const std::vector<float> v = randomFloats(size_t(len * hd), uint32_t(9 + hd + len));
                    // The definition, per head and query: tolerance from the magnitudes of what is summed.
                    std::vector<double> want(size_t(T * kHeads * hd)), tolerance(size_t(T * kHeads * hd));
                    for (int h = 0; h < kHeads; ++h) {
                        for (int t = 0; t < T; ++t) {
                            const int seen = pos0 + t + 1;
                            std::vector<double> p(static_cast<size_t>(seen));
                            double maxScore = -1e300;
                            for (int j = 0; j < seen; ++j) {
                                double dot = 0;
                                for (int d = 0; d < hd; ++d)
                                    dot += double(q[size_t(t * ldq + h * hd + d)]) * k[size_t(j * hd + d)];
                                p[size_t(j)] = dot * scale;
                                maxScore = std::max(maxScore, p[size_t(j)]);
                            }
                            double sum = 0;
                            for (double& x : p)
                                sum += (x = std::exp(x - maxScore));
                            for (int d = 0; d < hd; ++d) {
                                double o = 0, mag = 0;
                                for (int j = 0; j < seen; ++j) {
                                    o += p[size_t(j)] / sum * v[size_t(j * hd + d)];
                                    mag += p[size_t(j)] / sum * std::abs(v[size_t(j * hd + d)]);
                                }
                                want[size_t((t * kHeads + h) * hd + d)] = o;
                                tolerance[size_t((t * kHeads + h) * hd + d)] = 1e-4 * mag + 1e-7;
                            }
                        }
                    }
                    for (const CpuKernels* level : runnableLevels()) {
                        const QString where = QString("%1: head dim %2, %3 earlier tokens, %4 queries")
                                                  .arg(cpuIsaName(level->isa))
                                                  .arg(hd)
                                                  .arg(pos0)
                                                  .arg(T);
                        std::vector<float> out(size_t(T * ldo), 42.0f);
                        level->attention(
                            q.data(), ldq, k.data(), v.data(), out.data(), ldo, kHeads, T, pos0, hd, scale);
                        for (int t = 0; t < T; ++t) {
                            for (int c = 0; c < ldo; ++c) {
                                const float got = out[size_t(t * ldo + c)];
                                if (c >= kHeads * hd) {
                                    if (got != 42.0f)
                                        QFAIL(qPrintable(where + " wrote past the heads"));
                                    continue;
                                }
                                const size_t i = size_t(t * kHeads * hd + c);
                                if (!(std::abs(got - want[i]) <= tolerance[i])) // the message only on failure
                                    QFAIL(qPrintable(where
                                        + QString(": query %1, column %2: %3, want %4")
                                              .arg(t)
                                              .arg(c)
                                              .arg(double(got))
                                              .arg(want[i])));
                            }
                        }
                        if (int(level->isa) < int(CpuIsa::Avx512) || T < 32 || hd % 16 != 0)
                            continue;
                        // Two chunks of at least 16 queries (the tiles' path), the second after the first's keys.
                        const int split = T / 2;
                        std::vector<float> chunked(size_t(T * ldo), 42.0f);
                        level->attention(
                            q.data(), ldq, k.data(), v.data(), chunked.data(), ldo, kHeads, split, pos0, hd, scale);
                        level->attention(q.data() + split * ldq, ldq, k.data(), v.data(), chunked.data() + split * ldo,
                            ldo, kHeads, T - split, pos0 + split, hd, scale);
                        std::vector<float> single(size_t(T * ldo), 42.0f);
                        for (int h = 0; h < kHeads; ++h)
                            level->attention(q.data() + h * hd, ldq, k.data(), v.data(), single.data() + h * hd, ldo, 1,
                                T, pos0, hd, scale);
                        QVERIFY2(std::memcmp(chunked.data(), out.data(), out.size() * sizeof(float)) == 0,
                            qPrintable(where + ": two chunks differ from one"));
                        QVERIFY2(std::memcmp(single.data(), out.data(), out.size() * sizeof(float)) == 0,
                            qPrintable(where + ": one head at a time differs"));
                    }
                }
            }
        }
    }

    // Prefill's product with a block of weight rows at every level this CPU runs, against the definition in double:
    // row counts around the kernel's panels of 16 and groups of 64, token counts around its tiles of 6, a long and an
    // odd row length; nothing written past the rows; and at avx512 and up each output independent of the block
    // (the same row alone gives the same bits).
    void matmulWeightsMatchesDefinitionAtEveryLevel()
    {
        const int64_t ldw = 771, ldx = 769;
        const std::vector<float> w = randomFloats(size_t(70 * ldw), 4), x = randomFloats(size_t(128 * ldx), 5);
        struct Shape {
            int64_t rows, T, k;
        };
        std::vector<Shape> shapes;
        for (const int64_t k : { int64_t(768), int64_t(70) })
            for (const int64_t T : { 1, 5, 6, 7, 9, 10, 13 })
                for (const int64_t rows : { 1, 15, 16, 17, 33, 48, 63, 64, 65, 70 })
                    shapes.push_back({ rows, T, k });
        shapes.push_back({ 64, 128, 768 });
        shapes.push_back({ 37, 128, 70 });
        for (const CpuKernels* level : runnableLevels()) {
            for (const Shape& s : shapes) {
                const int64_t ldy = s.rows + 3;
                std::vector<float> y(size_t(s.T * ldy), 42.0f);
                std::vector<float> workspace(matmulWeightsWorkspaceFloats(s.rows, s.k));
                level->matmulWeights(x.data(), ldx, w.data(), ldw, y.data(), ldy, s.T, s.rows, s.k, workspace.data());
                const QString where
                    = QString("%1: rows %2, T %3, k %4").arg(cpuIsaName(level->isa)).arg(s.rows).arg(s.T).arg(s.k);
                for (int64_t t = 0; t < s.T; ++t) {
                    for (int64_t r = 0; r < s.rows; ++r) {
                        double want = 0, mag = 0;
                        for (int64_t p = 0; p < s.k; ++p) {
                            want += double(x[size_t(t * ldx + p)]) * w[size_t(r * ldw + p)];
                            mag += std::abs(double(x[size_t(t * ldx + p)]) * w[size_t(r * ldw + p)]);
                        }
                        QVERIFY2(std::abs(y[size_t(t * ldy + r)] - want) <= 1e-5 * mag + 1e-30,
                            qPrintable(where + QString(": y[%1][%2]").arg(t).arg(r)));
                    }
                    for (int64_t r = s.rows; r < ldy; ++r) // past the last row: untouched
                        QVERIFY2(y[size_t(t * ldy + r)] == 42.0f, qPrintable(where + " wrote past the rows"));
                }
                // The last row and the last token alone: the same bits as within the block (the avx512 kernel's
                // promise; the levels below use Eigen, which blocks by the shape).
                if (int(level->isa) < int(CpuIsa::Avx512))
                    continue;
                const int64_t r = s.rows - 1, t = s.T - 1;
                float alone = 0.0f;
                std::vector<float> one(matmulWeightsWorkspaceFloats(1, s.k));
                level->matmulWeights(
                    x.data() + t * ldx, ldx, w.data() + r * ldw, ldw, &alone, 1, 1, 1, s.k, one.data());
                QVERIFY2(alone == y[size_t(t * ldy + r)], qPrintable(where + ": differs from the row alone"));
            }
        }
    }

    // Weights packed once (packWeightPanels, as Model does for small F32 models) and multiplied from the panels give
    // matmulWeights' bits: for the whole matrix and for runs of rows starting at a panel boundary (how prefill
    // multiplies one block of a packed matrix), with token counts around the tiles of 6, and nothing written past
    // the rows. The avx512 levels have the pair; the Eigen levels pack nothing.
    void packedWeightPanelsGiveMatmulWeightsBits()
    {
        const int64_t ldw = 771, ldx = 769, rows = 70;
        const std::vector<float> w = randomFloats(size_t(rows * ldw), 21), x = randomFloats(size_t(20 * ldx), 22);
        int levelsWithPanels = 0;
        for (const CpuKernels* level : runnableLevels()) {
            const bool panels = int(level->isa) >= int(CpuIsa::Avx512);
            QCOMPARE(level->packWeightPanels != nullptr, panels);
            QCOMPARE(level->matmulWeightPanels != nullptr, panels);
            if (!panels)
                continue;
            ++levelsWithPanels;
            for (const int64_t k : { int64_t(768), int64_t(70), int64_t(1) }) {
                std::vector<float> storage(weightPanelFloats(rows, k) + 16);
                float* packed
                    = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t(63));
                level->packWeightPanels(w.data(), ldw, rows, k, packed);
                for (const int64_t r0 : { int64_t(0), int64_t(16), int64_t(48), int64_t(64) })
                    for (const int64_t n : { int64_t(1), int64_t(15), int64_t(16), int64_t(17), rows - r0 }) {
                        if (r0 + n > rows)
                            continue;
                        for (const int64_t T : { 1, 6, 7, 20 }) {
                            const int64_t ldy = n + 3;
                            std::vector<float> want(size_t(T * ldy), 42.0f), got(size_t(T * ldy), 42.0f);
                            std::vector<float> workspace(matmulWeightsWorkspaceFloats(n, k));
                            level->matmulWeights(
                                x.data(), ldx, w.data() + r0 * ldw, ldw, want.data(), ldy, T, n, k, workspace.data());
                            level->matmulWeightPanels(x.data(), ldx, packed + r0 * k, got.data(), ldy, T, n, k);
                            QVERIFY2(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0,
                                qPrintable(QString("%1: rows %2 + %3, T %4, k %5")
                                               .arg(cpuIsaName(level->isa))
                                               .arg(r0)
                                               .arg(n)
                                               .arg(T)
                                               .arg(k)));
                        }
                    }
            }
        }
        if (levelsWithPanels == 0)
            QSKIP("this CPU runs no AVX-512 level: no level packs weight panels");
    }

    // Every type's kernels at every level this CPU runs against the scalar level's: dequantisation bit for bit
    // (each level computes ggml's arithmetic exactly), dots within float rounding of the row's magnitude, the
    // activation quantiser exactly.
    void everyLevelMatchesTheScalarLevel()
    {
        const CpuKernels& scalar = *cpuKernelsFor(CpuIsa::Scalar);
        const size_t n = 512;
        const std::vector<float> w = randomFloats(n, 11), x = randomFloats(n, 12, 3.0f);
        double magnitude = 0;
        for (size_t i = 0; i < n; ++i)
            magnitude += std::abs(double(w[i]) * x[i]);
        struct Entry {
            GgmlType type;
            const TypeKernels CpuKernels::*kernels;
        };
        const Entry entries[] = { { GgmlType::F32, &CpuKernels::f32 }, { GgmlType::F16, &CpuKernels::f16 },
            { GgmlType::BF16, &CpuKernels::bf16 }, { GgmlType::Q8_0, &CpuKernels::q8_0 },
            { GgmlType::Q4_0, &CpuKernels::q4_0 }, { GgmlType::Q5_0, &CpuKernels::q5_0 },
            { GgmlType::Q4_K, &CpuKernels::q4_K }, { GgmlType::Q5_K, &CpuKernels::q5_K },
            { GgmlType::Q6_K, &CpuKernels::q6_K } };
        for (const CpuKernels* level : runnableLevels()) {
            // The activation quantiser: same rounding everywhere.
            std::vector<int8_t> q(n), qs(n);
            std::vector<float> d(n / 32), ds(n / 32), dsum(n / 32), dsums(n / 32);
            std::vector<int32_t> q16(n / 16), q16s(n / 16);
            level->quantizeActivation(x.data(), n, q.data(), d.data(), dsum.data(), q16.data());
            scalar.quantizeActivation(x.data(), n, qs.data(), ds.data(), dsums.data(), q16s.data());
            QVERIFY(q == qs && d == ds && dsum == dsums && q16 == q16s);
            // Non-finite inputs (a broken model): NaN alone in a block, +inf and -inf among finite values. The scale
            // becomes infinite and dsum NaN, so the floats are compared bit for bit.
            std::vector<float> bad = x;
            bad[5] = std::numeric_limits<float>::quiet_NaN();
            bad[40] = std::numeric_limits<float>::infinity();
            bad[100] = -std::numeric_limits<float>::infinity();
            for (size_t i = 128; i < 160; ++i)
                bad[i] = std::numeric_limits<float>::quiet_NaN();
            level->quantizeActivation(bad.data(), n, q.data(), d.data(), dsum.data(), q16.data());
            scalar.quantizeActivation(bad.data(), n, qs.data(), ds.data(), dsums.data(), q16s.data());
            QVERIFY2(q == qs && q16 == q16s, cpuIsaName(level->isa));
            QVERIFY(std::memcmp(d.data(), ds.data(), d.size() * 4) == 0);
            QVERIFY(std::memcmp(dsum.data(), dsums.data(), dsum.size() * 4) == 0);
            QCOMPARE(int(qs[40]), 0); // inf * (1 / inf) is NaN, quantised to 0
            ActivationQ8 xq;
            xq.quantize(x.data(), n);
            for (const Entry& e : entries) {
                const QString where = QString("%1 %2").arg(cpuIsaName(level->isa), ggmlTypeName(e.type));
                std::vector<uint8_t> row(ggmlRowBytes(e.type, n));
                if (e.type == GgmlType::F32)
                    std::memcpy(row.data(), w.data(), n * 4);
                else if (e.type == GgmlType::F16 || e.type == GgmlType::BF16)
                    for (size_t i = 0; i < n; ++i) {
                        const uint16_t h = e.type == GgmlType::F16 ? f32ToF16(w[i]) : f32ToBf16(w[i]);
                        std::memcpy(row.data() + 2 * i, &h, 2);
                    }
                else
                    quantizeRow(e.type, w.data(), row.data(), n);
                const TypeKernels& got = level->*e.kernels;
                const TypeKernels& want = scalar.*e.kernels;
                std::vector<float> a(n), b(n);
                got.dequantizeRow(row.data(), a.data(), n);
                want.dequantizeRow(row.data(), b.data(), n);
                QVERIFY2(std::memcmp(a.data(), b.data(), n * 4) == 0, qPrintable(where));
                QVERIFY2(std::abs(double(got.dot(row.data(), x.data(), n)) - want.dot(row.data(), x.data(), n))
                        <= 1e-5 * magnitude,
                    qPrintable(where));
                QCOMPARE(got.dotQ8 == nullptr, want.dotQ8 == nullptr);
                if (got.dotQ8)
                    QVERIFY2(std::abs(double(got.dotQ8(row.data(), xq, n)) - want.dotQ8(row.data(), xq, n))
                            <= 1e-5 * magnitude,
                        qPrintable(where));
            }
        }
    }

    // The integer row dots of every level against the scalar level's on blocks a quantiser would not make: random bytes
    // (any bit pattern is a block once its f16 scales are finite; they include Q8_0's -128, Q6_K's scale -128 and the
    // K-quants' 6-bit scales and mins of 63), every bit set and every bit clear, times random inputs and inputs of all
    // +127 or all -127: the largest products, which the AVX-512 K-quant kernels sum in 16-bit lanes where their bounds
    // allow (saturation there would be far outside the tolerance). Block counts leave every remainder of the vector
    // loops (the legacy formats take four blocks per step, then one to three by the scalar reference).
    void rowDotsOfExtremeBlocksMatchTheScalarLevel()
    {
        const CpuKernels& scalar = *cpuKernelsFor(CpuIsa::Scalar);
        struct Case {
            GgmlType type;
            size_t blockBytes, blockElems;
            std::vector<size_t> scaleOffsets; // the f16 d (and the K-quants' dmin)
        };
        const Case cases[] = { { GgmlType::Q8_0, sizeof(BlockQ8_0), 32, { offsetof(BlockQ8_0, d) } },
            { GgmlType::Q4_0, sizeof(BlockQ4_0), 32, { offsetof(BlockQ4_0, d) } },
            { GgmlType::Q5_0, sizeof(BlockQ5_0), 32, { offsetof(BlockQ5_0, d) } },
            { GgmlType::Q4_K, sizeof(BlockQ4_K), 256, { offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin) } },
            { GgmlType::Q5_K, sizeof(BlockQ5_K), 256, { offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin) } },
            { GgmlType::Q6_K, sizeof(BlockQ6_K), 256, { offsetof(BlockQ6_K, d) } } };
        std::mt19937 rng(41);
        int compared = 0;
        for (const Case& c : cases) {
            const std::vector<size_t> blockCounts = c.blockElems == 32
                ? std::vector<size_t> { 1, 3, 4, 6, 8, 13, 15, 24 }
                : std::vector<size_t> { 1, 2, 3 };
            const TypeKernels& reference = *typeKernelsOf(scalar, c.type);
            for (size_t blocks : blockCounts) {
                const size_t n = blocks * c.blockElems;
                for (const int pattern : { -1, 0xFF, 0x00, 0x80 }) { // -1: random bytes
                    std::vector<uint8_t> row(blocks * c.blockBytes);
                    for (auto& byte : row)
                        byte = uint8_t(pattern < 0 ? rng() : unsigned(pattern));
                    for (size_t b = 0; b < blocks; ++b)
                        for (size_t k = 0; k < c.scaleOffsets.size(); ++k) {
                            // d in [1/64, 1/32), of either sign in random blocks; dmin 1/16 of that, so that the
                            // minimum's term does not cancel most of the value
                            float scale = (0.5f + float(rng() % 1000) / 2000.0f) / (k == 0 ? 32.0f : 512.0f);
                            if (pattern < 0 && rng() % 2)
                                scale = -scale;
                            const uint16_t h = f32ToF16(scale);
                            std::memcpy(row.data() + b * c.blockBytes + c.scaleOffsets[k], &h, 2);
                        }
                    std::vector<float> w(n);
                    reference.dequantizeRow(row.data(), w.data(), n);
                    for (int input = 0; input < 3; ++input) {
                        const std::vector<float> x = input == 0 ? randomFloats(n, uint32_t(rng()), 3.0f)
                                                                : std::vector<float>(n, input == 1 ? 127.0f : -127.0f);
                        ActivationQ8 xq;
                        xq.quantize(x.data(), n);
                        double magnitude = 0;
                        for (size_t i = 0; i < n; ++i)
                            magnitude += std::abs(double(w[i]) * xq.q[i] * xq.d[i / 32]);
                        const double want = reference.dotQ8(row.data(), xq, n);
                        for (const CpuKernels* level : runnableLevels()) {
                            const double got = typeKernelsOf(*level, c.type)->dotQ8(row.data(), xq, n);
                            QVERIFY2(std::abs(got - want) <= 1e-5 * magnitude,
                                qPrintable(QString("%1 %2 n=%3 pattern %4 input %5: %6, want %7")
                                               .arg(cpuIsaName(level->isa), ggmlTypeName(c.type))
                                               .arg(n)
                                               .arg(pattern)
                                               .arg(input)
                                               .arg(got)
                                               .arg(want)));
                            ++compared;
                        }
                    }
                }
            }
        }
        QVERIFY(compared >= 6 * 3 * 4 * 3);
    }

    // Prefill's integer matrix kernels of every level this CPU runs (vpdpbusd at avx512, maddubs + madd at avx2)
    // against the scalar level's scalar kernel, bit for bit: the int32 sums are exact and every level scales them
    // with the same fmas in the same order. A partial panel (19 rows: 16 + 3) and a partial token tile (5 rows);
    // Q8_0 weights of -128 and inputs of +-127 (the largest products a saturating 16-bit pair sum could meet).
    void int8GemmOfEveryLevelMatchesTheScalarKernel()
    {
        const CpuKernels& scalar = *cpuKernelsFor(CpuIsa::Scalar);
        const size_t n = 512;
        const int rows = 19, T = 5;
        std::vector<float> x = randomFloats(n * T, 21, 2.0f);
        for (size_t i = 0; i < 64; ++i)
            x[i] = (i % 2) ? 127.0f : -127.0f;
        ActivationQ8 xq;
        xq.quantize(x.data(), x.size());
        std::vector<uint8_t> workspace(int8GemmWorkspaceBytes(n, T));
        const GgmlType types[]
            = { GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K };
        QVERIFY(typeKernelsOf(scalar, GgmlType::F32)->int8GemmScalar == nullptr);
        QVERIFY(typeKernelsOf(scalar, GgmlType::Q2_K) == nullptr);
        int compared = 0;
        for (GgmlType type : types) {
            const size_t rowBytes = ggmlRowBytes(type, n);
            std::vector<uint8_t> w(rowBytes * rows);
            for (int r = 0; r < rows; ++r) {
                const std::vector<float> v = randomFloats(n, uint32_t(100 + r), 0.5f + 0.1f * float(r % 4));
                quantizeRow(type, v.data(), w.data() + size_t(r) * rowBytes, n);
            }
            if (type == GgmlType::Q8_0) // extreme quants in the first row
                for (size_t b = 0; b < n / 32; ++b)
                    for (int j = 0; j < 32; j += 2)
                        reinterpret_cast<BlockQ8_0*>(w.data())[b].qs[j] = int8_t(-128);
            std::vector<float> want(size_t(T) * rows);
            typeKernelsOf(scalar, type)
                ->int8GemmScalar(w.data(), rowBytes, rows, n, xq, T, want.data(), rows, workspace.data());
            for (const CpuKernels* level : runnableLevels()) {
                const TypeKernels& k = *typeKernelsOf(*level, type);
                QVERIFY(k.int8GemmScalar != nullptr);
                QCOMPARE(k.int8Gemm == nullptr, level->isa == CpuIsa::Scalar);
                for (Int8GemmKernel kernel : { k.int8Gemm, k.int8GemmScalar }) {
                    if (!kernel)
                        continue;
                    std::vector<float> got(want.size(), -1.0f);
                    kernel(w.data(), rowBytes, rows, n, xq, T, got.data(), rows, workspace.data());
                    QVERIFY2(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0,
                        qPrintable(QString("%1 %2").arg(cpuIsaName(level->isa), ggmlTypeName(type))));
                    ++compared;
                }
            }
        }
        QVERIFY(compared >= 6);
    }

    // Decode's row dots prefetch the weights a few KiB ahead of what they read (kernels/decodeprefetch.h), past the
    // row's end: a row that ends where readable memory ends (the pages after it inaccessible) must still give the
    // same result, bit for bit, at every level and type, as the same row elsewhere.
    void rowDotsAtTheEndOfReadableMemory()
    {
        const size_t page = size_t(sysconf(_SC_PAGESIZE));
        const size_t readable = 2 * page, guard = 16384 + page; // beyond the prefetch distance and the widest span
        void* mapping = mmap(nullptr, readable + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        QVERIFY(mapping != MAP_FAILED);
        uint8_t* base = static_cast<uint8_t*>(mapping);
        QCOMPARE(mprotect(base + readable, guard, PROT_NONE), 0);
        const size_t n = 512;
        const std::vector<float> w = randomFloats(n, 31), x = randomFloats(n, 32, 2.0f);
        ActivationQ8 xq;
        xq.quantize(x.data(), n);
        const GgmlType types[] = { GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
            GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K };
        int compared = 0;
        for (GgmlType type : types) {
            const size_t rowBytes = ggmlRowBytes(type, n);
            std::vector<uint8_t> row(rowBytes);
            if (type == GgmlType::F32)
                std::memcpy(row.data(), w.data(), rowBytes);
            else if (type == GgmlType::F16 || type == GgmlType::BF16)
                for (size_t i = 0; i < n; ++i) {
                    const uint16_t h = type == GgmlType::F16 ? f32ToF16(w[i]) : f32ToBf16(w[i]);
                    std::memcpy(row.data() + 2 * i, &h, 2);
                }
            else
                quantizeRow(type, w.data(), row.data(), n);
            uint8_t* atEnd = base + readable - rowBytes;
            std::memcpy(atEnd, row.data(), rowBytes);
            for (const CpuKernels* level : runnableLevels()) {
                const TypeKernels& k = *typeKernelsOf(*level, type);
                const QString where = QString("%1 %2").arg(cpuIsaName(level->isa), ggmlTypeName(type));
                const float want = k.dot(row.data(), x.data(), n), got = k.dot(atEnd, x.data(), n);
                QVERIFY2(std::memcmp(&want, &got, sizeof(float)) == 0, qPrintable(where));
                if (k.dotQ8) {
                    const float wantQ = k.dotQ8(row.data(), xq, n), gotQ = k.dotQ8(atEnd, xq, n);
                    QVERIFY2(std::memcmp(&wantQ, &gotQ, sizeof(float)) == 0, qPrintable(where));
                }
                ++compared;
            }
        }
        munmap(mapping, readable + guard);
        QVERIFY(compared >= 9);
    }

    void unsupportedTypeHasNoKernels() { QVERIFY_THROWS_EXCEPTION(std::invalid_argument, typeKernels(GgmlType::Q2_K)); }

    void rmsNormAndSoftmaxMatchDefinitions()
    {
        std::vector<float> x { 1.0f, -2.0f, 3.0f, 0.5f }, w { 1.0f, 2.0f, 0.5f, -1.0f }, out(4);
        rmsNorm(out.data(), x.data(), w.data(), 4, 1e-5f);
        double ms = (1 + 4 + 9 + 0.25) / 4.0;
        for (int i = 0; i < 4; ++i)
            QVERIFY(std::abs(out[size_t(i)] - x[size_t(i)] / std::sqrt(ms + 1e-5) * w[size_t(i)]) < 1e-6);
        std::vector<float> s { 1000.0f, 1001.0f, 999.0f };
        softmax(s.data(), 3);
        const double e0 = std::exp(-1.0), e2 = std::exp(-2.0), z = e0 + 1 + e2;
        QVERIFY(std::abs(s[0] - e0 / z) < 1e-6 && std::abs(s[1] - 1 / z) < 1e-6 && std::abs(s[2] - e2 / z) < 1e-6);
    }

    // The feed-forward gate silu(g)·u at every level against the definition in double: within 4 ulp of the float
    // result (the avx512 exponential is within 2 ulp, then one division and two products) over the range activations
    // take, including both signs, ±0, large magnitudes where e^-x overflows or vanishes, the vector body and the tail.
    // Results below 1e-35 in magnitude may be 0: the scalar formula's e^-x overflows to inf for x below -88.7.
    void siluMulMatchesDefinitionAtEveryLevel()
    {
        std::vector<float> g, u;
        for (float v = -100.0f; v <= 100.0f; v += 0.0137f) {
            g.push_back(v);
            u.push_back(float(std::cos(double(g.size()) * 0.37)) * 3.0f);
        }
        for (float v : { 0.0f, -0.0f, 1e-30f, -1e-30f, 88.0f, -88.0f, 1e20f, -1e20f }) {
            g.push_back(v);
            u.push_back(1.5f);
        }
        for (const CpuKernels* level : runnableLevels()) {
            for (size_t n : { g.size(), size_t(1), size_t(15), size_t(17) }) {
                std::vector<float> out(n, 42.0f);
                level->siluMul(g.data(), u.data(), out.data(), n);
                for (size_t i = 0; i < n; ++i) {
                    const double x = g[i];
                    const double want = x / (1.0 + std::exp(-x)) * double(u[i]);
                    const double ulp = std::abs(double(std::nextafter(float(want), 1e30f)) - float(want));
                    QVERIFY2(std::abs(out[i] - want) <= 4 * ulp + 1e-35,
                        qPrintable(QString("%1: silu(%2) * %3 = %4, want %5")
                                       .arg(cpuIsaName(level->isa))
                                       .arg(g[i])
                                       .arg(u[i])
                                       .arg(out[i])
                                       .arg(want)));
                }
            }
        }
    }

    // The RMS norm at every level against its definition in double: within 3 ulp of the float result (the scale is
    // rounded to float, then two float products), for lengths around the vector loops (32 at avx512, 16 at avx2)
    // and their tails, in place as well (the per-head q/k norm), and with activations of very different sizes
    // (a float sum of squares would lose the small ones).
    void rmsNormMatchesDefinitionAtEveryLevel()
    {
        for (const CpuKernels* level : runnableLevels())
            for (size_t n : { size_t(1), size_t(15), size_t(16), size_t(17), size_t(31), size_t(32), size_t(33),
                     size_t(192), size_t(768), size_t(1000) }) {
                std::vector<float> x = randomFloats(n, 31 + uint32_t(n), 3.0f), w = randomFloats(n, 7, 2.0f);
                x[n / 2] = 3000.0f; // one large activation among small ones
                double ss = 0;
                for (float v : x)
                    ss += double(v) * v;
                const double scale = 1.0 / std::sqrt(ss / double(n) + 1e-5);
                std::vector<float> out(n, 42.0f), inPlace = x;
                level->rmsNorm(out.data(), x.data(), w.data(), n, 1e-5f);
                level->rmsNorm(inPlace.data(), inPlace.data(), w.data(), n, 1e-5f);
                for (size_t i = 0; i < n; ++i) {
                    const double want = double(x[i]) * scale * w[i];
                    const double ulp = std::abs(double(std::nextafter(float(want), 1e30f)) - float(want));
                    QVERIFY2(std::abs(out[i] - want) <= 3 * ulp + 1e-38 && inPlace[i] == out[i],
                        qPrintable(QString("%1: n %2, out[%3] = %4 (in place %5), want %6")
                                       .arg(cpuIsaName(level->isa))
                                       .arg(n)
                                       .arg(i)
                                       .arg(out[i])
                                       .arg(inPlace[i])
                                       .arg(want)));
                }
            }
    }

    // Softmax subtracts the row's maximum before the exponentials; shifting by anything else gives the same quotients
    // until an exponential overflows. One large score among very negative ones, at every position of rows of every
    // length the vector loops and their tails see, at every level: a maximum that misses any position would put
    // exp(1100) = inf (NaN after the division) or 0 everywhere; the right one gives 1 there and 0 elsewhere.
    void softmaxFindsTheMaximumAnywhereAtEveryLevel()
    {
        for (const CpuKernels* level : runnableLevels())
            for (size_t n = 1; n <= 70; ++n)
                for (size_t at = 0; at < n; ++at) {
                    std::vector<float> s(n, -1000.0f);
                    s[at] = 100.0f;
                    level->softmax(s.data(), n);
                    for (size_t i = 0; i < n; ++i)
                        QVERIFY2(s[i] == (i == at ? 1.0f : 0.0f),
                            qPrintable(QString("%1: n %2, maximum at %3: s[%4] = %5")
                                           .arg(cpuIsaName(level->isa))
                                           .arg(n)
                                           .arg(at)
                                           .arg(i)
                                           .arg(s[i])));
                }
    }

    // The exponential inside softmax against the double-precision exp: within 2 ulp where the result is
    // a normal float, and 0 (or a denormal) below.
    void softmaxExponentialIsAccurate()
    {
        std::vector<float> x;
        for (float v = 0.0f; v > -110.0f; v -= 0.0037f)
            x.push_back(v);
        x.push_back(-0.0f);
        x.push_back(-std::numeric_limits<float>::infinity());
        std::vector<float> got(x.size());
        expNonPositiveForTest(x.data(), got.data(), x.size());
        for (size_t i = 0; i < x.size(); ++i) {
            const double want = std::exp(double(x[i]));
            if (want < std::numeric_limits<float>::min()) {
                QVERIFY2(got[i] >= 0.0f && got[i] < 2 * std::numeric_limits<float>::min(),
                    qPrintable(QString::number(x[i])));
                continue;
            }
            const double ulp = std::nextafter(float(want), 2.0f) - float(want);
            QVERIFY2(std::abs(got[i] - want) <= 2 * ulp,
                qPrintable(QString("exp(%1) = %2, want %3").arg(x[i]).arg(got[i]).arg(want)));
        }
        // Softmax over many values (vector body and masked tail) against the definition in double.
        for (size_t n : { size_t(1), size_t(15), size_t(16), size_t(17), size_t(500) }) {
            std::vector<float> v(n);
            for (size_t i = 0; i < n; ++i)
                v[i] = float(std::sin(double(i) * 1.7) * 20.0);
            std::vector<float> s = v;
            softmax(s.data(), n);
            const double mx = *std::max_element(v.begin(), v.end());
            double z = 0;
            for (float t : v)
                z += std::exp(double(t) - mx);
            for (size_t i = 0; i < n; ++i)
                QVERIFY(std::abs(s[i] - std::exp(double(v[i]) - mx) / z) < 1e-6);
        }
    }
};

QTEST_APPLESS_MAIN(TestKernels)
#include "test_kernels.moc"
