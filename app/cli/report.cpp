#include "app/cli/report.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <sys/resource.h>
#include <utility>

namespace cli {

namespace {

std::string formatSeconds(double s)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, s < 1.0 ? "%.1f ms" : "%.3f s", s < 1.0 ? s * 1000.0 : s);
    return buf;
}

std::string formatNumber(double v, const char* fmt = "%.2f")
{
    if (!std::isfinite(v))
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

} // namespace

nlohmann::json metricsJson(const engine::RunMetrics& m)
{
    nlohmann::json j = { { "wall_ms", m.wallMs }, { "prefill_ms", m.prefillMs }, { "decode_ms", m.decodeMs },
        { "time_to_first_token_ms", m.timeToFirstTokenMs }, { "prompt_tokens", m.promptTokens },
        { "generated_tokens", m.generatedTokens }, { "prefill_tps", m.prefillTokensPerSecond },
        { "decode_tps", m.decodeTokensPerSecond }, { "total_tps", m.totalTokensPerSecond },
        { "load_imbalance", m.loadImbalance }, { "parallel_regions", m.parallelRegions },
        { "mean_region_us", m.meanRegionNs / 1e3 }, { "trace_events", m.traceEvents } };
    nlohmann::json workers = nlohmann::json::array();
    for (const auto& w : m.workers)
        workers.push_back({ { "slot", w.slot }, { "busy_ms", double(w.busyNs) / 1e6 },
            { "idle_ms", double(w.idleNs) / 1e6 }, { "chunks", w.chunks }, { "mean_chunk_us", w.meanChunkNs / 1e3 } });
    j["workers"] = workers;
    return j;
}

void printWorkerTable(const engine::RunMetrics& m)
{
    std::fprintf(stderr, "%-8s %12s %12s %10s %14s\n", "worker", "busy ms", "idle ms", "chunks", "mean chunk us");
    for (const auto& w : m.workers)
        std::fprintf(stderr, "%-8d %12.2f %12.2f %10llu %14.2f\n", w.slot, double(w.busyNs) / 1e6,
            double(w.idleNs) / 1e6, (unsigned long long)w.chunks, w.meanChunkNs / 1e3);
    std::fprintf(stderr, "load imbalance (max busy / mean busy): %.3f | parallel regions: %llu, mean %.1f us\n",
        m.loadImbalance, (unsigned long long)m.parallelRegions, m.meanRegionNs / 1e3);
}

void printSweepTable(const engine::SweepResult& result)
{
    for (const auto& st : result.strategies) {
        std::printf("\nstrategy %s%s\n", st.strategy.c_str(), st.scaledWork ? " (work grows with p)" : "");
        const std::pair<const char*, const engine::ScalingAnalysis*> phases[]
            = { { "prefill", &st.prefillScaling }, { "decode", &st.decodeScaling }, { "total", &st.totalScaling } };
        for (const auto& [name, a] : phases) {
            std::printf("  %-7s %7s %11s %11s %11s %8s %10s %11s\n", name, "threads", "median", "min", "max", "speedup",
                "efficiency", "Karp-Flatt");
            for (const auto& pt : a->points)
                std::printf("  %-7s %7d %11s %11s %11s %8s %10s %11s\n", "", pt.threads,
                    formatSeconds(pt.medianSeconds).c_str(), formatSeconds(pt.minSeconds).c_str(),
                    formatSeconds(pt.maxSeconds).c_str(), formatNumber(pt.speedup).c_str(),
                    formatNumber(pt.efficiency).c_str(), formatNumber(pt.karpFlatt, "%.3f").c_str());
            if (a->valid && a->points.size() > 1)
                std::printf("  %-7s Amdahl fit: serial fraction %s, asymptotic speedup %s\n", "",
                    formatNumber(a->serialFraction, "%.3f").c_str(), formatNumber(a->asymptoticSpeedup).c_str());
        }
    }
}

double peakRssMiB()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

void writeTextFile(const std::string& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out)
        throw std::runtime_error("cannot write '" + path + "'");
}

} // namespace cli
