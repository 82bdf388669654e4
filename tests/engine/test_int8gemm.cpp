// The integer matrix kernels of prefill (int8gemm.h) against a reference written here from the block
// formats' definitions: the activation quantisation, the integer sums per block and their scaling,
// the dequantise-then-float product, odd shapes, and independence from how rows and tokens are split.
#include "engine/kernels/activationq8.h"
#include "engine/kernels/blockformats.h"
#include "engine/kernels/cpudispatch.h"
#include "engine/kernels/int8gemm.h"
#include "engine/kernels/modelquantizer.h"
#include "engine/kernels/typekernels.h"
#include "testsupport.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>

#include <cpuid.h>

using namespace engine;
using namespace testsupport;

Q_DECLARE_METATYPE(engine::GgmlType)

namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma, float mean = 0.0f)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(mean, sigma);
    std::vector<float> v(n);
    for (float& x : v)
        x = dist(rng);
    return v;
}

// One scale group of a stored row as the format defines it: value = scale * q - min for each of
// its quants q (signed, the offset already taken off).
struct Group {
    size_t first = 0; // element index in the row
    std::vector<int> q;
    double scale = 0;
    double min = 0;
};

// The row's groups, decoded from the layouts documented in blockformats.h.
std::vector<Group> groupsOf(GgmlType type, const uint8_t* row, size_t n)
{
    std::vector<Group> out;
    auto f16 = [](uint16_t h) { return double(f16ToF32(h)); };
    switch (type) {
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
        for (size_t b = 0; b < n / 32; ++b) {
            Group g;
            g.first = 32 * b;
            for (int j = 0; j < 32; ++j) {
                if (type == GgmlType::Q8_0) {
                    const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
                    g.scale = f16(blk.d);
                    g.q.push_back(blk.qs[j]);
                } else if (type == GgmlType::Q4_0) {
                    const auto& blk = reinterpret_cast<const BlockQ4_0*>(row)[b];
                    g.scale = f16(blk.d);
                    g.q.push_back((j < 16 ? blk.qs[j] & 0xF : blk.qs[j - 16] >> 4) - 8);
                } else {
                    const auto& blk = reinterpret_cast<const BlockQ5_0*>(row)[b];
                    const uint32_t qh = uint32_t(blk.qh[0]) | uint32_t(blk.qh[1]) << 8 | uint32_t(blk.qh[2]) << 16
                        | uint32_t(blk.qh[3]) << 24;
                    g.scale = f16(blk.d);
                    g.q.push_back(int((j < 16 ? blk.qs[j] & 0xF : blk.qs[j - 16] >> 4) | (((qh >> j) & 1) << 4)) - 16);
                }
            }
            out.push_back(g);
        }
        break;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
        for (size_t b = 0; b < n / 256; ++b) {
            const bool five = type == GgmlType::Q5_K;
            const auto* b4 = reinterpret_cast<const BlockQ4_K*>(row) + b;
            const auto* b5 = reinterpret_cast<const BlockQ5_K*>(row) + b;
            const uint8_t* scales = five ? b5->scales : b4->scales;
            const uint8_t* qs = five ? b5->qs : b4->qs;
            const double d = f16(five ? b5->d : b4->d), dmin = f16(five ? b5->dmin : b4->dmin);
            for (int s = 0; s < 8; ++s) {
                uint8_t sc, m;
                scaleMinK4(s, scales, sc, m);
                Group g;
                g.first = 256 * b + 32 * size_t(s);
                g.scale = d * sc;
                g.min = dmin * m;
                for (int l = 0; l < 32; ++l) {
                    const uint8_t byte = qs[32 * (s / 2) + l];
                    int q = (s % 2) ? byte >> 4 : byte & 0xF;
                    if (five)
                        q += ((b5->qh[l] >> s) & 1) * 16;
                    g.q.push_back(q);
                }
                out.push_back(g);
            }
        }
        break;
    case GgmlType::Q6_K:
        for (size_t b = 0; b < n / 256; ++b) {
            const auto& blk = reinterpret_cast<const BlockQ6_K*>(row)[b];
            for (int grp = 0; grp < 16; ++grp) {
                Group g;
                g.first = 256 * b + 16 * size_t(grp);
                g.scale = f16(blk.d) * blk.scales[grp];
                for (int e = 16 * grp; e < 16 * grp + 16; ++e) {
                    const int half = e / 128, k = (e % 128) / 32, l = e % 32;
                    const uint8_t low = blk.ql[64 * half + l + ((k & 1) ? 32 : 0)];
                    const int nib = k < 2 ? low & 0xF : low >> 4;
                    g.q.push_back((nib | (((blk.qh[32 * half + l] >> (2 * k)) & 3) << 4)) - 32);
                }
                out.push_back(g);
            }
        }
        break;
    default:
        break;
    }
    return out;
}

