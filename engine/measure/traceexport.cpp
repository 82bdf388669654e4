#include "engine/measure/traceexport.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>

namespace engine {

namespace {

using nlohmann::json;

// Trace Event Format timestamps are microseconds; doubles keep the nanoseconds (a double holds ns / 1000 to well
// under 0.5 ns for runs shorter than ~50 days, so parsing back with llround is exact).
double toMicros(int64_t ns) { return double(ns) / 1000.0; }
int64_t toNanos(double us) { return std::llround(us * 1000.0); }

int laneCount(const std::vector<TraceEvent>& events, const TraceMeta& meta)
{
    int lanes = std::max(1, meta.threads);
    for (const TraceEvent& e : events)
        lanes = std::max(lanes, int(e.worker) + 1);
    return lanes;
}

std::string category(const TraceEvent& e)
{
    if (e.op == Op::Serial)
        return "serial";
    if (isRegionSpan(e.op))
        return "region"; // a whole parallel region, fork to join, on the thread that started it
    if (e.layer >= 0)
        return "layer " + std::to_string(e.layer);
    return "model"; // embedding, logits, sampling, tokenising: outside the layer stack
}

json otherData(const TraceMeta& meta)
{
    json data = meta.extra.is_object() ? meta.extra : json::object();
    if (!meta.extra.is_null() && !meta.extra.is_object())
        data["extra"] = meta.extra;
    // The run's own description wins over extra keys of the same name.
    data["processName"] = meta.processName;
    data["model"] = meta.model;
    data["threads"] = meta.threads;
    data["strategy"] = meta.strategy;
    data["partitioner"] = meta.partitioner;
    return data;
}

json metadataEvent(const char* name, int tid, json args)
{
    return { { "ph", "M" }, { "name", name }, { "pid", kTracePid }, { "tid", tid }, { "args", std::move(args) } };
}

json sliceEvent(const TraceEvent& e)
{
    return {
        { "ph", "X" },
        { "name", opName(e.op) },
        { "cat", category(e) },
        { "pid", kTracePid },
        { "tid", int(e.worker) + kTraceTidOffset },
        { "ts", toMicros(e.beginNs) },
        { "dur", toMicros(e.endNs - e.beginNs) },
        { "args",
            {
                { "layer", int(e.layer) },
                { "rows", { e.first, e.last } },
                { "seq", int(e.sequence) },
                { "token", int(e.position) },
                { "tokens", int(e.tokens) },
            } },
    };
}

json instantEvent(const TraceEvent& e)
{
    // "s":"t": the instant belongs to the worker's own lane.
    return {
        { "ph", "i" },
        { "s", "t" },
        { "name", opName(e.op) },
        { "cat", "worker" },
        { "pid", kTracePid },
        { "tid", int(e.worker) + kTraceTidOffset },
        { "ts", toMicros(e.beginNs) },
    };
}

json counterEvent(int64_t ns, int busy)
{
    return {
        { "ph", "C" },
        { "name", "busy workers" },
        { "pid", kTracePid },
        { "ts", toMicros(ns) },
        { "args", { { "busy", busy } } },
    };
}

// Calls fn(json) for every entry of "traceEvents", in file order: metadata first, then timed events by ts.
template <class Fn> void forEachTraceEvent(const std::vector<TraceEvent>& events, const TraceMeta& meta, Fn&& fn)
{
    fn(metadataEvent("process_name", kTraceTidOffset, { { "name", meta.processName } }));
    const int lanes = laneCount(events, meta);
    for (int slot = 0; slot < lanes; ++slot) {
        const int tid = slot + kTraceTidOffset;
        std::string name = "worker " + std::to_string(slot);
        if (slot == 0)
            name += " (caller)"; // arena slot 0 is the thread that entered the arena
        if (size_t(slot) < meta.laneCpus.size())
            name += ", CPU " + std::to_string(meta.laneCpus[size_t(slot)]);
        fn(metadataEvent("thread_name", tid, { { "name", name } }));
        fn(metadataEvent("thread_sort_index", tid, { { "sort_index", slot } }));
    }

    // Timed entries: (ts, −dur) orders parents before the slices they contain, as viewers expect for equal ts.
    enum Kind : int { Slice, Instant, Counter };
    struct Timed {
        int64_t ts, dur;
        Kind kind;
        size_t index;
    };
    std::vector<Timed> timed;
    timed.reserve(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
        const TraceEvent& e = events[i];
        const bool instant = isMarker(e.op) && !isRegionSpan(e.op);
        timed.push_back({ e.beginNs, instant ? 0 : e.endNs - e.beginNs, instant ? Instant : Slice, i });
    }
    const auto steps = busyWorkerSteps(events);
    for (size_t i = 0; i < steps.size(); ++i)
        timed.push_back({ steps[i].first, 0, Counter, i });
    std::stable_sort(timed.begin(), timed.end(),
        [](const Timed& a, const Timed& b) { return std::tie(a.ts, b.dur) < std::tie(b.ts, a.dur); });

    for (const Timed& t : timed) {
        switch (t.kind) {
        case Slice:
            fn(sliceEvent(events[t.index]));
            break;
        case Instant:
            fn(instantEvent(events[t.index]));
            break;
        case Counter:
            fn(counterEvent(steps[t.index].first, steps[t.index].second));
            break;
        }
    }
}

std::string dumpJson(const json& j)
{
    // Replace invalid UTF-8 (a prompt or path could hold some) rather than throw halfway through a file.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Op opFromName(const std::string& name)
{
    for (int i = 0; i < int(Op::Count_); ++i)
        if (name == opName(Op(i)))
            return Op(i);
    return Op::Other;
}

// Reading a field back: a number inside what its TraceEvent field holds (a fraction is rounded), or the fallback
// when absent and allowed. Anything else is refused naming the event, never wrapped, converted out of range or
// overflowed (fuzz/trace_json.cpp found such inputs undefined behaviour). `value` is null when the field is absent.
double numberValue(const json* value, const char* key, size_t index, double lo, double hi,
    std::optional<double> fallback = std::nullopt)
{
    const std::string where = "Chrome trace: event " + std::to_string(index);
    if (!value && fallback)
        return *fallback;
    if (!value || !value->is_number())
        throw std::runtime_error(where + " has no numeric \"" + key + "\"");
    const double v = value->get<double>();
    if (!(v >= lo && v <= hi)) // also refuses NaN
        throw std::runtime_error(where + " has \"" + key + "\" out of range (" + value->dump() + ")");
    return v;
}

const json* fieldOf(const json& object, const char* key)
{
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

double numberField(const json& event, const char* key, size_t index, double lo, double hi)
{
    return numberValue(fieldOf(event, key), key, index, lo, hi);
}

// An integer of type Int stored as value + offset (a tid is the worker + kTraceTidOffset).
template <typename Int>
Int integerValue(const json* value, const char* key, size_t index, std::optional<Int> fallback, int64_t offset = 0)
{
    const double lo = double(std::numeric_limits<Int>::min()) + double(offset);
    const double hi = double(std::numeric_limits<Int>::max()) + double(offset);
    const auto stored = fallback ? std::optional<double>(double(*fallback) + double(offset)) : std::nullopt;
    return Int(std::llround(numberValue(value, key, index, lo, hi, stored)) - offset);
}

// Times within ±10^12 µs (11.5 days) of the trace's zero: in nanoseconds, begin + duration cannot overflow.
constexpr double kMaxTraceMicros = 1e12;

std::string textField(const json& event, const char* key)
{
    const auto it = event.find(key);
    return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

nlohmann::json chromeTraceJson(const std::vector<TraceEvent>& events, const TraceMeta& meta)
{
    json list = json::array();
    forEachTraceEvent(events, meta, [&](json&& e) { list.push_back(std::move(e)); });
    return { { "traceEvents", std::move(list) }, { "displayTimeUnit", "ns" }, { "otherData", otherData(meta) } };
}

void writeChromeTrace(const std::string& path, const std::vector<TraceEvent>& events, const TraceMeta& meta)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        throw std::runtime_error("cannot open '" + path + "' to write the trace: " + std::strerror(errno));
    out << "{\"displayTimeUnit\":\"ns\",\"otherData\":" << dumpJson(otherData(meta)) << ",\n\"traceEvents\":[";
    bool first = true;
    forEachTraceEvent(events, meta, [&](json&& e) {
        out << (first ? "\n" : ",\n") << dumpJson(e);
        first = false;
    });
    out << "\n]}\n";
    out.flush();
    if (!out)
        throw std::runtime_error("error writing the trace to '" + path + "': " + std::strerror(errno));
}

std::vector<TraceEvent> parseChromeTrace(const nlohmann::json& trace, bool withMarkers)
{
    const json* list = nullptr;
    if (trace.is_array())
        list = &trace;
    else if (trace.is_object() && trace.contains("traceEvents") && trace["traceEvents"].is_array())
        list = &trace["traceEvents"];
    else
        throw std::runtime_error("Chrome trace: expected an array of events or an object with \"traceEvents\"");

    std::vector<TraceEvent> events;
    for (size_t i = 0; i < list->size(); ++i) {
        const json& e = (*list)[i];
        if (!e.is_object())
            throw std::runtime_error("Chrome trace: event " + std::to_string(i) + " is not an object");
        const std::string ph = textField(e, "ph");
        const std::string name = textField(e, "name");
        const bool slice = ph == "X";
        const bool marker
            = withMarkers && (ph == "i" || ph == "I") && isMarker(opFromName(name)) && !isRegionSpan(opFromName(name));
        if (!slice && !marker)
            continue;

        TraceEvent ev;
        ev.op = opFromName(name);
        ev.worker = integerValue<int16_t>(fieldOf(e, "tid"), "tid", i, std::nullopt, kTraceTidOffset);
        ev.beginNs = toNanos(numberField(e, "ts", i, -kMaxTraceMicros, kMaxTraceMicros));
        ev.endNs
            = slice ? ev.beginNs + toNanos(numberField(e, "dur", i, -kMaxTraceMicros, kMaxTraceMicros)) : ev.beginNs;
        if (slice && e.contains("args") && e["args"].is_object()) {
            const json& args = e["args"];
            ev.layer = integerValue<int16_t>(fieldOf(args, "layer"), "layer", i, -1);
            ev.sequence = integerValue<int16_t>(fieldOf(args, "seq"), "seq", i, 0);
            ev.position = integerValue<int32_t>(fieldOf(args, "token"), "token", i, 0);
            ev.tokens = integerValue<uint8_t>(fieldOf(args, "tokens"), "tokens", i, 1);
            const auto rows = args.find("rows");
            if (rows != args.end() && rows->is_array() && rows->size() == 2) {
                ev.first = integerValue<uint32_t>(&(*rows)[0], "rows", i, std::nullopt);
                ev.last = integerValue<uint32_t>(&(*rows)[1], "rows", i, std::nullopt);
            }
        }
        events.push_back(ev);
    }
    return events;
}

std::vector<std::pair<int64_t, int>> busyWorkerSteps(const std::vector<TraceEvent>& events)
{
    // Sweep line over slice ends: +1 at a begin, −1 at an end, per worker. A worker is busy while its depth > 0, so
    // nested slices (nested parallelism) do not count it twice. Empty slices never make anyone busy.
    struct Change {
        int64_t ns;
        int worker;
        int delta;
    };
    std::vector<Change> changes;
    for (const TraceEvent& e : events) {
        if (isMarker(e.op) || e.endNs <= e.beginNs)
            continue;
        changes.push_back({ e.beginNs, e.worker, +1 });
        changes.push_back({ e.endNs, e.worker, -1 });
    }
    std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) { return a.ns < b.ns; });

    std::vector<std::pair<int64_t, int>> steps;
    steps.emplace_back(changes.empty() ? 0 : std::min<int64_t>(0, changes.front().ns), 0);
    std::map<int, int> depth;
    int busy = 0;
    for (size_t i = 0; i < changes.size();) {
        // Apply every change at this instant before looking at the count, so a slice that ends exactly where the
        // next begins on the same worker leaves no one-instant dip.
        const int64_t ns = changes[i].ns;
        for (; i < changes.size() && changes[i].ns == ns; ++i) {
            int& d = depth[changes[i].worker];
            const bool before = d > 0;
            d += changes[i].delta;
            busy += int(d > 0) - int(before);
        }
        if (busy == steps.back().second)
            continue;
        if (steps.back().first == ns)
            steps.back().second = busy;
        else
            steps.emplace_back(ns, busy);
    }
    return steps;
}

bool lanesWellFormed(const std::vector<TraceEvent>& events, std::string* why)
{
    auto describe = [](const TraceEvent& e) {
        return std::string(opName(e.op)) + " [" + std::to_string(e.beginNs) + ", " + std::to_string(e.endNs) + ") ns";
    };
    auto fail = [&](std::string message) {
        if (why)
            *why = std::move(message);
        return false;
    };

    std::map<int, std::vector<const TraceEvent*>> lanes;
    for (const TraceEvent& e : events) {
        if (isMarker(e.op))
            continue;
        if (e.endNs < e.beginNs)
            return fail("worker " + std::to_string(e.worker) + ": " + describe(e) + " ends before it begins");
        lanes[e.worker].push_back(&e);
    }
    for (auto& [worker, lane] : lanes) {
        // By begin, the longer first: a slice then either nests in the innermost open one or starts after it ends.
        std::sort(lane.begin(), lane.end(), [](const TraceEvent* a, const TraceEvent* b) {
            return std::tie(a->beginNs, b->endNs) < std::tie(b->beginNs, a->endNs);
        });
        std::vector<const TraceEvent*> open;
        for (const TraceEvent* e : lane) {
            while (!open.empty() && open.back()->endNs <= e->beginNs)
                open.pop_back();
            if (!open.empty() && e->endNs > open.back()->endNs)
                return fail("worker " + std::to_string(worker) + ": " + describe(*open.back()) + " and " + describe(*e)
                    + " overlap without nesting");
            open.push_back(e);
        }
    }
    if (why)
        why->clear();
    return true;
}

} // namespace engine
