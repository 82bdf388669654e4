#include "session/labels.h"

#include <map>
#include <utility>

namespace session {

namespace {

std::string spaced(std::string s)
{
    for (char& c : s)
        if (c == '_')
            c = ' ';
    return s;
}

// "%1" in `format` replaced by `arg`.
std::string fill(const char* format, const std::string& arg)
{
    std::string s = format;
    if (const size_t at = s.find("%1"); at != std::string::npos)
        s.replace(at, 2, arg);
    return s;
}

bool isNumber(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// The variant a measurement was taken under, from the end of its name.
std::string variantLabel(const std::string& v)
{
    if (isNumber(v))
        return v == "1" ? std::string("1 thread") : v + " threads";
    static const std::map<std::string, const char*> variants {
        { "static", "static partitioner" },
        { "auto", "auto partitioner" },
        { "affinity", "affinity partitioner" },
        { "coarse", "auto, coarse grain" },
        { "f32", "F32 weights" },
        { "q8", "Q8_0 weights" },
        { "q4", "Q4_0 weights" },
        { "best_fit", "best within the cores" },
        { "fit", "best within the cores" },
        { "most", "most threads" },
        { "intra_2", "intra-op, 2 threads" },
        { "request_2", "request-parallel, 2 threads" },
        { "intra", "intra-op" },
        { "request", "request-parallel" },
    };
    const auto it = variants.find(v);
    return it != variants.end() ? std::string(it->second) : spaced(v);
}

} // namespace

std::string measurementLabel(const std::string& key)
{
    static const std::map<std::string, const char*> exact {
        { "cores", "logical cores" },
        { "threads", "threads" },
        { "threads_one", "threads, baseline run" },
        { "threads_two", "threads, parallel run" },
        { "threads_over", "threads, 2 per core" },
        { "threads_fit", "threads, best within the cores" },
        { "threads_most", "threads, the most tried" },
        { "prompts", "prompts" },
        { "prompt_tokens", "prompt tokens" },
        { "background_cores", "cores busy with other programs" },
        { "coarse_grain", "coarse grain, blocks per chunk" },
        { "speedup_cores", "speedup, 1 thread per core" },
        { "speedup_over", "speedup, 2 threads per core" },
        { "fit_serial", "serial fraction, Amdahl fit" },
        { "fit_limit", "speedup limit, Amdahl fit" },
        { "fit_points", "points in the fit" },
        { "traced_serial", "serial fraction, from the trace" },
        { "traced_limit", "speedup limit, from the trace" },
        { "predicted_threads_near", "threads of the nearer prediction" },
        { "predicted_threads_far", "threads of the farther prediction" },
        { "predicted_speedup_near", "predicted speedup, nearer" },
        { "predicted_speedup_far", "predicted speedup, farther" },
        { "machine_gbps", "memory bandwidth of the machine" },
        { "llc_mib", "last-level cache" },
        { "weights_mib", "model weights" },
        { "q4_vs_f32", "decode speed, Q4_0 ÷ F32" },
        { "throughput_intra", "throughput, intra-op ÷ 1 thread" },
        { "throughput_request", "throughput, request-parallel ÷ 1 thread" },
        { "own_speedup_intra", "a prompt's own decode speedup, intra-op" },
        { "own_speedup_request", "a prompt's own decode speedup, request-parallel" },
        { "most_vs_best", "decode speed, most threads ÷ best within the cores" },
        { "prefill_speedup", "prefill speedup" },
        { "decode_speedup", "decode speedup" },
        { "prefill_work_per_region_us", "prefill work per parallel region" },
        { "prefill_overhead_per_region_us", "prefill fork/join cost per region" },
        { "decode_work_per_region_us", "decode work per parallel region" },
        { "decode_overhead_per_region_us", "decode fork/join cost per region" },
        { "decode_regions_per_token", "decode parallel regions per token" },
        { "decode_overhead_share", "decode time in fork/join overhead" },
        { "decode_imbalance_share", "decode time lost to imbalance" },
        { "decode_serial_share", "decode time in serial sections" },
        { "decode_memory_bound_share", "decode time in memory-bound regions" },
        { "work_per_region_us", "work per parallel region" },
        { "overhead_per_region_us", "fork/join cost per region" },
        { "overhead_share", "time in fork/join overhead" },
        { "busy_share", "time busy" },
        { "serial_share", "time in serial sections" },
        { "imbalance_share", "time lost to imbalance" },
        { "regions_per_token", "parallel regions per token" },
    };
    if (const auto it = exact.find(key); it != exact.end())
        return it->second;
    if (key.rfind("threads_", 0) == 0 && isNumber(key.substr(8)))
        return "threads of a sweep point"; // the value is the count; its rates follow as "…, 4 threads"
    // Measurement + variant: the longest prefix first ("decode_tps_" before "tps_").
    static const std::pair<const char*, const char*> prefixed[] = {
        { "decode_tps_", "decode tok/s, %1" },
        { "prefill_tps_", "prefill tok/s, %1" },
        { "ms_per_token_", "ms per token, %1" },
        { "bytes_per_token_", "bytes read per token, %1" },
        { "overhead_per_region_", "fork/join cost per region, %1" },
        { "overhead_share_", "time in fork/join overhead, %1" },
        { "imbalance_share_", "time lost to imbalance, %1" },
        { "serial_share_", "time in serial sections, %1" },
        { "busy_share_", "time busy, %1" },
        { "imbalance_", "decode time lost to imbalance, %1" },
        { "weights_", "weights, %1" },
        { "gbps_", "decode bandwidth, %1" },
        { "intensity_", "arithmetic intensity, %1" },
        { "gflops_", "decode GFLOP/s, %1" },
        { "tps_", "tok/s, %1" },
    };
    for (const auto& [prefix, format] : prefixed) {
        const std::string p = prefix;
        if (key.size() > p.size() && key.compare(0, p.size(), p) == 0) {
            std::string variant = key.substr(p.size());
            // A unit at the end of the name is the value's, shown beside it ("…_most_us").
            if (variant.size() > 3 && variant.compare(variant.size() - 3, 3, "_us") == 0)
                variant.resize(variant.size() - 3);
            return fill(format, variantLabel(variant));
        }
    }
    return spaced(key);
}

std::string settingLabel(const std::string& key)
{
    static const std::map<std::string, const char*> labels {
        { "prompts", "prompts" },
        { "system", "system prompt" },
        { "chat", "uses the chat template" },
        { "temperature", "temperature" },
        { "top_k", "top-k" },
        { "top_p", "top-p" },
        { "min_p", "min-p" },
        { "repeat_penalty", "repeat penalty" },
        { "repeat_last_n", "repeat penalty window, tokens" },
        { "seed", "seed" },
        { "max_tokens", "max tokens" },
        { "add_bos", "adds BOS token" },
        { "stop_at_eos", "stops at end of text" },
        { "strategy", "strategy" },
        { "threads", "threads" },
        { "partitioner", "partitioner" },
        { "grain", "grain" },
        { "pin_threads", "pins threads to cores" },
        { "context_length", "context length" },
        { "allow_context_overflow", "allows context beyond the trained length" },
        { "trace", "traced" },
        // A sweep's workload adds these (engine/measure/sweep.cpp).
        { "model", "model" },
        { "repeat", "measured runs per point" },
        { "warmup", "warm-up runs per point" },
        { "scaled_work", "work grows with the threads (scaled)" },
        { "pinned_threads", "thread counts pinned to cores" },
        { "strategies", "strategies" },
        { "cancelled", "stopped" },
    };
    const auto it = labels.find(key);
    return it != labels.end() ? std::string(it->second) : spaced(key);
}

std::string machineLabel(const std::string& key)
{
    static const std::map<std::string, const char*> labels {
        { "cpu", "CPU" },
        { "logical_cores", "logical cores" },
        { "isa", "SIMD level in use" },
        { "isa_best", "best SIMD level of this CPU" },
        { "decode_prefetch", "decode prefetches rows in software" },
        { "memory_gib", "memory, GiB" },
    };
    const auto it = labels.find(key);
    return it != labels.end() ? std::string(it->second) : spaced(key);
}

} // namespace session
