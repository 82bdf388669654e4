#include "ui/timelinedata.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ui {

namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();

// Lane order: by begin, the longer first, so a slice precedes the slices nested in it.
bool laneLess(const engine::TraceEvent& a, const engine::TraceEvent& b)
{
    return a.beginNs != b.beginNs ? a.beginNs < b.beginNs : a.endNs > b.endNs;
}

const std::vector<engine::TraceEvent> kNoEvents;
const std::vector<int64_t> kNoMarkers;

} // namespace

int64_t TimelineData::Lane::cover(size_t i) const
{
    const engine::TraceEvent& e = events[i];
    const int64_t start = i ? std::max(e.beginNs, prefixMaxEnd[i - 1]) : e.beginNs;
    return std::max<int64_t>(0, e.endNs - start);
}

void TimelineData::Lane::rebuildFrom(size_t from)
{
    const size_t n = events.size();
    prefixMaxEnd.resize(n);
    for (size_t i = from; i < n; ++i)
        prefixMaxEnd[i] = std::max(i ? prefixMaxEnd[i - 1] : kMinTime, events[i].endNs);

    for (int level = 0; level < kLevels; ++level) {
        const size_t size = blockSize(level);
        std::vector<Summary>& summaries = levels[size_t(level)];
        std::vector<std::array<int64_t, kOps>>& ops = opNs[size_t(level)];
        summaries.resize(std::min(summaries.size(), from / size));
        if (level > 0)
            ops.resize(summaries.size());
        while ((summaries.size() + 1) * size <= n) {
            const size_t first = summaries.size() * size;
            Summary s;
            s.maxEnd = kMinTime;
            std::array<int64_t, kOps> perOp {};
            if (level == 0) {
                for (size_t i = first; i < first + size; ++i) {
                    s.maxEnd = std::max(s.maxEnd, events[i].endNs);
                    s.coverNs += cover(i);
                    perOp[size_t(events[i].op) % kOps] += events[i].durationNs();
                }
            } else {
                const std::vector<Summary>& children = levels[size_t(level) - 1];
                for (size_t c = first / (size / kFanOut), e = c + kFanOut; c < e; ++c) {
                    s.maxEnd = std::max(s.maxEnd, children[c].maxEnd);
                    s.coverNs += children[c].coverNs;
                }
                if (level == 1) {
                    for (size_t i = first; i < first + size; ++i)
                        perOp[size_t(events[i].op) % kOps] += events[i].durationNs();
                } else {
                    for (size_t c = first / (size / kFanOut), e = c + kFanOut; c < e; ++c)
                        for (int op = 0; op < kOps; ++op)
                            perOp[size_t(op)] += opNs[size_t(level) - 1][c][size_t(op)];
                }
                ops.push_back(perOp);
            }
            for (int64_t ns : perOp)
                s.durationNs += ns;
            s.dominant = engine::Op(std::max_element(perOp.begin(), perOp.end()) - perOp.begin());
            summaries.push_back(s);
        }
    }
}

TimelineData::Lane& TimelineData::lane(int index)
{
    if (index >= int(m_lanes.size()))
        m_lanes.resize(size_t(index) + 1);
    return m_lanes[size_t(index)];
}

namespace {

// Ops whose chunks do work proportional to rows (or heads) times tokens: their time per unit compares.
bool isLoopOp(engine::Op op)
{
    using engine::Op;
    switch (op) {
    case Op::AttnQ:
    case Op::AttnK:
    case Op::AttnV:
    case Op::AttnOut:
    case Op::Attention:
    case Op::FfnGate:
    case Op::FfnUp:
    case Op::FfnDown:
    case Op::FfnGateUp:
    case Op::Logits:
        return true;
    default:
        return false;
    }
}

double nsPerUnit(const engine::TraceEvent& e)
{
    const double units
        = double(std::max<uint32_t>(1, e.last > e.first ? e.last - e.first : 1)) * double(std::max<int>(1, e.tokens));
    return double(std::max<int64_t>(1, e.durationNs())) / units;
}

// Quarter-octave bins from 2^-8 ns per unit up.
int unitBin(double nsPerUnit, int bins)
{
    return std::clamp(int(std::floor(std::log2(nsPerUnit) * 4)) + 32, 0, bins - 1);
}

} // namespace

