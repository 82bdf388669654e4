#include "engine/measure/analysis.h"

#include "engine/run/run.h"

#include <algorithm>

namespace engine {

namespace {

struct Interval {
    int64_t begin;
    int64_t end;
};

// Sorts and merges intervals into disjoint ones (touching ends merge).
std::vector<Interval> merged(std::vector<Interval> list)
{
    std::sort(list.begin(), list.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
    std::vector<Interval> out;
    for (const Interval& i : list) {
        if (!out.empty() && i.begin <= out.back().end)
            out.back().end = std::max(out.back().end, i.end);
        else
            out.push_back(i);
    }
    return out;
}

// Length of the intersection of a lane's disjoint sorted intervals with [b, e), advancing `from` past intervals
// that end before b (periods are visited in order, so each lane is walked once).
int64_t overlap(const std::vector<Interval>& lane, size_t& from, int64_t b, int64_t e)
{
    while (from < lane.size() && lane[from].end <= b)
        ++from;
    int64_t sum = 0;
    for (size_t i = from; i < lane.size() && lane[i].begin < e; ++i)
        sum += std::min(e, lane[i].end) - std::max(b, lane[i].begin);
    return sum;
}

// The median (the mean of the middle two for an even count); 0 for none.
int64_t median(std::vector<int64_t> v)
{
    if (v.empty())
        return 0;
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(mid), v.end());
    const int64_t upper = v[mid];
    if (v.size() % 2)
        return upper;
    const int64_t lower = *std::max_element(v.begin(), v.begin() + std::ptrdiff_t(mid));
    return lower + (upper - lower) / 2;
}

} // namespace

double TimeBreakdown::serialFraction() const
{
    const double denom = double(serialNs) + double(parallelWorkNs);
    return denom > 0 ? double(serialNs) / denom : 0.0;
}

double TimeBreakdown::overheadPerRegionNs() const { return undisturbedPeriods ? double(forkJoinMedianNs) : 0.0; }

TimeBreakdown analyzeLaneTime(const std::vector<TraceEvent>& events, int lanes, int64_t beginNs, int64_t endNs,
    const std::vector<TimeSpan>& taskPeriods)
{
    TimeBreakdown t;
    t.beginNs = beginNs;
    t.endNs = std::max(beginNs, endNs);
    t.wallNs = t.endNs - t.beginNs;

    int maxWorker = -1;
    for (const TraceEvent& e : events)
        if (e.worker >= 0 && !(isMarker(e.op) && !isRegionSpan(e.op)))
            maxWorker = std::max(maxWorker, int(e.worker));
    t.lanes = std::max({ 1, lanes, maxWorker + 1 });
    t.laneNs = int64_t(t.lanes) * t.wallNs;
    if (t.wallNs == 0)
        return t;

    // Task periods clipped to the window (not merged: adjoining phases stay two periods).
    std::vector<Interval> tasks;
    for (const TimeSpan& s : taskPeriods) {
        const int64_t b = std::max(s.beginNs, t.beginNs), en = std::min(s.endNs, t.endNs);
        if (b < en)
            tasks.push_back({ b, en });
    }
    std::sort(tasks.begin(), tasks.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
    auto inTask = [&](int64_t b, int64_t e) {
        for (const Interval& k : tasks)
            if (b < k.end && k.begin < e)
                return true;
        return false;
    };

    // Each lane's working time as disjoint intervals, and the parallel periods, clipped to the window.
    std::vector<std::vector<Interval>> work(size_t(t.lanes));
    std::vector<Interval> spans;
    for (const TraceEvent& e : events) {
        if (e.worker < 0)
            continue;
        const int64_t b = std::max(e.beginNs, t.beginNs), en = std::min(e.endNs, t.endNs);
        if (isRegionSpan(e.op)) {
            if (inTask(e.beginNs, e.endNs)) // a region inside a task period is part of that period
                continue;
            if (e.beginNs >= t.beginNs && e.beginNs < t.endNs)
                ++t.regions;
            if (b < en)
                spans.push_back({ b, en });
            continue;
        }
        if (isMarker(e.op) || b >= en)
            continue;
        work[size_t(e.worker)].push_back({ b, en });
    }
    for (auto& lane : work) {
        lane = merged(std::move(lane));
        for (const Interval& i : lane)
            t.busyNs += i.end - i.begin;
    }
    const std::vector<Interval> periods = merged(std::move(spans));
    t.periods = periods.size() + tasks.size();
    t.taskPeriods = tasks.size();

    // Inside parallel periods: imbalance against the busiest lane, the rest of the period is overhead (fork/join,
    // or disturbed when stretched far beyond the usual).
    std::vector<size_t> cursor(work.size(), 0);
    std::vector<int64_t> overheads;
    overheads.reserve(periods.size());
    for (const Interval& p : periods) {
        const int64_t r = p.end - p.begin;
        int64_t busiest = 0, sum = 0;
        for (size_t l = 0; l < work.size(); ++l) {
            const int64_t w = overlap(work[l], cursor[l], p.begin, p.end);
            busiest = std::max(busiest, w);
            sum += w;
        }
        t.idle.imbalance += int64_t(t.lanes) * busiest - sum;
        overheads.push_back(r - busiest);
        t.parallelNs += r;
        t.parallelWorkNs += sum;
    }
    if (!overheads.empty()) {
        const double limit = std::max(
            double(TimeBreakdown::kDisturbedMinNs), TimeBreakdown::kDisturbedFactor * double(median(overheads)));
        std::vector<int64_t> undisturbed;
        for (int64_t o : overheads) {
            if (double(o) >= limit) {
                ++t.disturbedPeriods;
                t.idle.disturbed += int64_t(t.lanes) * o;
            } else {
                undisturbed.push_back(o);
                t.idle.overhead += int64_t(t.lanes) * o;
            }
        }
        t.undisturbedPeriods = undisturbed.size();
        t.forkJoinMedianNs = median(std::move(undisturbed));
    }
    // Inside task periods: imbalance against the busiest lane's total; the busiest lane's idle instants are split
    // by the sweep below (untraced when no lane works, overhead otherwise).
    std::vector<size_t> busiestLane(tasks.size(), 0);
    std::fill(cursor.begin(), cursor.end(), 0);
    for (size_t k = 0; k < tasks.size(); ++k) {
        int64_t busiest = 0, sum = 0;
        for (size_t l = 0; l < work.size(); ++l) {
            const int64_t w = overlap(work[l], cursor[l], tasks[k].begin, tasks[k].end);
            if (w > busiest) {
                busiest = w;
                busiestLane[k] = l;
            }
            sum += w;
        }
        t.idle.imbalance += int64_t(t.lanes) * busiest - sum;
        t.parallelWorkNs += sum;
    }

    // Sweep the lanes' interval ends, counting working lanes, and classify each stretch by that count. Period
    // boundaries are changes too, so a stretch is wholly inside or wholly outside a period.
    struct Change {
        int64_t ns;
        int lane; // -1: not a lane's change
        int busy; // +1 / -1 working lanes
        int period; // +1 / -1 open region periods
        int task; // task period index + 1 opening, -(index + 1) closing, 0 neither
    };
    std::vector<Change> changes;
    for (size_t l = 0; l < work.size(); ++l)
        for (const Interval& i : work[l]) {
            changes.push_back({ i.begin, int(l), +1, 0, 0 });
            changes.push_back({ i.end, int(l), -1, 0, 0 });
        }
    for (const Interval& p : periods) {
        changes.push_back({ p.begin, -1, 0, +1, 0 });
        changes.push_back({ p.end, -1, 0, -1, 0 });
    }
    for (size_t k = 0; k < tasks.size(); ++k) {
        changes.push_back({ tasks[k].begin, -1, 0, 0, int(k) + 1 });
        changes.push_back({ tasks[k].end, -1, 0, 0, -(int(k) + 1) });
    }
    std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) { return a.ns < b.ns; });
    std::vector<int> laneBusy(work.size(), 0);
    int busy = 0, open = 0, task = -1;
    int64_t at = t.beginNs;
    auto account = [&](int64_t until) {
        const int64_t d = until - at;
        if (d <= 0)
            return;
        if (busy >= 2)
            t.concurrentNs += d;
        if (open > 0)
            return;
        const int64_t idleLanes = int64_t(t.lanes - busy);
        if (task >= 0) {
            if (busy == 0) {
                t.untracedNs += d;
                t.idle.untraced += int64_t(t.lanes) * d;
            } else {
                t.parallelNs += d;
                if (!laneBusy[busiestLane[size_t(task)]])
                    t.idle.overhead += int64_t(t.lanes) * d;
            }
        } else if (busy == 0) {
            t.untracedNs += d;
            t.idle.untraced += idleLanes * d;
        } else if (busy == 1) {
            t.serialNs += d;
            t.idle.serial += idleLanes * d;
        } else {
            t.parallelNs += d;
            t.parallelWorkNs += int64_t(busy) * d;
            t.idle.imbalance += idleLanes * d;
        }
    };
    for (size_t i = 0; i < changes.size();) {
        const int64_t ns = changes[i].ns;
        account(ns);
        at = ns;
        for (; i < changes.size() && changes[i].ns == ns; ++i) {
            const Change& c = changes[i];
            busy += c.busy;
            if (c.lane >= 0)
                laneBusy[size_t(c.lane)] += c.busy;
            open += c.period;
            if (c.task > 0)
                task = c.task - 1;
            else if (c.task < 0 && task == -c.task - 1)
                task = -1;
        }
    }
    account(t.endNs);
    return t;
}

