#include "app/cli/report.h"

#include "session/sessionfile.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
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

std::string joinThreads(const std::vector<int>& threads)
{
    std::string out;
    for (int p : threads)
        out += (out.empty() ? "" : ", ") + std::to_string(p);
    return out;
}

} // namespace

std::string describeFit(const engine::ScalingAnalysis& a)
{
    // Say what was fitted: which p, how many points, and what was left out because it had no core of its own.
    std::vector<int> unfitted;
    for (const auto& pt : a.points)
        if (std::find(a.fitThreads.begin(), a.fitThreads.end(), pt.threads) == a.fitThreads.end())
            unfitted.push_back(pt.threads);
    std::string text;
    if (a.fitPoints() < 2)
        text = "Amdahl fit: none (no point with 1 < p <= logical cores)";
    else
        text = "Amdahl fit to p = " + joinThreads(a.fitThreads) + " (" + std::to_string(a.fitPoints()) + " points"
            + (a.fitExact() ? ", exact through them: not evidence" : "") + "): serial fraction "
            + formatNumber(a.serialFraction, "%.3f")
            + (a.serialFraction >= 1.0 ? ", no speedup: slower with threads"
                                       : ", asymptotic speedup " + formatNumber(a.asymptoticSpeedup));
    if (!unfitted.empty() && a.fitThreadLimit > 0)
        text += "; p = " + joinThreads(unfitted) + " measured, not fitted (more threads than the "
            + std::to_string(a.fitThreadLimit) + " logical cores)";
    return text;
}

std::string describePinning(const engine::SweepResult& result)
{
    const nlohmann::json& w = result.workload;
    if (!w.is_object() || !w.value("pin_threads", false))
        return "threads not pinned";
    std::vector<int> all = w.value("threads", std::vector<int> {});
    std::vector<int> pinned = w.value("pinned_threads", std::vector<int> {});
    std::vector<int> notPinned;
    for (int p : all)
        if (std::find(pinned.begin(), pinned.end(), p) == pinned.end())
            notPinned.push_back(p);
    if (pinned.empty())
        return "pinning asked for but not applied (more threads than CPUs)";
    if (notPinned.empty())
        return "threads pinned";
    return "threads pinned at p = " + joinThreads(pinned) + ", not at p = " + joinThreads(notPinned)
        + " (more threads than CPUs)";
}

std::string describeBackgroundLoad(const engine::BackgroundLoad& load)
{
    if (!load.measured)
        return "other processes' CPU use: not measured";
    char buf[160];
    std::snprintf(buf, sizeof buf, "other processes used %.2f of %d CPUs on average over %.1f s%s", load.otherCores,
        load.cpus, load.seconds, load.significant() ? ": WARNING, the machine was busy; timings are disturbed" : "");
    return buf;
}

nlohmann::json metricsJson(const engine::RunMetrics& m)
{
    nlohmann::json j = { { "wall_ms", m.wallMs }, { "prefill_ms", m.prefillMs }, { "decode_ms", m.decodeMs },
        { "time_to_first_token_ms", m.timeToFirstTokenMs }, { "prompt_tokens", m.promptTokens },
        { "generated_tokens", m.generatedTokens }, { "prefill_tps", m.prefillTokensPerSecond },
        { "decode_tps", m.decodeTokensPerSecond }, { "total_tps", m.totalTokensPerSecond },
        { "load_imbalance", m.loadImbalance }, { "parallel_regions", m.parallelRegions },
        { "mean_region_us", m.meanRegionNs / 1e3 }, { "trace_events", m.traceEvents },
        { "dropped_trace_events", m.droppedTraceEvents } };
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
    if (m.droppedTraceEvents > 0)
        std::fprintf(stderr,
            "warning: %llu trace events were dropped (the recorder's buffers were full): busy and idle figures are "
            "incomplete\n",
            (unsigned long long)m.droppedTraceEvents);
}

