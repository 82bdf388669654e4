// Sweep exports: a sweep's scaling analysis as JSON and as CSV, for plots and spreadsheets.
#pragma once

#include "engine/measure/scaling.h"

#include <nlohmann/json.hpp>

#include <string>

namespace engine {

// JSON: per strategy and thread count the median/min/max times and the derived speedup,
// efficiency and Karp–Flatt values for prefill and decode separately, and the fitted serial
// fraction. CSV: one row per (strategy, phase, threads).
// Both use the *Scaling fields as they are: call analyzeSweep first. Layout of the JSON:
//   { "workload": {...}, "machine": {...}, "backgroundLoad": {...} (toJson(BackgroundLoad)),
//     "strategies": [ { "strategy", "promptTokens", "generatedTokens", "scaledWork",
//                       "backgroundLoad": [ { "threads", ...toJson(BackgroundLoad) } ],
//                       "phases": { "prefill"|"decode"|"total": {
//                           "valid", "fitThreadLimit" (null: none), "fitThreads" (p = 1 included),
//                           "serialFraction", "asymptoticSpeedup", "tokens",
//                           "points": [ { "threads", "inFit", "repetitions", "samples": [s...], "medianSeconds",
//                                         "minSeconds", "maxSeconds", "speedup", "speedupLow", "speedupHigh",
//                                         "efficiency", "karpFlatt", "tokensPerSecond",
//                                         "scaledSpeedup" (only with scaledWork) } ] } } } ] }
// Phase tokens: prefill = promptTokens, decode = generatedTokens, total = both. NaN and ±inf (no baseline,
// Karp–Flatt at p = 1, the asymptote of a zero serial fraction) become null, which JSON can carry.
// CSV columns (see kSweepCsvHeader; in_fit is 1 for rows the Amdahl fit used); non-finite numbers are empty fields;
// lines end in CRLF and fields that hold a comma, quote or line break are quoted with inner quotes doubled (RFC 4180).
nlohmann::json sweepToJson(const SweepResult& result);
std::string sweepToCsv(const SweepResult& result);
extern const char* const kSweepCsvHeader;

// A JSON number, or null if the value is NaN or infinite.
nlohmann::json jsonNumber(double value);

} // namespace engine
