#include "session/sessionfile.h"

#include "engine/measure/sweepexport.h"
#include "engine/run/runsettings.h"
#include "session/tracecodec.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

namespace session {

using nlohmann::json;

namespace {

const char* const kFormat = "llm-playground-session";
const char* const kLegacyFormat = "llm-playground-session-1";

// ---- one table of fields per struct, read by both directions (Writer and Reader below)

template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::WorkerStats>
{
    v("slot", s.slot), v("busy_ns", s.busyNs), v("idle_ns", s.idleNs), v("chunks", s.chunks);
    v("mean_chunk_ns", s.meanChunkNs);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::RunMetrics>
{
    v("wall_ms", s.wallMs), v("prefill_ms", s.prefillMs), v("decode_ms", s.decodeMs);
    v("prefill_begin_ns", s.prefillBeginNs), v("prefill_end_ns", s.prefillEndNs), v("decode_end_ns", s.decodeEndNs);
    v("wall_ns", s.wallNs), v("time_to_first_token_ms", s.timeToFirstTokenMs), v("prompt_tokens", s.promptTokens);
    v("generated_tokens", s.generatedTokens), v("prefill_tps", s.prefillTokensPerSecond);
    v("decode_tps", s.decodeTokensPerSecond), v("total_tps", s.totalTokensPerSecond), v("workers", s.workers);
    v("load_imbalance", s.loadImbalance), v("parallel_regions", s.parallelRegions);
    v("mean_region_ns", s.meanRegionNs), v("trace_events", s.traceEvents);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::GenerationStats>
{
    v("prompt_tokens", s.promptTokens), v("generated_tokens", s.generatedTokens), v("prefill_ms", s.prefillMs);
    v("time_to_first_token_ms", s.timeToFirstTokenMs), v("decode_ms", s.decodeMs), v("total_ms", s.totalMs);
    v("stop_reason", s.stopReason);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::GenerationResult>
{
    v("text", s.text), v("prompt_ids", s.promptIds), v("token_ids", s.tokenIds), v("chat_template", s.chatTemplate);
    v("stats", s.stats);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::BackgroundLoad>
{
    v("measured", s.measured), v("other_cores", s.otherCores), v("other_share", s.otherShare), v("cpus", s.cpus);
    v("seconds", s.seconds);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, TokenRecord>
{
    v("sequence", s.sequence), v("id", s.id), v("position", s.position), v("text", s.text);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::IdleBreakdown>
{
    v("imbalance", s.imbalance), v("overhead", s.overhead), v("serial", s.serial), v("untraced", s.untraced);
    v("disturbed", s.disturbed);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::TimeBreakdown>
{
    v("begin_ns", s.beginNs), v("end_ns", s.endNs), v("lanes", s.lanes), v("wall_ns", s.wallNs);
    v("lane_ns", s.laneNs), v("busy_ns", s.busyNs), v("idle", s.idle), v("serial_ns", s.serialNs);
    v("parallel_ns", s.parallelNs), v("untraced_ns", s.untracedNs), v("parallel_work_ns", s.parallelWorkNs);
    v("regions", s.regions), v("periods", s.periods), v("concurrent_ns", s.concurrentNs);
    v("task_periods", s.taskPeriods), v("disturbed_periods", s.disturbedPeriods);
    v("undisturbed_periods", s.undisturbedPeriods), v("fork_join_median_ns", s.forkJoinMedianNs);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::RunAnalysis>
{
    v("total", s.total), v("prefill", s.prefill), v("decode", s.decode), v("valid", s.valid);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::OpStats>
{
    v("op", s.op), v("phase", s.phase), v("calls", s.calls), v("chunks", s.chunks), v("busy_ns", s.busyNs);
    v("serial_chunks", s.serialChunks), v("serial_ns", s.serialNs), v("elapsed_ns", s.elapsedNs), v("bytes", s.bytes),
        v("flops", s.flops), v("modelled", s.modelled);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::MachinePeaks>
{
    v("cpu", s.cpu), v("cores", s.cores), v("bandwidth_gbps_1", s.bandwidthGBps1);
    v("bandwidth_gbps_all", s.bandwidthGBpsAll), v("peak_gflops_1", s.peakGflops1);
    v("peak_gflops_all", s.peakGflopsAll), v("fma_kernel", s.fmaKernel), v("fork_join_ns_1", s.forkJoinNs1);
    v("fork_join_ns_all", s.forkJoinNsAll), v("fork_join_ns_over", s.forkJoinNsOver);
    v("last_level_cache_bytes", s.lastLevelCacheBytes), v("from_cache", s.fromCache);
    v("measured_busy", s.measuredBusy);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::PredictionPoint>
{
    v("threads", s.threads), v("beyond_cores", s.beyondCores), v("prefill_ms", s.prefillMs);
    v("decode_ms", s.decodeMs), v("prefill_tps", s.prefillTokensPerSecond), v("decode_tps", s.decodeTokensPerSecond);
    v("prefill_speedup", s.prefillSpeedup), v("decode_speedup", s.decodeSpeedup);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::ScalingPrediction>
{
    v("available", s.available), v("reason", s.reason), v("measured_threads", s.measuredThreads);
    v("cores", s.cores), v("target", s.target), v("memory_capped", s.memoryCapped), v("points", s.points);
    v("stretched_regions_left_out", s.stretchedRegionsLeftOut);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::RunReport>
{
    v("analysis", s.analysis), v("ops", s.ops), v("machine", s.machine), v("prediction", s.prediction);
    v("threads", s.threads), v("strategy", s.strategy), v("prefill_tokens", s.prefillTokens);
    v("decode_tokens", s.decodeTokens), v("sequences", s.sequences);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::TimingSamples>
{
    v("threads", s.threads), v("seconds", s.seconds);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::StrategySweep::PointTrace>
{
    v("threads", s.threads), v("prefill", s.prefill), v("decode", s.decode), v("total", s.total);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::StrategySweep::PointLoad>
{
    v("threads", s.threads), v("load", s.load);
}
template <class V, class S>
void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::StrategySweep>
{
    v("strategy", s.strategy), v("prefill", s.prefill), v("decode", s.decode), v("total", s.total);
    v("prompt_tokens", s.promptTokens), v("generated_tokens", s.generatedTokens), v("scaled_work", s.scaledWork);
    v("traced", s.traced), v("prediction", s.prediction), v("background_loads", s.backgroundLoads);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, engine::SweepResult>
{
    v("workload", s.workload), v("machine", s.machine), v("strategies", s.strategies);
    v("background_load", s.backgroundLoad);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, RunRecord>
{
    v("started_at", s.startedAt), v("sequences", s.sequences), v("tokens", s.tokens), v("metrics", s.metrics);
    v("cancelled", s.cancelled), v("threads", s.threads), v("strategy", s.strategy), v("pinned_cpus", s.pinnedCpus);
    v("background_load", s.backgroundLoad), v("report", s.report);
}
template <class V, class S> void fields(V& v, S& s) requires std::is_same_v<std::remove_const_t<S>, ModelRef>
{
    v("path", s.path), v("name", s.name), v("size", s.size), v("hash", s.hash);
}

template <class T> constexpr int enumCount()
{
    if constexpr (std::is_same_v<T, engine::Op>)
        return int(engine::Op::Count_);
    else if constexpr (std::is_same_v<T, engine::Phase>)
        return 2;
    else if constexpr (std::is_same_v<T, engine::StopReason>)
        return 4;
    else if constexpr (std::is_same_v<T, engine::PredictionTarget>)
        return 2;
    else
        static_assert(sizeof(T) == 0, "enum without a count");
}

// ---- writing

struct Writer;
template <class T> json enc(const T& v);

struct Writer {
    json& out;
    template <class T> void operator()(const char* key, const T& value) { out[key] = enc(value); }
};

template <class T> json enc(const T& v)
{
    if constexpr (std::is_same_v<T, json>)
        return v;
    else if constexpr (std::is_same_v<T, engine::Strategy>)
        return engine::strategyName(v);
    else if constexpr (std::is_enum_v<T>)
        return int(v);
    else if constexpr (std::is_same_v<T, bool> || std::is_integral_v<T> || std::is_same_v<T, std::string>)
        return v;
    else if constexpr (std::is_floating_point_v<T>)
        return std::isfinite(v) ? json(v) : json(nullptr); // NaN and ±inf: null
    else if constexpr (requires { v.has_value(); })
        return v ? enc(*v) : json(nullptr);
    else if constexpr (requires {
                           v.begin();
                           v.size();
                       }) {
        json a = json::array();
        for (const auto& e : v)
            a.push_back(enc(e));
        return a;
    } else {
        json o = json::object();
        Writer w { o };
        fields(w, v);
        return o;
    }
}

// ---- reading: every value checked; a missing key keeps the default (older files, optional fields)

[[noreturn]] void refuse(const std::string& where, const std::string& what) { throw SessionError(where + ": " + what); }

template <class T> void dec(const json& j, T& v, const std::string& where);

struct Reader {
    const json& in;
    std::string where;
    template <class T> void operator()(const char* key, T& value)
    {
        const auto it = in.find(key);
        if (it != in.end())
            dec(*it, value, where + "." + key);
    }
};

template <class T> void dec(const json& j, T& v, const std::string& where)
{
    if constexpr (std::is_same_v<T, json>) {
        v = j;
    } else if constexpr (std::is_same_v<T, engine::Strategy>) {
        const auto s = j.is_string() ? engine::strategyFromName(j.get<std::string>()) : std::nullopt;
        if (!s)
            refuse(where, "not a strategy");
        v = *s;
    } else if constexpr (std::is_enum_v<T>) {
        if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() >= enumCount<T>())
            refuse(where, "out of range");
        v = T(j.get<int>());
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!j.is_boolean())
            refuse(where, "expected true or false");
        v = j.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
        if (!j.is_number_integer())
            refuse(where, "expected a whole number");
        if constexpr (std::is_unsigned_v<T>) {
            if (j.is_number_unsigned() ? j.get<uint64_t>() > std::numeric_limits<T>::max() : j.get<int64_t>() < 0)
                refuse(where, "out of range");
        } else {
            if (j.is_number_unsigned() ? j.get<uint64_t>() > uint64_t(std::numeric_limits<T>::max())
                                       : (j.get<int64_t>() < std::numeric_limits<T>::min()
                                           || j.get<int64_t>() > std::numeric_limits<T>::max()))
                refuse(where, "out of range");
        }
        v = j.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
        if (j.is_null())
            v = std::numeric_limits<T>::quiet_NaN();
        else if (j.is_number())
            v = j.get<T>();
        else
            refuse(where, "expected a number");
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!j.is_string())
            refuse(where, "expected text");
        v = j.get<std::string>();
    } else if constexpr (requires {
                             v.has_value();
                             v.emplace();
                         }) {
        if (j.is_null()) {
            v.reset();
        } else {
            v.emplace();
            dec(j, *v, where);
        }
    } else if constexpr (requires { v.push_back(typename T::value_type {}); }) {
        if (!j.is_array())
            refuse(where, "expected a list");
        v.clear();
        v.reserve(j.size()); // the parsed document already holds that many values: bounded by the file size
        for (size_t i = 0; i < j.size(); ++i) {
            typename T::value_type e {};
            dec(j[i], e, where + "[" + std::to_string(i) + "]");
            v.push_back(std::move(e));
        }
    } else {
        if (!j.is_object())
            refuse(where, "expected an object");
        Reader r { j, where };
        fields(r, v);
    }
}

// Refuses nesting deeper than the limit before parsing (the parser and the document's destructor recurse).
void checkDepth(const std::string& bytes)
{
    int depth = 0;
    bool inString = false;
    bool escaped = false;
    for (const char c : bytes) {
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"')
            inString = true;
        else if (c == '[' || c == '{') {
            if (++depth > SessionFile::kMaxDepth)
                throw SessionError("the file nests deeper than " + std::to_string(SessionFile::kMaxDepth)
                    + " levels: not a session (or a damaged one)");
        } else if (c == ']' || c == '}')
            --depth;
    }
}

std::string base64Encode(const std::string& in)
{
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const uint32_t n = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
        out += t[n >> 18], out += t[(n >> 12) & 63], out += t[(n >> 6) & 63], out += t[n & 63];
    }
    if (i + 1 == in.size()) {
        const uint32_t n = uint32_t(uint8_t(in[i])) << 16;
        out += t[n >> 18], out += t[(n >> 12) & 63], out += "==";
    } else if (i + 2 == in.size()) {
        const uint32_t n = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
        out += t[n >> 18], out += t[(n >> 12) & 63], out += t[(n >> 6) & 63], out += '=';
    }
    return out;
}

std::string base64Decode(const std::string& in, const std::string& where)
{
    if (in.size() % 4 != 0)
        refuse(where, "damaged (not base64)");
    auto value = [&](char c) -> uint32_t {
        if (c >= 'A' && c <= 'Z')
            return uint32_t(c - 'A');
        if (c >= 'a' && c <= 'z')
            return uint32_t(c - 'a' + 26);
        if (c >= '0' && c <= '9')
            return uint32_t(c - '0' + 52);
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
        refuse(where, "damaged (not base64)");
    };
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (size_t i = 0; i < in.size(); i += 4) {
        const int pad = (in[i + 3] == '=') + (in[i + 2] == '=');
        if (pad && i + 4 != in.size())
            refuse(where, "damaged (not base64)");
        const uint32_t n = value(in[i]) << 18 | value(in[i + 1]) << 12 | (pad >= 2 ? 0 : value(in[i + 2]) << 6)
            | (pad >= 1 ? 0 : value(in[i + 3]));
        out += char(n >> 16);
        if (pad < 2)
            out += char((n >> 8) & 0xff);
        if (pad < 1)
            out += char(n & 0xff);
    }
    return out;
}

engine::RunRequest settingsFrom(const json& j, const std::string& where)
{
    if (!j.is_object())
        refuse(where, "expected an object");
    try {
        return engine::runRequestFromJson(j);
    } catch (const std::exception& e) {
        refuse(where, e.what());
    }
}

RunRecord runFrom(const json& j, const std::string& where)
{
    RunRecord run;
    dec(j, run, where);
    if (const auto s = j.find("settings"); s != j.end())
        run.settings = settingsFrom(*s, where + ".settings");
    if (const auto t = j.find("trace"); t != j.end() && !t->is_null()) {
        if (!t->is_object() || t->value("encoding", "") != "zlib-columns-v1")
            refuse(where + ".trace", "unknown encoding");
        uint64_t count = 0;
        dec(t->value("events", json()), count, where + ".trace.events");
        std::string data;
        dec(t->value("data", json()), data, where + ".trace.data");
        try {
            run.trace = TraceCodec::decode(base64Decode(data, where + ".trace.data"), count);
        } catch (const SessionError&) {
            throw;
        } catch (const std::exception& e) {
            refuse(where + ".trace", e.what());
        }
    }
    return run;
}

Session fromLegacy(const json& j)
{
    Session s;
    s.formatVersion = 1;
    s.settings = settingsFrom(j, "settings");
    // A format 1 session without "chat" has always opened with it on, the window's default then.
    if (!j.contains("chat"))
        s.settings.chat = true;
    if (const auto m = j.find("model"); m != j.end() && m->is_string())
        s.model.path = m->get<std::string>();
    if (const auto o = j.find("outputs"); o != j.end() && o->is_array())
        for (const json& v : *o)
            if (v.is_object())
                s.legacyOutputs.emplace_back(v.value("text", ""), v.value("stats", ""));
    return s;
}

} // namespace

std::string SessionFile::nowUtc()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm {};
    gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

json SessionFile::runToJson(const RunRecord& run)
{
    json j = enc(run);
    j["settings"] = engine::toJson(run.settings);
    if (!run.trace.empty())
        j["trace"] = { { "encoding", "zlib-columns-v1" }, { "events", run.trace.size() },
            { "data", base64Encode(TraceCodec::encode(run.trace)) } };
    // For readers of the file, not read back: the analysis as the CLI's `analyze --json` prints it.
    if (run.report)
        j["analysis"] = engine::toJson(*run.report);
    return j;
}

json SessionFile::sweepToJson(const SweepRecord& sweep)
{
    json j = { { "started_at", sweep.startedAt }, { "result", enc(sweep.result) } };
    // For readers: speedups, efficiencies and the fits as the sweep export writes them (derived on reading).
    j["analysis"] = engine::sweepToJson(sweep.result);
    return j;
}

json SessionFile::toJson(const Session& session)
{
    json j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["saved_at"] = nowUtc();
    j["model"] = enc(session.model);
    j["settings"] = engine::toJson(session.settings);
    j["machine"] = session.machine;
    json runs = json::array();
    for (const RunRecord& r : session.runs)
        runs.push_back(runToJson(r));
    j["runs"] = std::move(runs);
    json sweeps = json::array();
    for (const SweepRecord& s : session.sweeps)
        sweeps.push_back(sweepToJson(s));
    j["sweeps"] = std::move(sweeps);
    return j;
}

Session SessionFile::fromJson(const json& j)
{
    if (!j.is_object())
        throw SessionError("not a playground session (no JSON object)");
    const json format = j.value("format", json());
    if (format == kLegacyFormat)
        return fromLegacy(j);
    if (format != kFormat)
        throw SessionError("not a playground session (its \"format\" is not \"llm-playground-session\")");
    const json version = j.value("version", json());
    if (!version.is_number_integer() || version.get<int64_t>() < 2)
        throw SessionError("damaged: \"version\" is missing or not a supported number");
    if (version.get<int64_t>() > kVersion)
        throw SessionError("written by a newer version of the playground (session format "
            + std::to_string(version.get<int64_t>()) + "; this one reads up to " + std::to_string(kVersion)
            + "): update the playground to open it");
    Session s;
    s.formatVersion = int(version.get<int64_t>());
    if (const auto m = j.find("model"); m != j.end())
        dec(*m, s.model, "model");
    if (const auto st = j.find("settings"); st != j.end())
        s.settings = settingsFrom(*st, "settings");
    if (const auto m = j.find("machine"); m != j.end() && !m->is_null()) {
        if (!m->is_object())
            refuse("machine", "expected an object");
        s.machine = *m;
    }
    if (const auto runs = j.find("runs"); runs != j.end()) {
        if (!runs->is_array())
            refuse("runs", "expected a list");
        if (runs->size() > kMaxRuns)
            refuse("runs", "more than " + std::to_string(kMaxRuns) + " runs");
        for (size_t i = 0; i < runs->size(); ++i) {
            const std::string where = "runs[" + std::to_string(i) + "]";
            if (!(*runs)[i].is_object())
                refuse(where, "expected an object");
            s.runs.push_back(runFrom((*runs)[i], where));
        }
    }
    if (const auto sweeps = j.find("sweeps"); sweeps != j.end()) {
        if (!sweeps->is_array())
            refuse("sweeps", "expected a list");
        if (sweeps->size() > kMaxSweeps)
            refuse("sweeps", "more than " + std::to_string(kMaxSweeps) + " sweeps");
        for (size_t i = 0; i < sweeps->size(); ++i) {
            const std::string where = "sweeps[" + std::to_string(i) + "]";
            const json& e = (*sweeps)[i];
            if (!e.is_object())
                refuse(where, "expected an object");
            SweepRecord sweep;
            if (const auto a = e.find("started_at"); a != e.end())
                dec(*a, sweep.startedAt, where + ".started_at");
            if (const auto r = e.find("result"); r != e.end())
                dec(*r, sweep.result, where + ".result");
            for (const auto& st : sweep.result.strategies)
                if (!engine::strategyFromName(st.strategy))
                    refuse(where, "unknown strategy \"" + st.strategy + "\"");
            engine::analyzeSweep(sweep.result);
            s.sweeps.push_back(std::move(sweep));
        }
    }
    return s;
}

Session SessionFile::parse(const std::string& bytes)
{
    if (bytes.size() > kMaxFileBytes)
        throw SessionError("the file is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
    checkDepth(bytes);
    json j = json::parse(bytes, nullptr, false);
    if (j.is_discarded())
        throw SessionError("not a playground session, or a damaged or truncated one (not valid JSON)");
    return fromJson(j);
}

void SessionFile::write(const std::string& path, const Session& session)
{
    const std::string text = toJson(session).dump(1);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(text.data(), std::streamsize(text.size()));
        out.close();
        if (!out)
            throw SessionError("cannot write " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw SessionError("cannot write " + path);
    }
}

Session SessionFile::read(const std::string& path)
{
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
        throw SessionError("cannot open " + path);
    if (size > kMaxFileBytes)
        throw SessionError("the file is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw SessionError("cannot open " + path);
    std::string bytes(size, '\0');
    in.read(bytes.data(), std::streamsize(size));
    if (in.gcount() != std::streamsize(size))
        throw SessionError("cannot read " + path);
    return parse(bytes);
}

} // namespace session
