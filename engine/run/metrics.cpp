#include "engine/run/metrics.h"

#include <algorithm>

namespace engine {

namespace {
double msBetween(RunTimes::Clock::time_point a, RunTimes::Clock::time_point b)
{
    return std::chrono::duration<double, std::milli>(b - a).count();
}
int64_t nsBetween(RunTimes::Clock::time_point a, RunTimes::Clock::time_point b)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}
} // namespace

RunMetrics computeRunMetrics(const RunTimes& times, const std::vector<GenerationStats>& sequences,
    const Scheduler::RegionStats& regions, const std::vector<TraceEvent>* trace, int slots)
{
    RunMetrics m;
    m.wallMs = msBetween(times.start, times.end);
    m.prefillMs = msBetween(times.prefillStart, times.prefillEnd);
    m.decodeMs = msBetween(times.prefillEnd, times.decodeEnd);
    m.prefillBeginNs = nsBetween(times.start, times.prefillStart);
    m.prefillEndNs = nsBetween(times.start, times.prefillEnd);
    m.decodeEndNs = nsBetween(times.start, times.decodeEnd);
    m.wallNs = nsBetween(times.start, times.end);
    if (times.trace.end >= 0) {
        m.prefillBeginNs = times.trace.prefillStart;
        m.prefillEndNs = times.trace.prefillEnd;
        m.decodeEndNs = times.trace.decodeEnd;
        m.wallNs = times.trace.end;
    }
    m.timeToFirstTokenMs = 0;
    int decodedAfterFirst = 0;
    for (const GenerationStats& st : sequences) {
        m.promptTokens += st.promptTokens;
        m.generatedTokens += st.generatedTokens;
        decodedAfterFirst += std::max(0, st.generatedTokens - 1);
        if (st.generatedTokens > 0 && (m.timeToFirstTokenMs == 0 || st.timeToFirstTokenMs < m.timeToFirstTokenMs))
            m.timeToFirstTokenMs = st.timeToFirstTokenMs;
    }
    m.prefillTokensPerSecond = m.prefillMs > 0 ? m.promptTokens * 1000.0 / m.prefillMs : 0;
    m.decodeTokensPerSecond = m.decodeMs > 0 ? decodedAfterFirst * 1000.0 / m.decodeMs : 0;
    m.totalTokensPerSecond = m.wallMs > 0 ? m.generatedTokens * 1000.0 / m.wallMs : 0;
    m.parallelRegions = regions.regions;
    m.meanRegionNs = regions.regions ? double(regions.totalNs) / double(regions.regions) : 0.0;

    if (trace) {
        m.traceEvents = trace->size();
        m.workers = workerStats(*trace, slots, int64_t(m.wallMs * 1e6));
        double maxBusy = 0, sumBusy = 0;
        for (const WorkerStats& w : m.workers) {
            maxBusy = std::max(maxBusy, double(w.busyNs));
            sumBusy += double(w.busyNs);
        }
        const double meanBusy = m.workers.empty() ? 0 : sumBusy / double(m.workers.size());
        m.loadImbalance = meanBusy > 0 ? maxBusy / meanBusy : 0;
    }
    return m;
}

std::vector<WorkerStats> workerStats(const std::vector<TraceEvent>& events, int slots, int64_t wallNs)
{
    std::vector<WorkerStats> stats(size_t(std::max(slots, 0)));
    for (size_t i = 0; i < stats.size(); ++i)
        stats[i].slot = int(i);
    for (const TraceEvent& e : events) {
        if (isMarker(e.op) || e.worker < 0 || e.worker >= slots)
            continue;
        WorkerStats& w = stats[size_t(e.worker)];
        w.busyNs += e.durationNs();
        ++w.chunks;
    }
    for (WorkerStats& w : stats) {
        w.idleNs = std::max<int64_t>(0, wallNs - w.busyNs);
        w.meanChunkNs = w.chunks ? double(w.busyNs) / double(w.chunks) : 0.0;
    }
    return stats;
}

} // namespace engine