void printSweepTable(const engine::SweepResult& result)
{
    for (const auto& st : result.strategies) {
        std::printf("\nstrategy %s%s\n", st.strategy.c_str(), st.scaledWork ? " (work grows with p)" : "");
        const std::pair<const char*, const engine::ScalingAnalysis*> phases[]
            = { { "prefill", &st.prefillScaling }, { "decode", &st.decodeScaling }, { "total", &st.totalScaling } };
        for (const auto& [name, a] : phases) {
            if (st.scaledWork) {
                // p threads did p times the work: T(1)/T(p), Karp–Flatt and Amdahl's fixed-work fit do not apply.
                std::printf("  %-7s %7s %11s %11s %11s %10s %10s\n", name, "threads", "median", "min", "max",
                    "scaled S", "scaled eff");
                for (const auto& pt : a->points)
                    std::printf("  %-7s %7d %11s %11s %11s %10s %10s\n", "", pt.threads,
                        formatSeconds(pt.medianSeconds).c_str(), formatSeconds(pt.minSeconds).c_str(),
                        formatSeconds(pt.maxSeconds).c_str(), formatNumber(pt.scaledSpeedup).c_str(),
                        formatNumber(pt.scaledEfficiency).c_str());
                continue;
            }
            // The serial fraction measured from one traced run at p, beside Karp-Flatt and the fit's estimate.
            auto traced = [&](int threads) {
                for (const auto& t : st.traced)
                    if (t.threads == threads)
                        return name == std::string("prefill") ? t.prefill
                                                              : (name == std::string("decode") ? t.decode : t.total);
                return std::numeric_limits<double>::quiet_NaN();
            };
            std::printf("  %-7s %7s %11s %11s %11s %8s %10s %11s %9s\n", name, "threads", "median", "min", "max",
                "speedup", "efficiency", "Karp-Flatt", "trace f");
            for (const auto& pt : a->points)
                std::printf("  %-7s %7d %11s %11s %11s %8s %10s %11s %9s\n", "", pt.threads,
                    formatSeconds(pt.medianSeconds).c_str(), formatSeconds(pt.minSeconds).c_str(),
                    formatSeconds(pt.maxSeconds).c_str(), formatNumber(pt.speedup).c_str(),
                    formatNumber(pt.efficiency).c_str(), formatNumber(pt.karpFlatt, "%.3f").c_str(),
                    formatNumber(traced(pt.threads), "%.3f").c_str());
            if (a->valid && a->points.size() > 1)
                std::printf("  %-7s %s\n", "", describeFit(*a).c_str());
        }
        if (!st.scaledWork && !st.traced.empty())
            std::printf("  trace f: the serial fraction measured from the trace of one more run at p (serial time "
                        "over serial time plus parallel work), the quantity the Amdahl fit estimates\n");
        if (st.scaledWork)
            std::printf("  scaled S(p) = p * T(1) / T(p) (Gustafson), scaled efficiency = S(p) / p: p threads did p "
                        "times the work, so T(1)/T(p) is no speedup and no serial fraction is fitted\n");
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

void writeSessionOut(const std::string& path, session::Session s, bool append)
{
    if (append && std::ifstream(path).good()) {
        session::Session kept = session::SessionFile::read(path);
        if (kept.model.path != s.model.path || kept.model.hash != s.model.hash)
            throw std::runtime_error(path + ": --append: the session holds runs of another model (" + kept.model.path
                + "); write a new session instead");
        for (auto& r : s.runs)
            kept.runs.push_back(std::move(r));
        for (auto& sw : s.sweeps)
            kept.sweeps.push_back(std::move(sw));
        kept.settings = s.settings;
        if (!s.machine.is_null())
            kept.machine = s.machine;
        s = std::move(kept);
    }
    session::SessionFile::write(path, s);
    std::fprintf(stderr, "session: %s (%zu run(s), %zu sweep(s); open it with llm-playground --open-session)\n",
        path.c_str(), s.runs.size(), s.sweeps.size());
}

} // namespace cli
