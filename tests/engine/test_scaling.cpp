// Tests for engine/measure/scaling and sweepexport: speedup, efficiency, Karp–Flatt, the Amdahl fit, Gustafson,
// and the JSON/CSV exports.
#include "engine/measure/scaling.h"
#include "engine/measure/sweepexport.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace engine;

Q_DECLARE_METATYPE(engine::TimingSamples)

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Equal within tol, NaN equal to NaN, inf equal to inf.
bool same(double actual, double expected, double tol = 1e-9)
{
    if (std::isnan(expected))
        return std::isnan(actual);
    if (std::isinf(expected))
        return actual == expected;
    return std::abs(actual - expected) <= tol;
}

QByteArray mismatch(const char* what, double actual, double expected)
{
    return QByteArray(what) + ": got " + QByteArray::number(actual, 'g', 17) + ", expected "
        + QByteArray::number(expected, 'g', 17);
}

#define COMPARE_NUM(actual, expected, tol)                                                                             \
    QVERIFY2(same((actual), (expected), (tol)), mismatch(#actual, (actual), (expected)).constData())

// The hand case: medians T(1) = 10, T(2) = 6, T(4) = 4 s, entered out of order to prove the sort.
//   p = 1: {12, 10, 9}       median 10, min 9,   max 12
//   p = 2: {7, 5, 6.5, 5.5}  median (5.5 + 6.5)/2 = 6, min 5, max 7
//   p = 4: {4.4, 3.8, 4}     median 4,  min 3.8, max 4.4
std::vector<TimingSamples> handSamples()
{
    return { { 4, { 4.4, 3.8, 4.0 } }, { 1, { 12.0, 10.0, 9.0 } }, { 2, { 7.0, 5.0, 6.5, 5.5 } } };
}

const ScalingPoint* pointAt(const ScalingAnalysis& a, int threads)
{
    for (const ScalingPoint& p : a.points)
        if (p.threads == threads)
            return &p;
    return nullptr;
}

// Amdahl timings T(p) = T1 (s + (1 − s)/p), `reps` identical repetitions.
std::vector<TimingSamples> amdahlSamples(double s, const std::vector<int>& threads, double t1 = 7.5, int reps = 3)
{
    std::vector<TimingSamples> out;
    for (int p : threads)
        out.push_back({ p, std::vector<double>(size_t(reps), t1 * (s + (1.0 - s) / p)) });
    return out;
}

// Deterministic noise: a 64-bit LCG (Knuth's MMIX constants) mapped to [−1, 1].
struct Lcg {
    uint64_t state;
    double next()
    {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return double(state >> 11) / double(uint64_t(1) << 53) * 2.0 - 1.0;
    }
};

// Splits one CSV text into records of fields (RFC 4180: quoted fields may hold commas, quotes, CRLF).
std::vector<std::vector<std::string>> parseCsv(const std::string& text)
{
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            record.push_back(field);
            field.clear();
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            record.push_back(field);
            field.clear();
            records.push_back(record);
            record.clear();
            ++i;
        } else {
            field += c;
        }
    }
    if (!field.empty() || !record.empty()) {
        record.push_back(field);
        records.push_back(record);
    }
    return records;
}

SweepResult twoStrategySweep()
{
    SweepResult r;
    r.workload = { { "model", "synthetic tiny" }, { "repeat", 3 } };
    r.machine = { { "cores", 2 } };

    StrategySweep intra;
    intra.strategy = "intra-op";
    intra.prefill = handSamples();
    intra.decode = amdahlSamples(0.0, { 1, 2, 4 }, 2.0); // perfect scaling: s = 0, asymptote infinite
    intra.total = amdahlSamples(0.5, { 1, 2, 4 }, 12.0);
    intra.promptTokens = 100;
    intra.generatedTokens = 40;
    r.strategies.push_back(intra);

    StrategySweep odd;
    odd.strategy = "say \"hi\", twice"; // needs RFC 4180 quoting
    odd.prefill = { { 2, { 1.0 } }, { 4, { 0.5 } } }; // no p = 1 baseline
    odd.decode = { { 2, { 2.0 } }, { 4, { 1.0 } } };
    odd.total = { { 2, { 3.0 } }, { 4, { 1.5 } } };
    odd.promptTokens = 10;
    odd.generatedTokens = 10;
    r.strategies.push_back(odd);

    analyzeSweep(r);
    return r;
}

} // namespace