double TimelineData::slowdown(const engine::TraceEvent& e) const
{
    if (!isLoopOp(e.op) || e.durationNs() < kStretchMinNs)
        return 0;
    const size_t op = size_t(e.op);
    const uint32_t total = m_unitCounts[op];
    if (total < 16)
        return 0; // too few chunks of this op to say what is usual
    uint32_t seen = 0;
    int median = 0;
    for (; median < kUnitBins; ++median) {
        seen += m_unitHistogram[op][size_t(median)];
        if (2 * seen >= total)
            break;
    }
    const double medianNs = std::exp2((double(median - 32) + 0.5) / 4);
    return nsPerUnit(e) / medianNs;
}

const std::vector<engine::TraceEvent>& TimelineData::longEvents(int lane) const
{
    static const std::vector<engine::TraceEvent> none;
    return lane >= 0 && lane < laneCount() ? m_lanes[size_t(lane)].longEvents : none;
}

void TimelineData::append(const std::vector<engine::TraceEvent>& events)
{
    std::vector<std::vector<engine::TraceEvent>> batches;
    for (const engine::TraceEvent& e : events) {
        if (e.worker < 0 || e.worker >= kMaxLanes)
            continue;
        if (engine::isRegionSpan(e.op)) {
            // The span of a whole region: the lanes draw its chunks; a click on one finds the span.
            auto at = std::upper_bound(m_regions.begin(), m_regions.end(), e.beginNs,
                [](int64_t ns, const engine::TraceEvent& r) { return ns < r.beginNs; });
            m_regions.insert(at, e);
            continue;
        }
        Lane& l = lane(e.worker);
        if (engine::isMarker(e.op)) {
            l.markers.insert(std::upper_bound(l.markers.begin(), l.markers.end(), e.beginNs), e.beginNs);
            continue;
        }
        if (size_t(e.worker) >= batches.size())
            batches.resize(size_t(e.worker) + 1);
        batches[size_t(e.worker)].push_back(e);
        if (e.op < engine::Op::Count_)
            ++m_opCounts[size_t(e.op)];
        if (isLoopOp(e.op)) {
            ++m_unitHistogram[size_t(e.op)][size_t(unitBin(nsPerUnit(e), kUnitBins))];
            ++m_unitCounts[size_t(e.op)];
            if (e.durationNs() >= kStretchMinNs)
                l.longEvents.push_back(e);
        }
        m_begin = m_events ? std::min(m_begin, e.beginNs) : std::min<int64_t>(0, e.beginNs);
        m_end = m_events ? std::max(m_end, e.endNs) : e.endNs;
        ++m_events;
    }
    for (size_t w = 0; w < batches.size(); ++w)
        if (!batches[w].empty())
            appendToLane(m_lanes[w], batches[w]);
}

void TimelineData::appendToLane(Lane& l, std::vector<engine::TraceEvent>& batch)
{
    if (!std::is_sorted(batch.begin(), batch.end(), laneLess))
        std::stable_sort(batch.begin(), batch.end(), laneLess);

    // The recorder writes a chunk when it ends, so a slice arrives after the slices nested in it: the usual
    // out-of-order insert lands a few events before the end, and only that tail is merged and re-summarised.
    const size_t from
        = size_t(std::upper_bound(l.events.begin(), l.events.end(), batch.front(), laneLess) - l.events.begin());
    int64_t oldTail = 0;
    for (size_t i = from; i < l.events.size(); ++i)
        oldTail += l.cover(i);

    if (from == l.events.size()) {
        l.events.insert(l.events.end(), batch.begin(), batch.end());
    } else {
        std::vector<engine::TraceEvent> tail(l.events.begin() + std::ptrdiff_t(from), l.events.end());
        l.events.resize(from);
        std::merge(tail.begin(), tail.end(), batch.begin(), batch.end(), std::back_inserter(l.events), laneLess);
    }
    l.rebuildFrom(from);

    int64_t newTail = 0;
    for (size_t i = from; i < l.events.size(); ++i)
        newTail += l.cover(i);
    l.busyNs += newTail - oldTail;
}