// An activation row quantised as ggml's quantize_row_q8_0 defines it (d = max|x| / 127, q = round(x / d)).
struct RefQ8 {
    std::vector<int> q;
    std::vector<double> d; // per 32
};
RefQ8 refQuantize(const float* x, size_t n)
{
    RefQ8 r;
    for (size_t b = 0; b < n / 32; ++b) {
        float amax = 0;
        for (size_t j = 0; j < 32; ++j)
            amax = std::max(amax, std::fabs(x[32 * b + j]));
        const float d = amax / 127.0f;
        r.d.push_back(d);
        for (size_t j = 0; j < 32; ++j)
            r.q.push_back(d == 0.0f ? 0 : int(std::nearbyint(x[32 * b + j] * (1.0f / d))));
    }
    return r;
}

struct Expected {
    double value = 0; // sum over groups of scale * d_x * (integer sum) - min * d_x * sum(q_x)
    double magnitude = 0; // sum of |terms|: float rounding of the kernel is relative to it
};
Expected reference(const std::vector<Group>& groups, const RefQ8& x)
{
    Expected e;
    for (const Group& g : groups) {
        long long dot = 0, sum = 0, absDot = 0;
        for (size_t j = 0; j < g.q.size(); ++j) {
            const int xq = x.q[g.first + j];
            dot += (long long)g.q[j] * xq;
            absDot += std::llabs((long long)g.q[j] * xq);
            sum += xq;
        }
        const double dx = x.d[g.first / 32];
        e.value += g.scale * dx * double(dot) - g.min * dx * double(sum);
        e.magnitude += std::fabs(g.scale * dx) * double(absDot) + std::fabs(g.min * dx * double(sum));
    }
    return e;
}

uint32_t floatBits(float f)
{
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

const GgmlType kTypes[]
    = { GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K };

// Why this process has no amx level, for the skip message.
const char* whyNoAmx()
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool amxInt8 = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx >> 24 & 1u) && (edx >> 25 & 1u);
    if (!cpuKernelsFor(CpuIsa::Avx512))
        return "this CPU has no AVX-512 VNNI, so no amx level";
    if (!amxInt8)
        return "this CPU has no AMX-TILE/AMX-INT8";
    return "the CPU has AMX-INT8 but Linux refused this process the tile state (arch_prctl ARCH_REQ_XCOMP_PERM)";
}

} // namespace

