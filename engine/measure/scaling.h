// Scaling analysis of a sweep over thread counts: speedup, efficiency, Karp–Flatt, Amdahl and Gustafson.
#pragma once

#include "engine/measure/machine.h"
#include "engine/measure/prediction.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

namespace engine {

// Repeated measurements (seconds) of one workload at one thread count.
struct TimingSamples {
    int threads = 1;
    std::vector<double> seconds; // one per repetition (warm-up excluded)
};

struct ScalingPoint {
    int threads = 1;
    double medianSeconds = 0, minSeconds = 0, maxSeconds = 0;
    double speedup = 0; // S(p) = T(1)/T(p), medians
    double speedupLow = 0; // T(1)/max T(p): the pessimistic end of the min–max bar
    double speedupHigh = 0; // T(1)/min T(p)
    double efficiency = 0; // S(p)/p
    double karpFlatt = 0; // e(p) = (1/S − 1/p)/(1 − 1/p); NaN at p = 1
    int repetitions = 0; // how many samples the median/min/max were taken over
    // Without a p = 1 baseline (ScalingAnalysis::valid == false) the speedup, efficiency and Karp–Flatt
    // fields are NaN: there is nothing to divide by.
    // Scaled work only (analyzeSweep of a StrategySweep with scaledWork; NaN otherwise): Gustafson's
    // scaled speedup p · T(1)/T(p) (gustafsonScaledSpeedup) and scaled efficiency S(p)/p = T(1)/T(p).
    // With scaled work T(1)/T(p) compares different amounts of work: `speedup` is then not a speedup,
    // analyzeSweep sets karpFlatt to NaN, and reports, exports and views show only these two.
    double scaledSpeedup = std::numeric_limits<double>::quiet_NaN();
    double scaledEfficiency = std::numeric_limits<double>::quiet_NaN();
};

struct ScalingAnalysis {
    std::vector<ScalingPoint> points; // sorted by thread count; the p = 1 point is the baseline
    // Least-squares Amdahl s: fit (1/S − 1/p) = s (1 − 1/p) through the origin, over fitThreads only. NaN when
    // no point besides the baseline could be fitted.
    double serialFraction = 0;
    double asymptoticSpeedup = 0; // 1/s (infinity if s <= 0)
    bool valid = false; // false if there is no p = 1 baseline
    // Amdahl's law models threads that each have a core: points above the machine's logical cores measure
    // time-sharing and are measured and drawn but not fitted. 0 = no limit was given.
    int fitThreadLimit = 0;
    // The thread counts the fit used, ascending, with p = 1 (S(1) = 1 by definition, the curve's anchor).
    std::vector<int> fitThreads;
    int fitPoints() const { return int(fitThreads.size()); }
    // One point besides the baseline: s solves it exactly, so the curve passes through it and proves nothing.
    bool fitExact() const { return fitThreads.size() == 2; }
};

// Amdahl's law: S(p) = 1 / (s + (1 − s)/p).
double amdahlSpeedup(double serialFraction, double threads);
// Karp–Flatt experimentally determined serial fraction; NaN for p <= 1.
double karpFlatt(double speedup, double threads);
// Least-squares serial fraction through the origin over (p, S(p)) pairs with p > 1; 0 if none.
double fitAmdahlSerialFraction(const std::vector<std::pair<double, double>>& threadsAndSpeedup);
// Scaled (Gustafson) speedup when the work grows with p: p · T(1) / T(p), where T(p) is the time
// for p units of work on p threads.
double gustafsonScaledSpeedup(double t1, double tp, double threads);

// Medians, min–max, speedups and the fit; needs a p = 1 entry for `valid`. Entries with the same thread count
// are pooled; entries without samples are skipped. The fit uses only p <= fitThreadLimit (0: every p).
ScalingAnalysis analyzeScaling(const std::vector<TimingSamples>& samples, int fitThreadLimit = 0);

// One strategy's sweep: per thread count, prefill, decode and total times, plus token counts.
struct StrategySweep {
    std::string strategy;
    std::vector<TimingSamples> prefill;
    std::vector<TimingSamples> decode;
    std::vector<TimingSamples> total;
    // Token counts summed over sequences, used for tokens/s (tokens ÷ median time). With scaledWork they are the
    // p = 1 workload's counts and the exports multiply them by p.
    int promptTokens = 0;
    int generatedTokens = 0;
    bool scaledWork = false; // request-parallel sweeps where prompts grow with p (Gustafson)
    // The serial fraction measured from the trace of one extra traced run per thread count (analysis.h), per
    // phase: the figure Amdahl's fit estimates from the timings, measured directly. Empty when not traced.
    struct PointTrace {
        int threads = 1;
        double prefill = 0;
        double decode = 0;
        double total = 0;
    };
    std::vector<PointTrace> traced;
    // Scaling predicted past the measured thread counts (prediction.h), from the traced run at the largest measured
    // p within the machine's cores; intra-op sweeps asked to predict only (SweepRequest::predictWith).
    ScalingPrediction prediction;
    // Other processes' CPU use while each thread count ran (warm-up included), in sweep order.
    struct PointLoad {
        int threads = 1;
        BackgroundLoad load;
    };
    std::vector<PointLoad> backgroundLoads;
    ScalingAnalysis prefillScaling, decodeScaling, totalScaling;
};

struct SweepResult {
    nlohmann::json workload; // model, prompts, tokens, sampling, repeat (free-form, copied to exports)
    nlohmann::json machine; // machineDescription(): "logical_cores" limits the Amdahl fit
    std::vector<StrategySweep> strategies;
    BackgroundLoad backgroundLoad; // other processes' CPU use while the sweep ran
};

// Fills the *Scaling fields of every strategy from its samples, fitting Amdahl only to p <= the machine's
// "logical_cores" (every p when the machine record has none). For scaledWork strategies Amdahl's law and
// Karp–Flatt (fixed work) do not apply: the points get scaledSpeedup and scaledEfficiency, karpFlatt is
// NaN, and there is no fit (serialFraction and asymptoticSpeedup NaN, fitThreads empty).
void analyzeSweep(SweepResult& result);

} // namespace engine