std::vector<ParallelPeriod> parallelPeriods(const std::vector<TraceEvent>& events, int64_t beginNs, int64_t endNs)
{
    std::vector<Interval> spans;
    std::vector<uint64_t> spanBlocks;
    for (const TraceEvent& e : events)
        if (isRegionSpan(e.op) && e.beginNs >= beginNs && e.beginNs < endNs) {
            spans.push_back({ e.beginNs, e.endNs });
            spanBlocks.push_back(e.last);
        }
    std::vector<ParallelPeriod> periods;
    for (const Interval& i : merged(spans)) {
        ParallelPeriod p;
        p.beginNs = i.begin;
        p.endNs = i.end;
        periods.push_back(std::move(p));
    }
    if (periods.empty())
        return periods;
    auto periodAt = [&](int64_t ns) -> ParallelPeriod* {
        auto it = std::upper_bound(
            periods.begin(), periods.end(), ns, [](int64_t t, const ParallelPeriod& p) { return t < p.beginNs; });
        if (it == periods.begin())
            return nullptr;
        --it;
        return ns < it->endNs ? &*it : nullptr;
    };
    for (size_t i = 0; i < spans.size(); ++i) {
        ParallelPeriod* p = periodAt(spans[i].begin);
        ++p->regions;
        p->blocks += spanBlocks[i];
    }
    // Per period, each lane's work (events on one lane inside a period do not nest in intra-op runs; nested ones
    // are counted as they come, which a caller replaying hybrid runs should know).
    std::vector<std::vector<int64_t>> laneWork(periods.size());
    for (const TraceEvent& e : events) {
        if (isMarker(e.op) || e.worker < 0)
            continue;
        ParallelPeriod* p = periodAt(e.beginNs);
        if (!p)
            continue;
        const int64_t d = std::min(e.endNs, p->endNs) - e.beginNs;
        auto& lanes = laneWork[size_t(p - periods.data())];
        if (size_t(e.worker) >= lanes.size())
            lanes.resize(size_t(e.worker) + 1, 0);
        lanes[size_t(e.worker)] += d;
        p->workNs += d;
        p->longestChunkNs = std::max(p->longestChunkNs, d);
        p->chunks.push_back(&e);
    }
    for (size_t i = 0; i < periods.size(); ++i)
        for (int64_t w : laneWork[i])
            periods[i].busiestNs = std::max(periods[i].busiestNs, w);
    return periods;
}

bool taskParallel(Strategy strategy) { return strategy == Strategy::Request || strategy == Strategy::Pipeline; }

RunAnalysis analyzeRun(const RunResult& run)
{
    RunAnalysis a;
    a.valid = !run.trace.empty();
    const RunMetrics& m = run.metrics;
    std::vector<TimeSpan> prefill, decode;
    if (taskParallel(run.strategy)) { // each phase is one fork of the sequences (stages) and its join
        prefill.push_back({ m.prefillBeginNs, m.prefillEndNs });
        decode.push_back({ m.prefillEndNs, m.decodeEndNs });
    }
    std::vector<TimeSpan> both = prefill;
    both.insert(both.end(), decode.begin(), decode.end());
    a.total = analyzeLaneTime(run.trace, run.threads, 0, m.wallNs, both);
    a.prefill = analyzeLaneTime(run.trace, run.threads, m.prefillBeginNs, m.prefillEndNs, prefill);
    a.decode = analyzeLaneTime(run.trace, run.threads, m.prefillEndNs, m.decodeEndNs, decode);
    return a;
}

} // namespace engine
