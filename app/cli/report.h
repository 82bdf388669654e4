// How the CLI reports: the metrics JSON, the worker and sweep tables, peak memory, output files.
#pragma once

#include "engine/measure/scaling.h"
#include "engine/run/run.h"

#include <nlohmann/json.hpp>

#include <string>

namespace cli {

// The run's metrics, workers included, as generate --json prints them under "metrics".
nlohmann::json metricsJson(const engine::RunMetrics& m);

// Per worker busy and idle time, chunks, and the load imbalance, to stderr.
void printWorkerTable(const engine::RunMetrics& m);

// Per strategy and phase, times and speedups per thread count and the Amdahl fit, to stdout.
void printSweepTable(const engine::SweepResult& result);

// The process's peak resident memory so far.
double peakRssMiB();

// Writes content to path as it is; throws std::runtime_error if that fails.
void writeTextFile(const std::string& path, const std::string& content);

} // namespace cli