class TestSweepStats : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void speedupEfficiencyAndBarEndsMatchHandComputation_data()
    {
        QTest::addColumn<int>("threads");
        QTest::addColumn<double>("median");
        QTest::addColumn<double>("minimum");
        QTest::addColumn<double>("maximum");
        QTest::addColumn<double>("speedup");
        QTest::addColumn<double>("speedupLow");
        QTest::addColumn<double>("speedupHigh");
        QTest::addColumn<double>("efficiency");
        QTest::addColumn<double>("karpFlatt");
        // S = 10/T(p); bar ends 10/max, 10/min; E = S/p; e = (1/S − 1/p)/(1 − 1/p).
        QTest::newRow("p=1") << 1 << 10.0 << 9.0 << 12.0 << 1.0 << 10.0 / 12 << 10.0 / 9 << 1.0 << kNaN;
        // e(2) = (0.6 − 0.5)/0.5 = 0.2
        QTest::newRow("p=2") << 2 << 6.0 << 5.0 << 7.0 << 1.6666666666666667 << 10.0 / 7 << 2.0 << 0.8333333333333334
                             << 0.2;
        // e(4) = (0.4 − 0.25)/0.75 = 0.2
        QTest::newRow("p=4") << 4 << 4.0 << 3.8 << 4.4 << 2.5 << 10.0 / 4.4 << 10.0 / 3.8 << 0.625 << 0.2;
    }
    void speedupEfficiencyAndBarEndsMatchHandComputation()
    {
        QFETCH(int, threads);
        QFETCH(double, median);
        QFETCH(double, minimum);
        QFETCH(double, maximum);
        QFETCH(double, speedup);
        QFETCH(double, speedupLow);
        QFETCH(double, speedupHigh);
        QFETCH(double, efficiency);
        QFETCH(double, karpFlatt);

        const ScalingAnalysis a = analyzeScaling(handSamples());
        QVERIFY(a.valid);
        QCOMPARE(a.points.size(), size_t(3));
        QCOMPARE(a.points[0].threads, 1); // sorted by thread count
        QCOMPARE(a.points[2].threads, 4);
        const ScalingPoint* p = pointAt(a, threads);
        QVERIFY(p);
        COMPARE_NUM(p->medianSeconds, median, 1e-12);
        COMPARE_NUM(p->minSeconds, minimum, 1e-12);
        COMPARE_NUM(p->maxSeconds, maximum, 1e-12);
        COMPARE_NUM(p->speedup, speedup, 1e-12);
        COMPARE_NUM(p->speedupLow, speedupLow, 1e-12);
        COMPARE_NUM(p->speedupHigh, speedupHigh, 1e-12);
        COMPARE_NUM(p->efficiency, efficiency, 1e-12);
        COMPARE_NUM(p->karpFlatt, karpFlatt, 1e-12);
        QVERIFY(p->speedupLow <= p->speedup && p->speedup <= p->speedupHigh);
    }

    void handCaseFitsSerialFractionOfOneFifth()
    {
        // x = 1 − 1/p, y = 1/S − 1/p: (0.5, 0.1) and (0.75, 0.15); s = Σxy/Σx² = 0.1625/0.8125 = 0.2.
        const ScalingAnalysis a = analyzeScaling(handSamples());
        COMPARE_NUM(a.serialFraction, 0.2, 1e-12);
        COMPARE_NUM(a.asymptoticSpeedup, 5.0, 1e-9);
    }

    void karpFlattMatchesDefinition_data()
    {
        QTest::addColumn<double>("speedup");
        QTest::addColumn<double>("threads");
        QTest::addColumn<double>("expected");
        QTest::newRow("S=5/3 p=2") << 10.0 / 6 << 2.0 << 0.2;
        QTest::newRow("S=2.5 p=4") << 2.5 << 4.0 << 0.2;
        QTest::newRow("perfect S=p") << 8.0 << 8.0 << 0.0;
        QTest::newRow("no speedup S=1") << 1.0 << 2.0 << 1.0;
        QTest::newRow("superlinear S=4 p=2") << 4.0 << 2.0 << -0.5; // (0.25 − 0.5)/0.5
        QTest::newRow("p=1 undefined") << 1.0 << 1.0 << kNaN;
        QTest::newRow("p=1 slower undefined") << 0.9 << 1.0 << kNaN;
        QTest::newRow("p<1 undefined") << 1.0 << 0.5 << kNaN;
    }
    void karpFlattMatchesDefinition()
    {
        QFETCH(double, speedup);
        QFETCH(double, threads);
        QFETCH(double, expected);
        COMPARE_NUM(karpFlatt(speedup, threads), expected, 1e-12);
    }

    void amdahlSpeedupMatchesFormula_data()
    {
        QTest::addColumn<double>("serial");
        QTest::addColumn<double>("threads");
        QTest::addColumn<double>("expected");
        QTest::newRow("s=0.2 p=4") << 0.2 << 4.0 << 2.5; // 1/(0.2 + 0.8/4)
        QTest::newRow("s=0 p=8") << 0.0 << 8.0 << 8.0;
        QTest::newRow("s=1 p=8") << 1.0 << 8.0 << 1.0;
        QTest::newRow("s=0.5 p=1") << 0.5 << 1.0 << 1.0;
    }
    void amdahlSpeedupMatchesFormula()
    {
        QFETCH(double, serial);
        QFETCH(double, threads);
        QFETCH(double, expected);
        COMPARE_NUM(amdahlSpeedup(serial, threads), expected, 1e-12);
    }

    void amdahlFitRecoversKnownSerialFractionExactly_data()
    {
        QTest::addColumn<double>("serial");
        QTest::addColumn<std::vector<int>>("threads");
        const std::vector<std::vector<int>> lists = { { 1, 2 }, { 1, 2, 4 }, { 1, 2, 3, 4, 8, 16 }, { 4, 64, 1 } };
        for (double s : { 0.0, 0.05, 0.3, 1.0 })
            for (const auto& list : lists) {
                std::string name = "s=" + std::to_string(s) + " p=";
                for (int p : list)
                    name += std::to_string(p) + ",";
                QTest::newRow(name.c_str()) << s << list;
            }
    }
    void amdahlFitRecoversKnownSerialFractionExactly()
    {
        QFETCH(double, serial);
        QFETCH(std::vector<int>, threads);
        const ScalingAnalysis a = analyzeScaling(amdahlSamples(serial, threads));
        QVERIFY(a.valid);
        COMPARE_NUM(a.serialFraction, serial, 1e-12);
        COMPARE_NUM(a.asymptoticSpeedup, serial > 0 ? 1.0 / serial : kInf, 1e-9);
        for (const ScalingPoint& p : a.points) {
            // Exact Amdahl timings: every point's speedup is Amdahl's and its Karp–Flatt value is s itself.
            COMPARE_NUM(p.speedup, amdahlSpeedup(serial, p.threads), 1e-12);
            COMPARE_NUM(p.karpFlatt, p.threads == 1 ? kNaN : serial, 1e-12);
        }
    }

    void amdahlFitWithinOneHundredthUnderTwoPercentNoise_data()
    {
        QTest::addColumn<double>("serial");
        QTest::addColumn<quint64>("seed");
        QTest::addColumn<double>("tolerance");
        for (double s : { 0.0, 0.05, 0.3, 1.0 })
            for (quint64 seed : { 1ULL, 2ULL, 3ULL, 4ULL, 5ULL }) {
                // At s = 1, 1/S ≈ 1 at every p, so the median T(1)'s own error (up to ~1% here) passes straight
                // into every y = 1/S − 1/p and hence into s; no estimator can do better than that noise. For
                // s <= 0.3 the ±0.01 holds (checked offline over 200 seeds: worst 0.0096 at s = 0.3).
                const double tolerance = s < 1.0 ? 0.01 : 0.025;
                QTest::newRow(("s=" + std::to_string(s) + " seed " + std::to_string(seed)).c_str())
                    << s << seed << tolerance;
            }
    }
    void amdahlFitWithinOneHundredthUnderTwoPercentNoise()
    {
        QFETCH(double, serial);
        QFETCH(quint64, seed);
        QFETCH(double, tolerance);
        // Every repetition off by up to ±2%; medians of 7 repetitions over 8 thread counts.
        Lcg noise { seed };
        std::vector<TimingSamples> samples = amdahlSamples(serial, { 1, 2, 3, 4, 6, 8, 12, 16 }, 7.5, 7);
        double worst = 0.0;
        for (TimingSamples& s : samples)
            for (double& t : s.seconds) {
                const double e = 0.02 * noise.next();
                worst = std::max(worst, std::abs(e));
                t *= 1.0 + e;
            }
        QVERIFY(worst > 0.015); // the noise is really there
        const ScalingAnalysis a = analyzeScaling(samples);
        COMPARE_NUM(a.serialFraction, serial, tolerance);
        QVERIFY(a.serialFraction != serial);
    }

    void mediansOfOddAndEvenCounts_data()
    {
        QTest::addColumn<std::vector<double>>("seconds");
        QTest::addColumn<double>("median");
        QTest::addColumn<double>("minimum");
        QTest::addColumn<double>("maximum");
        QTest::newRow("one") << std::vector<double> { 3.0 } << 3.0 << 3.0 << 3.0;
        QTest::newRow("odd, unsorted") << std::vector<double> { 5.0, 1.0, 3.0 } << 3.0 << 1.0 << 5.0;
        QTest::newRow("even: mean of middle two") << std::vector<double> { 4.0, 1.0, 3.0, 2.0 } << 2.5 << 1.0 << 4.0;
        QTest::newRow("even, outlier ignored") << std::vector<double> { 2.0, 100.0, 1.0, 2.0 } << 2.0 << 1.0 << 100.0;
    }
    void mediansOfOddAndEvenCounts()
    {
        QFETCH(std::vector<double>, seconds);
        QFETCH(double, median);
        QFETCH(double, minimum);
        QFETCH(double, maximum);
        const ScalingAnalysis a = analyzeScaling({ { 1, seconds } });
        QCOMPARE(a.points.size(), size_t(1));
        QCOMPARE(a.points[0].repetitions, int(seconds.size()));
        COMPARE_NUM(a.points[0].medianSeconds, median, 0.0);
        COMPARE_NUM(a.points[0].minSeconds, minimum, 0.0);
        COMPARE_NUM(a.points[0].maxSeconds, maximum, 0.0);
    }

    void repeatedThreadCountsArePooled()
    {
        // {4, 1} and {3, 2} at p = 2 are one set of four: median 2.5; empty entries are skipped.
        const ScalingAnalysis a
            = analyzeScaling({ { 1, { 10.0 } }, { 2, { 4.0, 1.0 } }, { 2, { 3.0, 2.0 } }, { 8, {} } });
        QCOMPARE(a.points.size(), size_t(2));
        QCOMPARE(a.points[1].repetitions, 4);
        COMPARE_NUM(a.points[1].medianSeconds, 2.5, 0.0);
        COMPARE_NUM(a.points[1].speedup, 4.0, 1e-12);
    }

    void missingBaselineIsInvalid_data()
    {
        QTest::addColumn<std::vector<TimingSamples>>("samples");
        QTest::addColumn<int>("points");
        QTest::newRow("p=2,4 only") << std::vector<TimingSamples> { { 2, { 6.0 } }, { 4, { 4.0 } } } << 2;
        QTest::newRow("nothing") << std::vector<TimingSamples> {} << 0;
        QTest::newRow("p=1 without samples") << std::vector<TimingSamples> { { 1, {} }, { 2, { 1.0 } } } << 1;
    }
    void missingBaselineIsInvalid()
    {
        QFETCH(std::vector<TimingSamples>, samples);
        QFETCH(int, points);
        const ScalingAnalysis a = analyzeScaling(samples);
        QVERIFY(!a.valid);
        QCOMPARE(int(a.points.size()), points);
        QVERIFY(std::isnan(a.serialFraction));
        for (const ScalingPoint& p : a.points) {
            QVERIFY(p.medianSeconds > 0); // times are still reported
            QVERIFY(std::isnan(p.speedup));
            QVERIFY(std::isnan(p.efficiency));
            QVERIFY(std::isnan(p.karpFlatt));
        }
    }

    void fitIgnoresBaselineAndIsZeroWithoutPoints()
    {
        COMPARE_NUM(fitAmdahlSerialFraction({}), 0.0, 0.0);
        COMPARE_NUM(fitAmdahlSerialFraction({ { 1.0, 1.0 } }), 0.0, 0.0);
        // Only p = 4 counts: (1/2 − 1/4)/(3/4) = 1/3, whatever the p = 1 entry says.
        COMPARE_NUM(fitAmdahlSerialFraction({ { 1.0, 0.5 }, { 4.0, 2.0 } }), 1.0 / 3, 1e-12);
    }

    void gustafsonScaledSpeedupHandCase_data()
    {
        QTest::addColumn<double>("t1");
        QTest::addColumn<double>("tp");
        QTest::addColumn<double>("threads");
        QTest::addColumn<double>("expected");
        QTest::newRow("4 units in 12 s vs 1 in 10 s") << 10.0 << 12.0 << 4.0 << 4.0 * 10 / 12; // 3.3333
        QTest::newRow("perfect weak scaling") << 3.0 << 3.0 << 8.0 << 8.0;
        QTest::newRow("fully serial") << 2.0 << 4.0 << 2.0 << 1.0;
    }
    void gustafsonScaledSpeedupHandCase()
    {
        QFETCH(double, t1);
        QFETCH(double, tp);
        QFETCH(double, threads);
        QFETCH(double, expected);
        COMPARE_NUM(gustafsonScaledSpeedup(t1, tp, threads), expected, 1e-12);
    }

    void jsonHoldsPerPhaseFiguresWithNullsNotNaN()
    {
        const SweepResult r = twoStrategySweep();
        const nlohmann::json j = sweepToJson(r);
        QCOMPARE(j["workload"]["model"].get<std::string>(), std::string("synthetic tiny"));
        QCOMPARE(j["strategies"].size(), size_t(2));

        const auto& intra = j["strategies"][0];
        QCOMPARE(intra["strategy"].get<std::string>(), std::string("intra-op"));
        const auto& prefill = intra["phases"]["prefill"];
        QVERIFY(prefill["valid"].get<bool>());
        COMPARE_NUM(prefill["serialFraction"].get<double>(), 0.2, 1e-12);
        COMPARE_NUM(prefill["asymptoticSpeedup"].get<double>(), 5.0, 1e-9);
        QCOMPARE(prefill["points"].size(), size_t(3));
        const auto& p1 = prefill["points"][0];
        QVERIFY(p1["karpFlatt"].is_null()); // NaN at p = 1
        const auto& p2 = prefill["points"][1];
        QCOMPARE(p2["threads"].get<int>(), 2);
        QCOMPARE(p2["samples"].size(), size_t(4));
        COMPARE_NUM(p2["medianSeconds"].get<double>(), 6.0, 1e-12);
        COMPARE_NUM(p2["minSeconds"].get<double>(), 5.0, 1e-12);
        COMPARE_NUM(p2["maxSeconds"].get<double>(), 7.0, 1e-12);
        COMPARE_NUM(p2["speedup"].get<double>(), 10.0 / 6, 1e-12);
        COMPARE_NUM(p2["efficiency"].get<double>(), 10.0 / 12, 1e-12);
        COMPARE_NUM(p2["karpFlatt"].get<double>(), 0.2, 1e-12);
        COMPARE_NUM(p2["tokensPerSecond"].get<double>(), 100.0 / 6, 1e-12); // prompt tokens ÷ median
        QVERIFY(!p2.contains("scaledSpeedup"));
        QVERIFY(!p2.contains("scaledEfficiency"));
        QVERIFY(p2.contains("inFit"));

        // Decode scales perfectly: s = 0, so the asymptote is infinite and must be null.
        const auto& decode = intra["phases"]["decode"];
        COMPARE_NUM(decode["serialFraction"].get<double>(), 0.0, 1e-12);
        QVERIFY(decode["asymptoticSpeedup"].is_null());
        COMPARE_NUM(decode["points"][2]["speedup"].get<double>(), 4.0, 1e-12);
        COMPARE_NUM(decode["points"][0]["tokensPerSecond"].get<double>(), 40.0 / 2.0, 1e-12);
        // Total: s = 0.5, and its tokens are prompt + generated.
        const auto& total = intra["phases"]["total"];
        COMPARE_NUM(total["serialFraction"].get<double>(), 0.5, 1e-12);
        COMPARE_NUM(total["points"][0]["tokensPerSecond"].get<double>(), 140.0 / 12.0, 1e-12);

        // No baseline: speedups and the fit are null, times are numbers.
        const auto& odd = j["strategies"][1]["phases"]["decode"];
        QVERIFY(!odd["valid"].get<bool>());
        QVERIFY(odd["serialFraction"].is_null());
        QVERIFY(odd["points"][0]["speedup"].is_null());
        COMPARE_NUM(odd["points"][0]["medianSeconds"].get<double>(), 2.0, 0.0);

        // The text is valid JSON without NaN/Infinity tokens and parses back to the same document.
        const std::string text = j.dump();
        QVERIFY(text.find("NaN") == std::string::npos && text.find("nan") == std::string::npos);
        QVERIFY(text.find("Infinity") == std::string::npos && text.find("inf") == std::string::npos);
        const nlohmann::json back = nlohmann::json::parse(text);
        QCOMPARE(back["strategies"][0]["phases"]["prefill"]["points"][1]["karpFlatt"].get<double>(), 0.2);
        QVERIFY(back["strategies"][1]["phases"]["prefill"]["points"][0]["karpFlatt"].is_null());
        QCOMPARE(back.dump(), text);
    }

    // Scaled work (p prompts on p threads): T(1)/T(p) compares different amounts of work, so the export
    // has no speedup, Karp–Flatt or Amdahl fields at all, and has Gustafson's scaled speedup p · T(1)/T(p)
    // and the scaled efficiency S(p)/p, checked here against the exported medians.
    void jsonReportsGustafsonForScaledWork()
    {
        SweepResult r;
        StrategySweep s;
        s.strategy = "request";
        s.scaledWork = true;
        s.promptTokens = 10;
        s.generatedTokens = 20;
        s.decode = { { 1, { 10.0, 11.0, 9.0 } }, { 2, { 10.0 } }, { 4, { 12.0, 13.0 } } };
        s.prefill = { { 1, { 2.0 } }, { 2, { 3.0 } } };
        s.total = s.decode;
        r.strategies.push_back(s);
        analyzeSweep(r);
        const nlohmann::json j = sweepToJson(r);
        QVERIFY(j["strategies"][0]["scaledWork"].get<bool>());
        for (const char* phase : { "prefill", "decode", "total" }) {
            const auto& view = j["strategies"][0]["phases"][phase];
            for (const char* key : { "serialFraction", "asymptoticSpeedup", "fitThreads", "fitThreadLimit" })
                QVERIFY2(!view.contains(key), key);
            const double t1 = view["points"][0]["medianSeconds"].get<double>();
            QCOMPARE(view["points"][0]["threads"].get<int>(), 1);
            for (const auto& point : view["points"]) {
                for (const char* key : { "speedup", "speedupLow", "speedupHigh", "efficiency", "karpFlatt", "inFit" })
                    QVERIFY2(!point.contains(key), key);
                const double p = point["threads"].get<double>();
                const double expected = p * t1 / point["medianSeconds"].get<double>();
                COMPARE_NUM(point["scaledSpeedup"].get<double>(), expected, 1e-12);
                COMPARE_NUM(point["scaledEfficiency"].get<double>(), expected / p, 1e-12);
            }
        }
        const auto& points = j["strategies"][0]["phases"]["decode"]["points"];
        COMPARE_NUM(points[1]["scaledSpeedup"].get<double>(), 2.0, 1e-12); // 2 · 10/10
        COMPARE_NUM(points[2]["scaledSpeedup"].get<double>(), 4.0 * 10 / 12.5, 1e-12);
        COMPARE_NUM(points[2]["scaledEfficiency"].get<double>(), 10 / 12.5, 1e-12);
        // p = 4 threads generate 4 × 20 tokens in 12.5 s (the median).
        COMPARE_NUM(points[2]["tokens"].get<double>(), 80.0, 0.0);
        COMPARE_NUM(points[2]["tokensPerSecond"].get<double>(), 80.0 / 12.5, 1e-12);
        // The analysis itself has no fit and no Karp–Flatt for scaled work.
        QVERIFY(std::isnan(r.strategies[0].decodeScaling.serialFraction));
        QVERIFY(r.strategies[0].decodeScaling.fitThreads.empty());
        QVERIFY(std::isnan(r.strategies[0].decodeScaling.points[1].karpFlatt));

        // CSV: the same values; the speedup, Karp–Flatt and fit columns are empty.
        const auto records = parseCsv(sweepToCsv(r));
        auto column = [&](const char* name) {
            const size_t c = size_t(std::find(records[0].begin(), records[0].end(), name) - records[0].begin());
            if (c >= records[0].size())
                qFatal("no column %s", name);
            return c;
        };
        QCOMPARE(records.size(), size_t(1 + 2 + 3 + 3));
        std::map<std::string, double> t1;
        for (size_t i = 1; i < records.size(); ++i) {
            const auto& rec = records[i];
            for (const char* key : { "speedup", "speedup_low", "speedup_high", "efficiency", "karp_flatt",
                     "serial_fraction", "asymptotic_speedup", "in_fit" })
                QVERIFY2(rec[column(key)].empty(), key);
            const double p = std::stod(rec[column("threads")]);
            const double median = std::stod(rec[column("median_s")]);
            if (p == 1)
                t1[rec[column("phase")]] = median;
            const double expected = p * t1.at(rec[column("phase")]) / median;
            COMPARE_NUM(std::stod(rec[column("scaled_speedup")]), expected, 1e-12);
            COMPARE_NUM(std::stod(rec[column("scaled_efficiency")]), expected / p, 1e-12);
        }
    }

    void csvHasOneQuotedRowPerStrategyPhaseAndThreadCount()
    {
        const SweepResult r = twoStrategySweep();
        const std::string csv = sweepToCsv(r);
        QVERIFY(csv.rfind(std::string(kSweepCsvHeader) + "\r\n", 0) == 0);
        QVERIFY(csv.find("\"say \"\"hi\"\", twice\"") != std::string::npos); // RFC 4180 quoting

        const auto records = parseCsv(csv);
        // Header + 3 phases × 3 thread counts + 3 phases × 2 thread counts.
        QCOMPARE(records.size(), size_t(1 + 9 + 6));
        const size_t columns = records[0].size();
        QCOMPARE(columns, size_t(19));
        for (const auto& rec : records)
            QCOMPARE(rec.size(), columns);

        auto column = [&](const char* name) {
            return size_t(std::find(records[0].begin(), records[0].end(), name) - records[0].begin());
        };
        // First data row: intra-op prefill at p = 1 — Karp–Flatt empty, speedup 1.
        const auto& first = records[1];
        QCOMPARE(first[column("strategy")], std::string("intra-op"));
        QCOMPARE(first[column("phase")], std::string("prefill"));
        QCOMPARE(first[column("threads")], std::string("1"));
        QCOMPARE(first[column("karp_flatt")], std::string());
        QCOMPARE(std::stod(first[column("speedup")]), 1.0);
        QCOMPARE(std::stod(records[2][column("karp_flatt")]), 0.2);
        QCOMPARE(std::stod(records[2][column("median_s")]), 6.0);
        QCOMPARE(std::stod(records[2][column("serial_fraction")]), 0.2);
        QCOMPARE(records[2][column("in_fit")], std::string("1"));
        QCOMPARE(records[2][column("scaled_speedup")], std::string()); // fixed work: no scaled figures
        QCOMPARE(records[2][column("scaled_efficiency")], std::string());
        // The quoted name reads back intact; its speedup (no baseline) is empty.
        const auto& odd = records[10];
        QCOMPARE(odd[column("strategy")], std::string("say \"hi\", twice"));
        QCOMPARE(odd[column("speedup")], std::string());
        QCOMPARE(odd[column("median_s")], std::string("1"));
    }

    void csvQuotesLineBreaks()
    {
        SweepResult r;
        StrategySweep s;
        s.strategy = "two\r\nlines";
        s.prefill = { { 1, { 1.0 } } };
        r.strategies.push_back(s);
        analyzeSweep(r);
        const auto records = parseCsv(sweepToCsv(r));
        QCOMPARE(records.size(), size_t(2)); // header + prefill p = 1; decode and total have no points
        QCOMPARE(records[1][0], std::string("two\r\nlines"));
    }

    // Amdahl's law models threads with a core each: on 2 cores the p = 4 point is time-sharing and must not pull
    // the fit. T(1) = 10, T(2) = 6, T(4) = 5 s (one sample each, so medians are the values).
    //   Fitted to p = 2 only: s = (1/S − 1/2)/(1 − 1/2) = (0.6 − 0.5)/0.5 = 0.2, 1/s = 5.
    //   Fitted to p = 2 and 4 (x, y) = (0.5, 0.1), (0.75, 0.5 − 0.25 = 0.25): s = (0.05 + 0.1875)/(0.25 + 0.5625)
    //   = 0.2375/0.8125 = 19/65.
    void fitUsesOnlyThreadCountsUpToTheCores()
    {
        const std::vector<TimingSamples> samples { { 1, { 10.0 } }, { 2, { 6.0 } }, { 4, { 5.0 } } };
        const ScalingAnalysis limited = analyzeScaling(samples, 2);
        COMPARE_NUM(limited.serialFraction, 0.2, 1e-12);
        COMPARE_NUM(limited.asymptoticSpeedup, 5.0, 1e-9);
        QCOMPARE(limited.fitThreadLimit, 2);
        QCOMPARE(limited.fitThreads, std::vector<int>({ 1, 2 }));
        QCOMPARE(limited.fitPoints(), 2);
        QVERIFY(limited.fitExact()); // one point besides p = 1 decides s: the curve passes through it
        // The oversubscribed point is still measured, with its speedup and Karp–Flatt.
        QCOMPARE(limited.points.size(), size_t(3));
        COMPARE_NUM(limited.points[2].speedup, 2.0, 1e-12);
        COMPARE_NUM(limited.points[2].karpFlatt, (0.5 - 0.25) / 0.75, 1e-12);

        const ScalingAnalysis all = analyzeScaling(samples); // no limit: every p
        COMPARE_NUM(all.serialFraction, 19.0 / 65.0, 1e-12);
        QCOMPARE(all.fitThreadLimit, 0);
        QCOMPARE(all.fitThreads, std::vector<int>({ 1, 2, 4 }));
        QCOMPARE(all.fitPoints(), 3);
        QVERIFY(!all.fitExact());
    }

    void analyzeSweepLimitsTheFitToTheRecordedLogicalCores()
    {
        SweepResult r;
        r.machine = { { "cpu", "test" }, { "logical_cores", 2 } };
        StrategySweep s;
        s.strategy = "intra-op";
        s.prefill = { { 1, { 10.0 } }, { 2, { 6.0 } }, { 4, { 5.0 } } };
        s.decode = s.prefill;
        s.total = s.prefill;
        r.strategies.push_back(s);
        analyzeSweep(r);
        for (const ScalingAnalysis* a :
            { &r.strategies[0].prefillScaling, &r.strategies[0].decodeScaling, &r.strategies[0].totalScaling }) {
            COMPARE_NUM(a->serialFraction, 0.2, 1e-12);
            QCOMPARE(a->fitThreads, std::vector<int>({ 1, 2 }));
            QCOMPARE(a->fitThreadLimit, 2);
        }
        // The export says what was fitted.
        const nlohmann::json j = sweepToJson(r);
        const auto& decode = j["strategies"][0]["phases"]["decode"];
        QCOMPARE(decode["fitThreadLimit"].get<int>(), 2);
        QCOMPARE(decode["fitThreads"].get<std::vector<int>>(), std::vector<int>({ 1, 2 }));
        QCOMPARE(decode["points"].size(), size_t(3)); // p = 4 still exported, marked as not fitted
        QVERIFY(decode["points"][1]["inFit"].get<bool>());
        QVERIFY(!decode["points"][2]["inFit"].get<bool>());
        const auto records = parseCsv(sweepToCsv(r));
        const size_t inFit = size_t(std::find(records[0].begin(), records[0].end(), "in_fit") - records[0].begin());
        QCOMPARE(records[2][2], std::string("2"));
        QCOMPARE(records[2][inFit], std::string("1"));
        QCOMPARE(records[3][2], std::string("4"));
        QCOMPARE(records[3][inFit], std::string("0"));

        // Without a core count in the machine record every p is fitted, as before.
        r.machine = nlohmann::json::object();
        analyzeSweep(r);
        COMPARE_NUM(r.strategies[0].decodeScaling.serialFraction, 19.0 / 65.0, 1e-12);
        QVERIFY(sweepToJson(r)["strategies"][0]["phases"]["decode"]["fitThreadLimit"].is_null());
    }

    void noFitWhenNoThreadCountBetweenOneAndTheCores()
    {
        // p = 1 and 4 on 2 cores: nothing to fit, so no serial fraction and no limit are claimed.
        const ScalingAnalysis a = analyzeScaling({ { 1, { 10.0 } }, { 4, { 5.0 } } }, 2);
        QVERIFY(a.valid);
        QVERIFY(std::isnan(a.serialFraction));
        QVERIFY(std::isnan(a.asymptoticSpeedup));
        QCOMPARE(a.fitThreads, std::vector<int>({ 1 }));
        QCOMPARE(a.fitPoints(), 1);
        COMPARE_NUM(a.points[1].speedup, 2.0, 1e-12);
    }
};

QTEST_APPLESS_MAIN(TestSweepStats)
#include "test_scaling.moc"
