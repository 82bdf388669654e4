// Sweep exports: a sweep's scaling analysis as JSON and as CSV, for plots and spreadsheets.
#pragma once

#include "engine/measure/scaling.h"

#include <nlohmann/json.hpp>

#include <string>

namespace engine {

// JSON: per strategy and thread count the median/min/max times and the derived speedup,
// efficiency and Karp–Flatt values for prefill and decode separately, and the fitted serial
// fraction; for scaled-work strategies the scaled speedup and efficiency instead. CSV: one row per
// (strategy, phase, threads).
// Both use the *Scaling fields as they are: call analyzeSweep first. Layout of the JSON:
//   { "workload": {...}, "machine": {...}, "backgroundLoad": {...} (toJson(BackgroundLoad)),
//     "strategies": [ { "strategy", "promptTokens", "generatedTokens", "scaledWork",
//                       "backgroundLoad": [ { "threads", ...toJson(BackgroundLoad) } ],
//                       "prediction": null, or (a model, not a measurement: prediction.h) { "fromThreads", "target",
//                           "points": [ { "threads", "prefillMs", "decodeMs", "prefillTokensPerSecond",
//                                         "decodeTokensPerSecond", "prefillSpeedup", "decodeSpeedup", "beyondCores" } ]
//                                         },
//                       "phases": { "prefill"|"decode"|"total": {
//                           "valid", "tokens",
//                           "fitThreadLimit" (null: none), "fitThreads" (p = 1 included),
//                           "serialFraction", "asymptoticSpeedup",                  <- fixed work only
//                           "points": [ { "threads", "repetitions", "samples": [s...], "medianSeconds",
//                                         "minSeconds", "maxSeconds", "tokens", "tokensPerSecond",
//                                         "inFit", "speedup", "speedupLow", "speedupHigh",
//                                         "efficiency", "karpFlatt",                 <- fixed work only
//                                         "scaledSpeedup", "scaledEfficiency",       <- scaled work only
//                                         "traceSerialFraction"  <- when traced: the serial fraction measured from one
//                                                                   traced run at this p (analysis.h), beside the fit's
//                                       } ] } } } ] }
// Scaled work ("scaledWork": true, p copies of the workload at p threads): T(1)/T(p) compares different
// amounts of work, so the speedup, Karp–Flatt and Amdahl fields are absent, not null; "scaledSpeedup" is
// Gustafson's p · T(1)/T(p) and "scaledEfficiency" that divided by p, from the median times.
// Phase tokens: prefill = promptTokens, decode = generatedTokens, total = both. NaN and ±inf (no baseline,
// Karp–Flatt at p = 1, the asymptote of a zero serial fraction) become null, which JSON can carry.
// CSV columns (see kSweepCsvHeader; in_fit is 1 for rows the Amdahl fit used); non-finite numbers are empty fields;
// rows of scaled-work strategies leave the speedup, efficiency, Karp–Flatt, fit and in_fit fields empty and fill
// scaled_speedup and scaled_efficiency, which fixed-work rows leave empty;
// lines end in CRLF and fields that hold a comma, quote or line break are quoted with inner quotes doubled (RFC 4180).
nlohmann::json sweepToJson(const SweepResult& result);
std::string sweepToCsv(const SweepResult& result);
extern const char* const kSweepCsvHeader;

// CSV pieces every export uses: a number as the shortest text that reads back to it (empty if not finite), and a
// text field quoted as RFC 4180 asks when it holds a comma, a quote or a line break.
std::string csvNumber(double value);
std::string csvField(const std::string& text);

// A JSON number, or null if the value is NaN or infinite.
nlohmann::json jsonNumber(double value);

} // namespace engine