std::optional<engine::TraceEvent> TimelineData::enclosingRegion(const engine::TraceEvent& event) const
{
    // Spans that begin at or before the event; the innermost enclosing one is the shortest.
    const auto end = std::upper_bound(m_regions.begin(), m_regions.end(), event.beginNs,
        [](int64_t ns, const engine::TraceEvent& r) { return ns < r.beginNs; });
    std::optional<engine::TraceEvent> best;
    for (auto it = m_regions.begin(); it != end; ++it)
        if (it->endNs >= event.endNs && (!best || it->durationNs() < best->durationNs()))
            best = *it;
    return best;
}

void TimelineData::clear()
{
    m_lanes.clear();
    m_regions.clear();
    m_opCounts = {};
    m_unitHistogram = {};
    m_unitCounts = {};
    m_events = 0;
    m_begin = m_end = 0;
    m_wallNs = 0;
}

size_t TimelineData::eventCount(int lane) const { return events(lane).size(); }

const std::vector<engine::TraceEvent>& TimelineData::events(int lane) const
{
    return lane >= 0 && lane < laneCount() ? m_lanes[size_t(lane)].events : kNoEvents;
}

const std::vector<int64_t>& TimelineData::markers(int lane) const
{
    return lane >= 0 && lane < laneCount() ? m_lanes[size_t(lane)].markers : kNoMarkers;
}

int64_t TimelineData::busyNs(int lane) const
{
    return lane >= 0 && lane < laneCount() ? m_lanes[size_t(lane)].busyNs : 0;
}

double TimelineData::busyFraction(int lane) const
{
    // The trace's clock starts with the run, so while it runs the span from 0 to the latest event is the time
    // elapsed so far; once it is done, the run's wall time (it also counts the time after the last event).
    const int64_t span = m_wallNs > 0 ? m_wallNs : endNs() - beginNs();
    return span > 0 ? std::clamp(double(busyNs(lane)) / double(span), 0.0, 1.0) : 0.0;
}

std::pair<size_t, size_t> TimelineData::overlapping(int laneIndex, int64_t begin, int64_t end) const
{
    if (laneIndex < 0 || laneIndex >= laneCount() || end <= begin)
        return { 0, 0 };
    const Lane& l = m_lanes[size_t(laneIndex)];
    // prefixMaxEnd is non-decreasing: before `first` every event ended before `begin`.
    const size_t first
        = size_t(std::lower_bound(l.prefixMaxEnd.begin(), l.prefixMaxEnd.end(), begin) - l.prefixMaxEnd.begin());
    const auto last = std::lower_bound(l.events.begin() + std::ptrdiff_t(first), l.events.end(), end,
        [](const engine::TraceEvent& e, int64_t t) { return e.beginNs < t; });
    return { first, size_t(last - l.events.begin()) };
}

