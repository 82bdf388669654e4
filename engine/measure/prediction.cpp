#include "engine/measure/prediction.h"

#include "engine/measure/analysis.h"
#include "engine/measure/statistics.h"
#include "engine/model/model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace engine {

namespace {

struct ReplayRegion {
    double workNs = 0;
    double longestChunkNs = 0;
    double blocks = 0; // 0: unknown
    double overheadNs = 0;
    double bytes = 0;
    double flops = 0;
};

struct ReplayPhase {
    double fixedNs = 0; // outside parallel regions: kept as measured
    std::vector<ReplayRegion> regions;
    int tokens = 0;
    int stretchedRegions = 0; // replayed with the undisturbed regions' median overhead
};

ReplayPhase replayPhase(const RunResult& run, const Model& model, int64_t beginNs, int64_t endNs, int tokens)
{
    ReplayPhase phase;
    phase.tokens = tokens;
    const auto periods = parallelPeriods(run.trace, beginNs, endNs);
    // Regions stretched far beyond the usual overhead were most likely preempted (the analysis's "stretched"
    // periods, same rule): that is not fork/join cost, so such a region is replayed with the median overhead of
    // the undisturbed ones, and its stretch is neither overhead nor kept serial time.
    std::vector<double> overheads;
    for (const ParallelPeriod& p : periods)
        overheads.push_back(double(std::max<int64_t>(0, p.overheadNs())));
    const double limit = std::max(double(TimeBreakdown::kDisturbedMinNs),
        TimeBreakdown::kDisturbedFactor * (overheads.empty() ? 0.0 : median(overheads)));
    std::vector<double> undisturbed;
    for (double o : overheads)
        if (o < limit)
            undisturbed.push_back(o);
    const double usualOverhead = undisturbed.empty() ? 0.0 : median(undisturbed);
    double inRegions = 0;
    for (size_t i = 0; i < periods.size(); ++i) {
        const ParallelPeriod& p = periods[i];
        ReplayRegion r;
        r.workNs = double(p.workNs);
        r.longestChunkNs = double(p.longestChunkNs);
        r.blocks = double(p.blocks);
        r.overheadNs = overheads[i];
        if (overheads[i] >= limit) {
            r.overheadNs = usualOverhead;
            ++phase.stretchedRegions;
        }
        // Bytes of each op call in the period, once per call (a call's chunks share op, layer, sequence, position).
        std::map<std::tuple<int, int, int, int>, int> calls;
        for (const TraceEvent* e : p.chunks) {
            int& tokensOfCall = calls[{ int(e->op), int(e->layer), int(e->sequence), int(e->position) }];
            tokensOfCall = std::max<int>(tokensOfCall, e->tokens);
        }
        for (const auto& [key, callTokens] : calls) {
            const auto [op, layer, sequence, position] = key;
            (void)sequence;
            const OpCost cost = opCost(model, Op(op), layer, callTokens, position);
            r.bytes += cost.bytes;
            r.flops += cost.flops;
        }
        inRegions += double(p.wallNs());
        phase.regions.push_back(r);
    }
    phase.fixedNs = std::max(0.0, double(endNs - beginNs) - inRegions);
    return phase;
}

// How much slower memory-bound work runs per core when `cores` cores share the memory system: one core's bandwidth
// times the cores over what they measured together (1 on one core).
double contention(const MachinePeaks& peaks, int cores)
{
    const double together = peaks.bandwidthGBps(cores);
    return together > 0 ? std::max(1.0, peaks.bandwidthGBps1 * std::max(1, cores) / together) : 1.0;
}

double phaseNs(const ReplayPhase& phase, const MachinePeaks& peaks, int measured, int threads, PredictionTarget target,
    bool memoryCapped)
{
    const int cores = std::max(1, peaks.cores);
    const bool timeShared = target == PredictionTarget::ThisMachine;
    const int usable = timeShared ? std::min(threads, cores) : threads;
    const double bandwidth = peaks.bandwidthGBps(usable); // GB/s = bytes per ns; capped at the all-core figure
    const int measuredCores = std::min(std::max(1, measured), cores);
    const double forkRatio = forkJoinNs(peaks, threads, target) / forkJoinNs(peaks, measured, target);
    const double slowdown = contention(peaks, usable) / contention(peaks, measuredCores);
    double total = phase.fixedNs;
    for (const ReplayRegion& r : phase.regions) {
        // Memory-bound work slows down per core as more cores share the memory system (as the bandwidth probe
        // measures), relative to the contention the measured run already had. With weights beyond the caches the
        // bandwidth term below models that sharing instead (applying both would count it twice).
        const bool memoryBound = !memoryCapped && r.bytes > 0 && r.flops / r.bytes < peaks.ridge(usable);
        const double work = memoryBound ? r.workNs * slowdown : r.workNs;
        // Granularity: with the region's blocks of equal cost, the busiest of the threads that run at once takes
        // ceil(blocks / threads) of them. Time-shared threads do not stretch a region: work stealing hands the
        // blocks to the threads that are running (what the extra threads cost is their fork/join, measured by the
        // oversubscribed probe). The measured chunks are no bound: at one thread the partitioner makes a few
        // large ones. Without a block count, the longest chunk is the bound.
        const double granular = r.blocks > 0 ? std::ceil(r.blocks / usable) * (work / r.blocks) : r.longestChunkNs;
        double t = std::max(work / usable, granular);
        if (memoryCapped && bandwidth > 0)
            t = std::max(t, r.bytes / bandwidth);
        total += t + r.overheadNs * forkRatio;
    }
    return total;
}

} // namespace

