// The timeline's data: trace events per worker lane, sorted, with summaries that let a view aggregate a
// million events into pixel columns without touching each one.
#pragma once

#include "engine/parallel/trace.h"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace ui {

// What one pixel column of one lane holds.
struct TimelineBucket {
    int64_t beginNs = 0; // the column's time range [beginNs, endNs)
    int64_t endNs = 0;
    int64_t busyNs = 0; // time inside the column covered by at least one event of the lane
    int eventCount = 0; // events whose (clipped) begin falls in this column
    engine::Op dominant = engine::Op::Other; // the op with the most event time in the column
    bool empty() const { return eventCount == 0 && busyNs == 0; }
};

class TimelineData {
public:
    static constexpr int kOps = int(engine::Op::Count_);
    static constexpr int kMaxLanes = 1024;

    // Events may arrive in any order; each lane stays sorted by begin (ties: longer first, so a slice precedes
    // the slices nested in it). Appending in per-lane time order is O(batch). Markers (worker join/leave) are
    // kept apart from the slices. Events with a negative worker or one at or above kMaxLanes are ignored.
    void append(const std::vector<engine::TraceEvent>& events);
    void clear();

    int laneCount() const { return int(m_lanes.size()); }
    size_t eventCount() const { return m_events; }
    size_t eventCount(int lane) const;
    const std::vector<engine::TraceEvent>& events(int lane) const;
    const std::vector<int64_t>& markers(int lane) const; // join/leave instants, sorted

    // The whole run: [min(0, earliest begin), latest end]. {0, 0} when empty.
    int64_t beginNs() const { return m_events ? m_begin : 0; }
    int64_t endNs() const { return m_events ? m_end : 0; }
    // Time the lane had at least one event open (nested slices count once).
    int64_t busyNs(int lane) const;
    // busyNs(lane) over the run's time, in [0, 1]: over its wall time once setRunWallNs gave it (the Workers
    // tab's "Busy % of run" divides by the same), else over the time elapsed so far (run start to the latest
    // event).
    double busyFraction(int lane) const;
    // The finished run's wall time (engine RunMetrics::wallMs in ns); 0 while it runs. clear() resets it.
    void setRunWallNs(int64_t ns) { m_wallNs = ns; }
    int64_t runWallNs() const { return m_wallNs; }
    // How many events of each op are stored (for a legend of the ops present).
    const std::array<size_t, kOps>& opCounts() const { return m_opCounts; }

    // The run's region spans (Op::Region: a parallel region from fork to join, recorded by the thread that
    // started it), sorted by begin. The lanes do not draw them; a click on a chunk finds its region here.
    const std::vector<engine::TraceEvent>& regions() const { return m_regions; }
    // The innermost region span that encloses `event` (begins at or before it and ends at or after it, on any
    // lane), if any.
    std::optional<engine::TraceEvent> enclosingRegion(const engine::TraceEvent& event) const;

    // Index range [first, last) of the lane's events that overlap [begin, end): an event overlaps if it begins
    // before end and ends after begin (an empty event: begins in [begin, end)). Events outside the range may be
    // inside it when slices nest; callers check each.
    std::pair<size_t, size_t> overlapping(int lane, int64_t begin, int64_t end) const;

    // Splits [begin, end) into `columns` columns with integer boundaries begin + (end-begin)*k/columns and
    // aggregates the lane's events into them. Every overlapping event is counted once, in the column of its
    // clipped begin; busy time is split between the columns it covers, so the sum of busyNs over all columns is
    // the lane's busy time within [begin, end). The dominant op is exact for columns of whole events and blocks
    // of 64 or more; a block of 8 counts all its time for its own dominant op. Cost: O(columns + events in
    // range) at worst, about O(columns) when zoomed out, as whole blocks of events fall into one column.
    std::vector<TimelineBucket> buckets(int lane, int64_t begin, int64_t end, int columns) const;

    // Chunks the operating system probably stretched. A chunk of a parallel loop (matmuls, attention,
    // logits) does a known amount of work, its rows (or heads) times its tokens, so its time per unit is
    // about the same as its op's other chunks'. One far slower than its op's median (by kStretchFactor,
    // and at least kStretchMinNs long) most likely had its thread preempted or its core shared with
    // another process. A drawing aid: the median is over the chunks stored so far, kept as a histogram.
    static constexpr double kStretchFactor = 8.0;
    static constexpr int64_t kStretchMinNs = 50'000;
    // How many times slower per unit than its op's median the chunk ran; 0 when not judged (other ops,
    // too few chunks of its op yet).
    double slowdown(const engine::TraceEvent& event) const;
    bool isStretched(const engine::TraceEvent& event) const { return slowdown(event) >= kStretchFactor; }
    // The lane's chunks long enough to be stretched (candidates for isStretched), in arrival order.
    const std::vector<engine::TraceEvent>& longEvents(int lane) const;

private:
    // Summaries of aligned blocks of 8, 64, 512 and 4096 events: a block that falls inside one column is added
    // in one step, and one that straddles a column boundary splits into eight smaller ones.
    static constexpr size_t kFanOut = 8;
    static constexpr int kLevels = 4;
    static constexpr size_t blockSize(int level) { return size_t(1) << (3 * (level + 1)); }

    struct Summary {
        int64_t maxEnd = 0; // latest end of the block's own events
        int64_t coverNs = 0; // new coverage the block's events add (see Lane::cover)
        int64_t durationNs = 0; // sum of the events' durations
        engine::Op dominant = engine::Op::Other; // the op with the most time (level 0 keeps no per-op times)
    };
    struct Lane {
        std::vector<engine::TraceEvent> events;
        std::vector<int64_t> prefixMaxEnd; // max end of events[0..i]; non-decreasing, so it can be searched
        std::array<std::vector<Summary>, kLevels> levels; // one per complete block of blockSize(level) events
        std::array<std::vector<std::array<int64_t, kOps>>, kLevels> opNs; // per op time, levels >= 1 only
        std::vector<int64_t> markers;
        std::vector<engine::TraceEvent> longEvents;
        int64_t busyNs = 0;

        // Time event i covers that no earlier event (in sort order) covered: sums to the union of the events.
        int64_t cover(size_t i) const;
        void rebuildFrom(size_t from);
    };

    Lane& lane(int index);
    void appendToLane(Lane& lane, std::vector<engine::TraceEvent>& batch);

    std::vector<Lane> m_lanes;
    std::vector<engine::TraceEvent> m_regions; // region spans, sorted by begin
    std::array<size_t, kOps> m_opCounts {};
    // Per op, chunks counted by log2(ns per unit) in quarter-octave bins (see slowdown()).
    static constexpr int kUnitBins = 128;
    std::array<std::array<uint32_t, kUnitBins>, kOps> m_unitHistogram {};
    std::array<uint32_t, kOps> m_unitCounts {};
    size_t m_events = 0;
    int64_t m_begin = 0;
    int64_t m_end = 0;
    int64_t m_wallNs = 0;
};

} // namespace ui