std::vector<TimelineBucket> TimelineData::buckets(int laneIndex, int64_t begin, int64_t end, int columns) const
{
    std::vector<TimelineBucket> out;
    if (columns <= 0 || end <= begin)
        return out;
    out.resize(size_t(columns));
    const int64_t span = end - begin;
    // long double keeps span * k exact for any realistic span (its mantissa has 64 bits).
    for (int k = 0; k < columns; ++k) {
        out[size_t(k)].beginNs = begin + int64_t(std::floor((long double)span * k / columns));
        out[size_t(k)].endNs
            = k + 1 < columns ? begin + int64_t(std::floor((long double)span * (k + 1) / columns)) : end;
    }
    if (laneIndex < 0 || laneIndex >= laneCount())
        return out;

    // Adds [a, b) to the columns it covers, starting at column k (which begins at or before a).
    auto spread = [&](int k, int64_t a, int64_t b, auto&& add) {
        for (; a < b && k < columns; ++k) {
            const int64_t stop = std::min(b, out[size_t(k)].endNs);
            if (stop > a)
                add(k, stop - a);
            a = std::max(a, stop);
        }
    };

    const Lane& l = m_lanes[size_t(laneIndex)];
    std::vector<std::array<int64_t, kOps>> opNs(static_cast<size_t>(columns));
    std::vector<int8_t> firstOp(size_t(columns), -1); // for columns that only hold empty events

    // Clipped begins only grow along the lane, so the column of each is found by moving a cursor forward.
    int col = 0;
    auto seek = [&](int64_t t) {
        while (col + 1 < columns && out[size_t(col)].endNs <= t)
            ++col;
    };

    const auto [first, last] = overlapping(laneIndex, begin, end);
    size_t i = first;
    while (i < last) {
        // Whole summary blocks that fall inside one column: the common case when zoomed out.
        const int64_t b0 = l.events[i].beginNs;
        if (i % kFanOut == 0 && b0 >= begin) {
            seek(b0);
            const int64_t colEnd = out[size_t(col)].endNs;
            bool added = false;
            for (int level = kLevels - 1; level >= 0 && !added; --level) {
                const size_t size = blockSize(level);
                const size_t b = i / size;
                if (i % size != 0 || b >= l.levels[size_t(level)].size())
                    continue;
                const Summary& s = l.levels[size_t(level)][b];
                if (s.maxEnd > colEnd || l.events[i + size - 1].beginNs >= colEnd)
                    continue;
                TimelineBucket& c = out[size_t(col)];
                c.eventCount += int(size);
                c.busyNs += s.coverNs;
                if (level == 0) {
                    opNs[size_t(col)][size_t(s.dominant)] += s.durationNs;
                } else {
                    const auto& perOp = l.opNs[size_t(level)][b];
                    for (int op = 0; op < kOps; ++op)
                        opNs[size_t(col)][size_t(op)] += perOp[size_t(op)];
                }
                if (firstOp[size_t(col)] < 0)
                    firstOp[size_t(col)] = int8_t(l.events[i].op);
                i += size;
                added = true;
            }
            if (added)
                continue;
        }

        const engine::TraceEvent& e = l.events[i];
        const bool overlaps = e.beginNs < end && (e.endNs > begin || (e.endNs == e.beginNs && e.beginNs >= begin));
        if (overlaps) {
            const int64_t clippedBegin = std::max(e.beginNs, begin);
            const int64_t clippedEnd = std::min(e.endNs, end);
            seek(clippedBegin);
            ++out[size_t(col)].eventCount;
            if (firstOp[size_t(col)] < 0)
                firstOp[size_t(col)] = int8_t(e.op);
            const size_t op = size_t(e.op) % size_t(kOps);
            if (clippedEnd <= out[size_t(col)].endNs) {
                opNs[size_t(col)][op] += clippedEnd - clippedBegin;
            } else {
                spread(col, clippedBegin, clippedEnd, [&](int c, int64_t ns) { opNs[size_t(c)][op] += ns; });
            }
            const int64_t coverBegin = std::max(clippedBegin, i ? l.prefixMaxEnd[i - 1] : kMinTime);
            if (coverBegin < clippedEnd) {
                if (clippedEnd <= out[size_t(col)].endNs)
                    out[size_t(col)].busyNs += clippedEnd - coverBegin;
                else
                    spread(col, coverBegin, clippedEnd, [&](int c, int64_t ns) { out[size_t(c)].busyNs += ns; });
            }
        }
        ++i;
    }

    for (size_t k = 0; k < out.size(); ++k) {
        const auto& w = opNs[k];
        const auto best = std::max_element(w.begin(), w.end());
        if (*best > 0)
            out[k].dominant = engine::Op(best - w.begin());
        else if (firstOp[k] >= 0)
            out[k].dominant = engine::Op(firstOp[k]);
    }
    return out;
}

} // namespace ui