std::vector<int> defaultPredictionThreads() { return { 1, 2, 4, 8, 16, 32, 64 }; }

const char* predictionTargetName(PredictionTarget t)
{
    return t == PredictionTarget::ThisMachine ? "this machine" : "wider machine";
}

double forkJoinNs(const MachinePeaks& peaks, int threads, PredictionTarget target)
{
    const int cores = std::max(1, peaks.cores);
    const double one = peaks.forkJoinNs1, all = peaks.forkJoinNsAll;
    if (threads <= 1)
        return one;
    if (threads > cores && target == PredictionTarget::ThisMachine) {
        const double over = peaks.forkJoinNsOver;
        if (!(over > 0))
            return all * double(threads) / cores; // not measured: in proportion to the threads per core
        if (threads >= 4 * cores)
            return over * double(threads) / (4.0 * cores);
        return all + (over - all) * std::log2(double(threads) / cores) / 2.0; // log2(4) = 2
    }
    if (cores == 1)
        return one;
    return one + (all - one) * std::log2(double(threads)) / std::log2(double(cores));
}

ScalingPrediction predictScaling(const RunResult& run, const Model& model, const MachinePeaks& peaks,
    const std::vector<int>& threads, PredictionTarget target)
{
    ScalingPrediction out;
    out.target = target;
    out.measuredThreads = run.threads;
    out.cores = peaks.cores;
    if (run.trace.empty()) {
        out.reason = "the run was not traced";
        return out;
    }
    if (run.strategy != Strategy::IntraOp) {
        out.reason = std::string("the prediction replays intra-op runs; this run used ") + strategyName(run.strategy);
        return out;
    }
    if (!peaks.valid()) {
        out.reason = "the machine's bandwidth and peak are not measured";
        return out;
    }
    const RunMetrics& m = run.metrics;
    int decoded = 0;
    for (const auto& s : run.sequences)
        decoded += std::max(0, s.stats.generatedTokens - 1);
    const ReplayPhase prefill = replayPhase(run, model, m.prefillBeginNs, m.prefillEndNs, m.promptTokens);
    const ReplayPhase decode = replayPhase(run, model, m.prefillEndNs, m.decodeEndNs, decoded);
    // Weights that fit the largest cache are not read from memory each token (unknown cache size: capped).
    const bool capped = peaks.lastLevelCacheBytes == 0 || model.weightBytes() > peaks.lastLevelCacheBytes;
    out.memoryCapped = capped;
    out.stretchedRegionsLeftOut = prefill.stretchedRegions + decode.stretchedRegions;
    const double prefill1 = phaseNs(prefill, peaks, run.threads, 1, target, capped);
    const double decode1 = phaseNs(decode, peaks, run.threads, 1, target, capped);
    for (int p : threads) {
        if (p < 1)
            continue;
        PredictionPoint point;
        point.threads = p;
        point.beyondCores = p > peaks.cores;
        const double pre = phaseNs(prefill, peaks, run.threads, p, target, capped);
        const double dec = phaseNs(decode, peaks, run.threads, p, target, capped);
        point.prefillMs = pre / 1e6;
        point.decodeMs = dec / 1e6;
        point.prefillTokensPerSecond = pre > 0 ? prefill.tokens * 1e9 / pre : 0;
        point.decodeTokensPerSecond = dec > 0 ? decode.tokens * 1e9 / dec : 0;
        point.prefillSpeedup = pre > 0 ? prefill1 / pre : 0;
        point.decodeSpeedup = dec > 0 ? decode1 / dec : 0;
        out.points.push_back(point);
    }
    out.available = true;
    return out;
}

} // namespace engine
