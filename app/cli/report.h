// How the CLI reports: the metrics JSON, the worker and sweep tables, peak memory, output files.
#pragma once

#include "engine/measure/scaling.h"
#include "engine/run/run.h"
#include "session/session.h"

#include <nlohmann/json.hpp>

#include <string>

namespace cli {

// The run's metrics, workers included, as generate --json prints them under "metrics".
nlohmann::json metricsJson(const engine::RunMetrics& m);

// Per worker busy and idle time, chunks, and the load imbalance, to stderr.
void printWorkerTable(const engine::RunMetrics& m);

// Per strategy and phase, times and speedups per thread count and the Amdahl fit, to stdout; for scaled-work
// strategies the scaled (Gustafson) speedup and efficiency instead, without speedup, Karp–Flatt or fit.
void printSweepTable(const engine::SweepResult& result);

// "Amdahl fit to p = 1, 2 (2 points, exact…): serial fraction …; p = 4 measured, not fitted (…)".
std::string describeFit(const engine::ScalingAnalysis& a);
// "threads not pinned", "threads pinned", or at which p pinning applied (it is skipped above the CPUs).
std::string describePinning(const engine::SweepResult& result);
// "other processes used 0.93 of 2 CPUs on average over 4.1 s: WARNING…" (the warning only when significant).
std::string describeBackgroundLoad(const engine::BackgroundLoad& load);

// The process's peak resident memory so far.
double peakRssMiB();

// Writes content to path as it is; throws std::runtime_error if that fails.
void writeTextFile(const std::string& path, const std::string& content);

// --session-out: writes the session (the model, the settings, the run or sweep just made) to path and says so. With
// `append` and a session of the same model already at path, its runs and sweeps are added to the ones there, so
// several commands build one session to compare in (report --compare); a different model is refused.
void writeSessionOut(const std::string& path, session::Session s, bool append);

} // namespace cli
