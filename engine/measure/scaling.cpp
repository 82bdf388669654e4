#include "engine/measure/scaling.h"

#include "engine/measure/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace engine {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

} // namespace

double amdahlSpeedup(double serialFraction, double threads)
{
    // Amdahl (1967): the serial part s does not shrink with p, the rest (1 − s) divides by p.
    return 1.0 / (serialFraction + (1.0 - serialFraction) / threads);
}

double karpFlatt(double speedup, double threads)
{
    // Karp & Flatt (1990), "Measuring parallel processor performance", CACM 33(5): Amdahl's law solved for s
    // from one measured S(p). Undefined at p = 1, where both numerator and denominator vanish.
    if (!(threads > 1.0))
        return kNaN;
    return (1.0 / speedup - 1.0 / threads) / (1.0 - 1.0 / threads);
}

double fitAmdahlSerialFraction(const std::vector<std::pair<double, double>>& threadsAndSpeedup)
{
    // Amdahl rearranged is linear in s: 1/S − 1/p = s (1 − 1/p). With x = 1 − 1/p and y = 1/S − 1/p, the
    // least-squares line through the origin minimises Σ(y − s x)², so s = Σxy / Σx². Unlike averaging the
    // Karp–Flatt values this weights large p (x near 1) most, where s decides the speedup.
    double sxy = 0.0, sxx = 0.0;
    for (const auto& [p, speedup] : threadsAndSpeedup) {
        if (!(p > 1.0) || !std::isfinite(speedup) || !(speedup > 0.0))
            continue;
        const double x = 1.0 - 1.0 / p;
        const double y = 1.0 / speedup - 1.0 / p;
        sxy += x * y;
        sxx += x * x;
    }
    return sxx > 0.0 ? sxy / sxx : 0.0;
}

double gustafsonScaledSpeedup(double t1, double tp, double threads)
{
    // Gustafson (1988), "Reevaluating Amdahl's law": with p units of work on p threads taking tp, one thread
    // would need p · t1 for the same work, so the scaled speedup is p · t1 / tp (p when the work scales perfectly).
    return threads * t1 / tp;
}

ScalingAnalysis analyzeScaling(const std::vector<TimingSamples>& samples, int fitThreadLimit)
{
    // Pool repetitions per thread count; the map also sorts by p.
    std::map<int, std::vector<double>> byThreads;
    for (const TimingSamples& s : samples) {
        if (s.seconds.empty())
            continue;
        auto& pooled = byThreads[s.threads];
        pooled.insert(pooled.end(), s.seconds.begin(), s.seconds.end());
    }

    ScalingAnalysis analysis;
    analysis.fitThreadLimit = std::max(0, fitThreadLimit);
    for (const auto& [threads, seconds] : byThreads) {
        ScalingPoint point;
        point.threads = threads;
        point.repetitions = int(seconds.size());
        point.medianSeconds = median(seconds);
        const auto [lo, hi] = std::minmax_element(seconds.begin(), seconds.end());
        point.minSeconds = *lo;
        point.maxSeconds = *hi;
        analysis.points.push_back(point);
    }

    const auto baseline = byThreads.find(1);
    analysis.valid = baseline != byThreads.end();
    const double t1 = analysis.valid ? median(baseline->second) : kNaN;

    std::vector<std::pair<double, double>> fitInput;
    for (ScalingPoint& point : analysis.points) {
        const double p = point.threads;
        // Speedup from medians (robust to the odd slow run); the bar ends divide the same T(1) by the slowest
        // and the fastest T(p), so they show the spread of T(p) alone.
        point.speedup = t1 / point.medianSeconds;
        point.speedupLow = t1 / point.maxSeconds;
        point.speedupHigh = t1 / point.minSeconds;
        point.efficiency = point.speedup / p;
        point.karpFlatt = karpFlatt(point.speedup, p);
        // Oversubscribed points (more threads than cores) stay measured but would drag s up with time-sharing
        // that Amdahl's law does not model.
        const bool withinCores = analysis.fitThreadLimit == 0 || point.threads <= analysis.fitThreadLimit;
        if (analysis.valid && withinCores && std::isfinite(point.speedup) && point.speedup > 0.0) {
            fitInput.emplace_back(p, point.speedup);
            analysis.fitThreads.push_back(point.threads); // p = 1 included: it anchors the curve at S = 1
        }
    }

    if (analysis.valid && analysis.fitPoints() < 2) {
        // Only the baseline is fittable: there is no fit, and no limit to claim.
        analysis.serialFraction = kNaN;
        analysis.asymptoticSpeedup = kNaN;
    } else if (analysis.valid) {
        analysis.serialFraction = fitAmdahlSerialFraction(fitInput);
        // Amdahl's bound as p → ∞ is 1/s; none if the fit finds no serial part (or superlinear scaling).
        analysis.asymptoticSpeedup = analysis.serialFraction > 0.0 ? 1.0 / analysis.serialFraction : kInf;
    } else {
        analysis.serialFraction = kNaN;
        analysis.asymptoticSpeedup = kNaN;
    }
    return analysis;
}

namespace {

// Work that grows with p: Gustafson's scaled speedup and efficiency; no Amdahl fit, no Karp–Flatt.
void toScaledWork(ScalingAnalysis& a)
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    double t1 = nan;
    for (const ScalingPoint& p : a.points)
        if (p.threads == 1)
            t1 = p.medianSeconds;
    for (ScalingPoint& p : a.points) {
        p.scaledSpeedup = gustafsonScaledSpeedup(t1, p.medianSeconds, p.threads);
        p.scaledEfficiency = p.scaledSpeedup / p.threads;
        p.karpFlatt = nan;
    }
    a.serialFraction = nan;
    a.asymptoticSpeedup = nan;
    a.fitThreads.clear();
}

} // namespace

void analyzeSweep(SweepResult& result)
{
    int cores = 0;
    if (result.machine.is_object() && result.machine.contains("logical_cores")
        && result.machine["logical_cores"].is_number_integer())
        cores = std::max(0, result.machine["logical_cores"].get<int>());
    for (StrategySweep& strategy : result.strategies) {
        strategy.prefillScaling = analyzeScaling(strategy.prefill, cores);
        strategy.decodeScaling = analyzeScaling(strategy.decode, cores);
        strategy.totalScaling = analyzeScaling(strategy.total, cores);
        if (strategy.scaledWork)
            for (ScalingAnalysis* a : { &strategy.prefillScaling, &strategy.decodeScaling, &strategy.totalScaling })
                toScaledWork(*a);
    }
}

} // namespace engine