class TestInt8Gemm : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void gemmMatchesIntegerReference_data()
    {
        QTest::addColumn<GgmlType>("type");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("T");
        QTest::addColumn<int>("n");
        for (GgmlType type : kTypes)
            for (int T : { 1, 3, 7, 17 })
                for (int rows : { 5, 37 })
                    QTest::addRow("%s rows=%d T=%d", ggmlTypeName(type), rows, T) << type << rows << T << 512;
        // A row of a single K super-block, 16 rows: one exact panel.
        for (GgmlType type : kTypes)
            QTest::addRow("%s rows=16 T=8 n=256", ggmlTypeName(type)) << type << 16 << 8 << 256;
    }

    // Every output against the reference to float rounding (so the unpacked quants, offsets, mins and
    // scales are right); against the dequantise-then-float product within the activation's rounding
    // (half a step d_x per element); the vectorised kernel bit for bit equal to the scalar one.
    void gemmMatchesIntegerReference()
    {
        QFETCH(GgmlType, type);
        QFETCH(int, rows);
        QFETCH(int, T);
        QFETCH(int, n);
        const size_t N = size_t(n);
        const size_t rowBytes = ggmlRowBytes(type, N);
        std::vector<uint8_t> w(rowBytes * size_t(rows));
        for (int r = 0; r < rows; ++r) {
            // Rows differ in scale and offset, so K-quant mins and every sign of the legacy quants occur.
            const auto v = gaussian(N, uint32_t(1000 * r + n), 0.2f + 0.05f * float(r % 5), r % 3 ? 0.0f : 0.3f);
            quantizeRow(type, v.data(), w.data() + size_t(r) * rowBytes, N);
        }
        auto x = gaussian(N * size_t(T), uint32_t(7 * T + n), 1.0f);
        std::fill(x.begin() + 32, x.begin() + 64, 0.0f); // an all-zero block: d_x = 0
        ActivationQ8 xq;
        xq.quantize(x.data(), x.size());

        const auto& k = typeKernels(type);
        QVERIFY(hasInt8Gemm(type));
        const auto gemm = [type](auto... args) { int8Gemm(type, args...); };
        const int64_t ldy = rows + 3; // a leading dimension wider than the block
        std::vector<float> y(size_t(T) * size_t(ldy), -1.0f), ys(y.size(), -1.0f);
        gemm(w.data(), rowBytes, rows, N, xq, T, y.data(), ldy);
        int8GemmScalar(type, w.data(), rowBytes, rows, N, xq, T, ys.data(), ldy);

        std::vector<float> wf(N);
        for (int t = 0; t < T; ++t) {
            const float* xt = x.data() + size_t(t) * N;
            const RefQ8 rq = refQuantize(xt, N);
            for (size_t i = 0; i < N; ++i)
                QCOMPARE(int(xq.q[size_t(t) * N + i]), rq.q[i]);
            for (int r = 0; r < rows; ++r) {
                const uint8_t* row = w.data() + size_t(r) * rowBytes;
                const Expected e = reference(groupsOf(type, row, N), rq);
                const float got = y[size_t(t) * size_t(ldy) + size_t(r)];
                const QString where = QStringLiteral("t=%1 r=%2").arg(t).arg(r);
                QVERIFY2(std::fabs(got - e.value) <= 1e-5 * e.magnitude + 1e-7,
                    qPrintable(where + QStringLiteral(": %1, reference %2").arg(got).arg(e.value)));
                if (int8GemmVectorised())
                    QVERIFY2(floatBits(got) == floatBits(ys[size_t(t) * size_t(ldy) + size_t(r)]),
                        qPrintable(where + QStringLiteral(": vectorised and scalar differ")));
                k.dequantizeRow(row, wf.data(), N);
                double floatDot = 0, bound = 0;
                for (size_t i = 0; i < N; ++i) {
                    floatDot += double(wf[i]) * xt[i];
                    bound += std::fabs(double(wf[i])) * 0.5 * rq.d[i / 32];
                }
                QVERIFY2(std::fabs(got - floatDot) <= bound * (1 + 1e-5) + 1e-5 * e.magnitude,
                    qPrintable(where + QStringLiteral(": %1, float %2, bound %3").arg(got).arg(floatDot).arg(bound)));
            }
            for (int64_t c = rows; c < ldy; ++c) { // nothing written past the block
                QCOMPARE(y[size_t(t) * size_t(ldy) + size_t(c)], -1.0f);
                QCOMPARE(ys[size_t(t) * size_t(ldy) + size_t(c)], -1.0f);
            }
        }
        if (!int8GemmVectorised())
            QSKIP("this ISA level has no vectorised integer kernel (AVX2 or AVX-512 VNNI): the kernels ran the scalar "
                  "one, so vectorised-against-scalar was not compared");
    }

    // The amx level's kernels in this process whatever PLAYGROUND_ISA chose: every output against the reference to
    // float rounding, and bit for bit equal to the scalar kernel and to the avx512 level's VNNI kernel (the same
    // integer sums, scaled in the same order). From 64 tokens they use AMX tiles (16 tokens x 16 rows, with a tail of
    // either: 65, 71 and 100 tokens, 5 and 37 rows); below, and for Q6_K, they hand over to the VNNI kernel (1, 17).
    void amxKernelsMatchScalarAndVnni_data()
    {
        QTest::addColumn<GgmlType>("type");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("T");
        for (GgmlType type : kTypes)
            for (int T : { 1, 17, 65, 71, 100 })
                for (int rows : { 5, 37 })
                    QTest::addRow("%s rows=%d T=%d", ggmlTypeName(type), rows, T) << type << rows << T;
        for (GgmlType type : kTypes) // exact tiles: 32 rows, 64 and 128 tokens
            for (int T : { 64, 128 })
                QTest::addRow("%s rows=32 T=%d", ggmlTypeName(type), T) << type << 32 << T;
    }
    void amxKernelsMatchScalarAndVnni()
    {
        QFETCH(GgmlType, type);
        QFETCH(int, rows);
        QFETCH(int, T);
        const CpuKernels* amx = cpuKernelsFor(CpuIsa::Amx);
        if (!amx)
            QSKIP(whyNoAmx());
        const CpuKernels& avx512 = *cpuKernelsFor(CpuIsa::Avx512);
        const CpuKernels& scalar = *cpuKernelsFor(CpuIsa::Scalar);
        const size_t n = 512, rowBytes = ggmlRowBytes(type, n);
        std::vector<uint8_t> w(rowBytes * size_t(rows));
        for (int r = 0; r < rows; ++r) {
            const auto v = gaussian(n, uint32_t(300 * r + T), 0.2f + 0.05f * float(r % 5), r % 3 ? 0.0f : 0.3f);
            quantizeRow(type, v.data(), w.data() + size_t(r) * rowBytes, n);
        }
        auto x = gaussian(n * size_t(T), uint32_t(5 * T + rows), 1.0f);
        std::fill(x.begin() + 64, x.begin() + 96, 0.0f); // an all-zero block: d_x = 0
        ActivationQ8 xq;
        xq.quantize(x.data(), x.size());
        const int64_t ldy = rows + 3; // a leading dimension wider than the block: nothing may be written past it
        std::vector<uint8_t> workspace(int8GemmWorkspaceBytes(n, T));
        std::vector<float> ya(size_t(T) * size_t(ldy), -1.0f), yv(ya), ys(ya);
        typeKernelsOf(*amx, type)->int8Gemm(w.data(), rowBytes, rows, n, xq, T, ya.data(), ldy, workspace.data());
        typeKernelsOf(avx512, type)->int8Gemm(w.data(), rowBytes, rows, n, xq, T, yv.data(), ldy, workspace.data());
        typeKernelsOf(scalar, type)
            ->int8GemmScalar(w.data(), rowBytes, rows, n, xq, T, ys.data(), ldy, workspace.data());
        std::vector<std::vector<Group>> groups; // each row's, decoded once
        for (int r = 0; r < rows; ++r)
            groups.push_back(groupsOf(type, w.data() + size_t(r) * rowBytes, n));
        for (int t = 0; t < T; ++t) {
            const RefQ8 rq = refQuantize(x.data() + size_t(t) * n, n);
            for (int64_t r = 0; r < ldy; ++r) {
                const size_t i = size_t(t) * size_t(ldy) + size_t(r);
                if (r >= rows) {
                    if (ya[i] != -1.0f)
                        QFAIL(qPrintable(QStringLiteral("t=%1 r=%2: written past the rows").arg(t).arg(r)));
                    continue;
                }
                const Expected e = reference(groups[size_t(r)], rq);
                if (floatBits(ya[i]) == floatBits(ys[i]) && floatBits(ya[i]) == floatBits(yv[i])
                    && std::fabs(ya[i] - e.value) <= 1e-5 * e.magnitude + 1e-7)
                    continue; // the common case, without building messages (the ASan build runs this too)
                const QString where = QStringLiteral("t=%1 r=%2").arg(t).arg(r);
                QVERIFY2(std::fabs(ya[i] - e.value) <= 1e-5 * e.magnitude + 1e-7,
                    qPrintable(where + QStringLiteral(": %1, reference %2").arg(ya[i]).arg(e.value)));
                QVERIFY2(floatBits(ya[i]) == floatBits(ys[i]),
                    qPrintable(where + QStringLiteral(": amx %1, scalar %2").arg(ya[i]).arg(ys[i])));
                QVERIFY2(floatBits(ya[i]) == floatBits(yv[i]),
                    qPrintable(where + QStringLiteral(": amx %1, vnni %2").arg(ya[i]).arg(yv[i])));
            }
        }
    }

    // Prefill splits weight rows over threads and tokens into chunks: an output must not depend on
    // which rows share its call or which tokens share its activation tile.
    void gemmIndependentOfRowSplitAndTokenTile_data()
    {
        QTest::addColumn<GgmlType>("type");
        for (GgmlType type : kTypes)
            QTest::newRow(ggmlTypeName(type)) << type;
    }
    void gemmIndependentOfRowSplitAndTokenTile()
    {
        QFETCH(GgmlType, type);
        const size_t n = 256, rows = 40;
        const int T = 70; // 8 VNNI tiles of 8 tokens and a tail; 4 AMX tiles of 16 and a tail (the amx level)
        const size_t rowBytes = ggmlRowBytes(type, n);
        std::vector<uint8_t> w(rowBytes * rows);
        for (size_t r = 0; r < rows; ++r) {
            const auto v = gaussian(n, uint32_t(r + 77), 0.3f, 0.1f);
            quantizeRow(type, v.data(), w.data() + r * rowBytes, n);
        }
        const auto x = gaussian(n * size_t(T), 99, 1.0f);
        ActivationQ8 xq;
        xq.quantize(x.data(), x.size());
        const auto gemm = [type](auto... args) { int8Gemm(type, args...); };
        std::vector<float> whole(size_t(T) * rows), split(whole.size());
        gemm(w.data(), rowBytes, int64_t(rows), n, xq, T, whole.data(), int64_t(rows));
        for (size_t r0 : { size_t(0), size_t(7), size_t(29) }) { // rows [0,7), [7,29), [29,40)
            const size_t r1 = r0 == 0 ? 7 : r0 == 7 ? 29 : rows;
            gemm(w.data() + r0 * rowBytes, rowBytes, int64_t(r1 - r0), n, xq, T, split.data() + r0, int64_t(rows));
        }
        QVERIFY(std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)) == 0);
        for (int t = 0; t < T; ++t) { // each token alone
            ActivationQ8 one;
            one.quantize(x.data() + size_t(t) * n, n);
            std::vector<float> y(rows);
            gemm(w.data(), rowBytes, int64_t(rows), n, one, 1, y.data(), int64_t(rows));
            QVERIFY2(std::memcmp(y.data(), whole.data() + size_t(t) * rows, rows * sizeof(float)) == 0,
                qPrintable(QStringLiteral("token %1").arg(t)));
        }
    }

    // Q8_0 weights of -128 (outside what the quantiser writes, but a file may hold them) against inputs
    // of +-127: flipping the sign bit and taking 128 * sum(q_x) off must still give the exact products.
    void extremeQ8_0ValuesAreExact()
    {
        const size_t n = 128;
        const int T = 3;
        std::vector<uint8_t> w(ggmlRowBytes(GgmlType::Q8_0, n) * 2);
        auto* blocks = reinterpret_cast<BlockQ8_0*>(w.data());
        for (size_t b = 0; b < 2 * n / 32; ++b) {
            blocks[b].d = 0x3C00; // 1.0 in f16
            for (int j = 0; j < 32; ++j)
                blocks[b].qs[j] = int8_t(j % 3 == 0 ? -128 : (j % 3 == 1 ? 127 : -1 - int(b)));
        }
        std::vector<float> x(n * T);
        for (size_t i = 0; i < x.size(); ++i)
            x[i] = (i % 2) ? 127.0f : -127.0f; // d = 1, q = +-127
        ActivationQ8 xq;
        xq.quantize(x.data(), x.size());
        std::vector<float> y(2 * T);
        int8Gemm(GgmlType::Q8_0, w.data(), w.size() / 2, 2, n, xq, T, y.data(), 2);
        for (int t = 0; t < T; ++t)
            for (size_t r = 0; r < 2; ++r) {
                double exact = 0;
                for (size_t i = 0; i < n; ++i)
                    exact += double(blocks[r * n / 32 + i / 32].qs[i % 32]) * x[size_t(t) * n + i];
                QCOMPARE(double(y[size_t(t) * 2 + r]), exact);
            }
    }

    void wrongShapesThrow()
    {
        ActivationQ8 xq;
        std::vector<float> x(64, 1.0f);
        xq.quantize(x.data(), 64);
        std::vector<uint8_t> w(ggmlRowBytes(GgmlType::Q4_0, 64));
        std::vector<float> y(4);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
            int8Gemm(GgmlType::Q4_0, w.data(), w.size(), 1, 64, xq, 2, y.data(), 1)); // x holds 1 row
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
            int8Gemm(GgmlType::Q4_K, w.data(), w.size(), 1, 64, xq, 1, y.data(), 1)); // not a super-block
        QVERIFY_THROWS_EXCEPTION(
            std::invalid_argument, int8GemmScalar(GgmlType::F32, w.data(), 4, 1, 64, xq, 1, y.data(), 1));
    }

    void reportsWhichPathRuns()
    {
        qInfo("integer matrix kernels at ISA level %s: %s", cpuIsaName(activeCpuIsa()),
            activeCpuIsa() == CpuIsa::Amx
                ? "AMX-INT8 tiles from 64 tokens (VNNI below, and for Q6_K), prefill uses them"
                : int8GemmVectorised() ? "vectorised (AVX2 or AVX-512 VNNI), prefill uses them"
                                       : "scalar only, prefill keeps the float path");
    }
};

QTEST_APPLESS_MAIN(TestInt8Gemm)
#include "test_int8gemm.moc"
