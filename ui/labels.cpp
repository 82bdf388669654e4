#include "ui/labels.h"

#include <QCoreApplication>

#include <map>

namespace ui {

namespace {

QString tr(const char* text) { return QCoreApplication::translate("ui::Labels", text); }

bool isNumber(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// The variant a measurement was taken under, from the end of its name.
QString variantLabel(const std::string& v)
{
    if (isNumber(v))
        return v == "1" ? tr("1 thread") : tr("%1 threads").arg(QString::fromStdString(v));
    static const std::map<std::string, const char*> variants {
        { "static", QT_TRANSLATE_NOOP("ui::Labels", "static partitioner") },
        { "auto", QT_TRANSLATE_NOOP("ui::Labels", "auto partitioner") },
        { "affinity", QT_TRANSLATE_NOOP("ui::Labels", "affinity partitioner") },
        { "coarse", QT_TRANSLATE_NOOP("ui::Labels", "auto, coarse grain") },
        { "f32", QT_TRANSLATE_NOOP("ui::Labels", "F32 weights") },
        { "q8", QT_TRANSLATE_NOOP("ui::Labels", "Q8_0 weights") },
        { "q4", QT_TRANSLATE_NOOP("ui::Labels", "Q4_0 weights") },
        { "best_fit", QT_TRANSLATE_NOOP("ui::Labels", "best within the cores") },
        { "fit", QT_TRANSLATE_NOOP("ui::Labels", "best within the cores") },
        { "most", QT_TRANSLATE_NOOP("ui::Labels", "most threads") },
        { "intra_2", QT_TRANSLATE_NOOP("ui::Labels", "intra-op, 2 threads") },
        { "request_2", QT_TRANSLATE_NOOP("ui::Labels", "request-parallel, 2 threads") },
        { "intra", QT_TRANSLATE_NOOP("ui::Labels", "intra-op") },
        { "request", QT_TRANSLATE_NOOP("ui::Labels", "request-parallel") },
    };
    const auto it = variants.find(v);
    return it != variants.end() ? tr(it->second)
                                : QString::fromStdString(v).replace(QLatin1Char('_'), QLatin1Char(' '));
}

} // namespace

QString measurementLabel(const std::string& key)
{
    static const std::map<std::string, const char*> exact {
        { "cores", QT_TRANSLATE_NOOP("ui::Labels", "logical cores") },
        { "threads", QT_TRANSLATE_NOOP("ui::Labels", "threads") },
        { "threads_one", QT_TRANSLATE_NOOP("ui::Labels", "threads, baseline run") },
        { "threads_two", QT_TRANSLATE_NOOP("ui::Labels", "threads, parallel run") },
        { "threads_over", QT_TRANSLATE_NOOP("ui::Labels", "threads, 2 per core") },
        { "threads_fit", QT_TRANSLATE_NOOP("ui::Labels", "threads, best within the cores") },
        { "threads_most", QT_TRANSLATE_NOOP("ui::Labels", "threads, the most tried") },
        { "prompts", QT_TRANSLATE_NOOP("ui::Labels", "prompts") },
        { "prompt_tokens", QT_TRANSLATE_NOOP("ui::Labels", "prompt tokens") },
        { "background_cores", QT_TRANSLATE_NOOP("ui::Labels", "cores busy with other programs") },
        { "coarse_grain", QT_TRANSLATE_NOOP("ui::Labels", "coarse grain, blocks per chunk") },
        { "speedup_cores", QT_TRANSLATE_NOOP("ui::Labels", "speedup, 1 thread per core") },
        { "speedup_over", QT_TRANSLATE_NOOP("ui::Labels", "speedup, 2 threads per core") },
        { "fit_serial", QT_TRANSLATE_NOOP("ui::Labels", "serial fraction, Amdahl fit") },
        { "fit_limit", QT_TRANSLATE_NOOP("ui::Labels", "speedup limit, Amdahl fit") },
        { "fit_points", QT_TRANSLATE_NOOP("ui::Labels", "points in the fit") },
        { "traced_serial", QT_TRANSLATE_NOOP("ui::Labels", "serial fraction, from the trace") },
        { "traced_limit", QT_TRANSLATE_NOOP("ui::Labels", "speedup limit, from the trace") },
        { "predicted_threads_near", QT_TRANSLATE_NOOP("ui::Labels", "threads of the nearer prediction") },
        { "predicted_threads_far", QT_TRANSLATE_NOOP("ui::Labels", "threads of the farther prediction") },
        { "predicted_speedup_near", QT_TRANSLATE_NOOP("ui::Labels", "predicted speedup, nearer") },
        { "predicted_speedup_far", QT_TRANSLATE_NOOP("ui::Labels", "predicted speedup, farther") },
        { "machine_gbps", QT_TRANSLATE_NOOP("ui::Labels", "memory bandwidth of the machine") },
        { "llc_mib", QT_TRANSLATE_NOOP("ui::Labels", "last-level cache") },
        { "weights_mib", QT_TRANSLATE_NOOP("ui::Labels", "model weights") },
        { "q4_vs_f32", QT_TRANSLATE_NOOP("ui::Labels", "decode speed, Q4_0 ÷ F32") },
        { "throughput_intra", QT_TRANSLATE_NOOP("ui::Labels", "throughput, intra-op ÷ 1 thread") },
        { "throughput_request", QT_TRANSLATE_NOOP("ui::Labels", "throughput, request-parallel ÷ 1 thread") },
        { "own_speedup_intra", QT_TRANSLATE_NOOP("ui::Labels", "a prompt's own decode speedup, intra-op") },
        { "own_speedup_request", QT_TRANSLATE_NOOP("ui::Labels", "a prompt's own decode speedup, request-parallel") },
        { "most_vs_best", QT_TRANSLATE_NOOP("ui::Labels", "decode speed, most threads ÷ best within the cores") },
        { "prefill_speedup", QT_TRANSLATE_NOOP("ui::Labels", "prefill speedup") },
        { "decode_speedup", QT_TRANSLATE_NOOP("ui::Labels", "decode speedup") },
        { "prefill_work_per_region_us", QT_TRANSLATE_NOOP("ui::Labels", "prefill work per parallel region") },
        { "prefill_overhead_per_region_us", QT_TRANSLATE_NOOP("ui::Labels", "prefill fork/join cost per region") },
        { "decode_work_per_region_us", QT_TRANSLATE_NOOP("ui::Labels", "decode work per parallel region") },
        { "decode_overhead_per_region_us", QT_TRANSLATE_NOOP("ui::Labels", "decode fork/join cost per region") },
        { "decode_regions_per_token", QT_TRANSLATE_NOOP("ui::Labels", "decode parallel regions per token") },
        { "decode_overhead_share", QT_TRANSLATE_NOOP("ui::Labels", "decode time in fork/join overhead") },
        { "decode_imbalance_share", QT_TRANSLATE_NOOP("ui::Labels", "decode time lost to imbalance") },
        { "decode_serial_share", QT_TRANSLATE_NOOP("ui::Labels", "decode time in serial sections") },
        { "decode_memory_bound_share", QT_TRANSLATE_NOOP("ui::Labels", "decode time in memory-bound regions") },
        { "work_per_region_us", QT_TRANSLATE_NOOP("ui::Labels", "work per parallel region") },
        { "overhead_per_region_us", QT_TRANSLATE_NOOP("ui::Labels", "fork/join cost per region") },
        { "overhead_share", QT_TRANSLATE_NOOP("ui::Labels", "time in fork/join overhead") },
        { "busy_share", QT_TRANSLATE_NOOP("ui::Labels", "time busy") },
        { "serial_share", QT_TRANSLATE_NOOP("ui::Labels", "time in serial sections") },
        { "imbalance_share", QT_TRANSLATE_NOOP("ui::Labels", "time lost to imbalance") },
        { "regions_per_token", QT_TRANSLATE_NOOP("ui::Labels", "parallel regions per token") },
    };
    if (const auto it = exact.find(key); it != exact.end())
        return tr(it->second);
    if (key.rfind("threads_", 0) == 0 && isNumber(key.substr(8)))
        return tr("threads of a sweep point"); // the value is the count; its rates follow as "…, 4 threads"
    // Measurement + variant: the longest prefix first ("decode_tps_" before "tps_").
    static const std::pair<const char*, const char*> prefixed[] = {
        { "decode_tps_", QT_TRANSLATE_NOOP("ui::Labels", "decode tok/s, %1") },
        { "prefill_tps_", QT_TRANSLATE_NOOP("ui::Labels", "prefill tok/s, %1") },
        { "ms_per_token_", QT_TRANSLATE_NOOP("ui::Labels", "ms per token, %1") },
        { "bytes_per_token_", QT_TRANSLATE_NOOP("ui::Labels", "bytes read per token, %1") },
        { "overhead_per_region_", QT_TRANSLATE_NOOP("ui::Labels", "fork/join cost per region, %1") },
        { "overhead_share_", QT_TRANSLATE_NOOP("ui::Labels", "time in fork/join overhead, %1") },
        { "imbalance_share_", QT_TRANSLATE_NOOP("ui::Labels", "time lost to imbalance, %1") },
        { "serial_share_", QT_TRANSLATE_NOOP("ui::Labels", "time in serial sections, %1") },
        { "busy_share_", QT_TRANSLATE_NOOP("ui::Labels", "time busy, %1") },
        { "imbalance_", QT_TRANSLATE_NOOP("ui::Labels", "decode time lost to imbalance, %1") },
        { "weights_", QT_TRANSLATE_NOOP("ui::Labels", "weights, %1") },
        { "gbps_", QT_TRANSLATE_NOOP("ui::Labels", "decode bandwidth, %1") },
        { "intensity_", QT_TRANSLATE_NOOP("ui::Labels", "arithmetic intensity, %1") },
        { "gflops_", QT_TRANSLATE_NOOP("ui::Labels", "decode GFLOP/s, %1") },
        { "tps_", QT_TRANSLATE_NOOP("ui::Labels", "tok/s, %1") },
    };
    for (const auto& [prefix, format] : prefixed) {
        const std::string p = prefix;
        if (key.size() > p.size() && key.compare(0, p.size(), p) == 0) {
            std::string variant = key.substr(p.size());
            // A unit at the end of the name is the value's, shown beside it ("…_most_us").
            if (variant.size() > 3 && variant.compare(variant.size() - 3, 3, "_us") == 0)
                variant.resize(variant.size() - 3);
            return tr(format).arg(variantLabel(variant));
        }
    }
    return QString::fromStdString(key).replace(QLatin1Char('_'), QLatin1Char(' '));
}

QString settingLabel(const std::string& key)
{
    static const std::map<std::string, const char*> labels {
        { "prompts", QT_TRANSLATE_NOOP("ui::Labels", "prompts") },
        { "system", QT_TRANSLATE_NOOP("ui::Labels", "system prompt") },
        { "chat", QT_TRANSLATE_NOOP("ui::Labels", "uses the chat template") },
        { "temperature", QT_TRANSLATE_NOOP("ui::Labels", "temperature") },
        { "top_k", QT_TRANSLATE_NOOP("ui::Labels", "top-k") },
        { "top_p", QT_TRANSLATE_NOOP("ui::Labels", "top-p") },
        { "min_p", QT_TRANSLATE_NOOP("ui::Labels", "min-p") },
        { "repeat_penalty", QT_TRANSLATE_NOOP("ui::Labels", "repeat penalty") },
        { "repeat_last_n", QT_TRANSLATE_NOOP("ui::Labels", "repeat penalty window, tokens") },
        { "seed", QT_TRANSLATE_NOOP("ui::Labels", "seed") },
        { "max_tokens", QT_TRANSLATE_NOOP("ui::Labels", "max tokens") },
        { "add_bos", QT_TRANSLATE_NOOP("ui::Labels", "adds BOS token") },
        { "stop_at_eos", QT_TRANSLATE_NOOP("ui::Labels", "stops at end of text") },
        { "strategy", QT_TRANSLATE_NOOP("ui::Labels", "strategy") },
        { "threads", QT_TRANSLATE_NOOP("ui::Labels", "threads") },
        { "partitioner", QT_TRANSLATE_NOOP("ui::Labels", "partitioner") },
        { "grain", QT_TRANSLATE_NOOP("ui::Labels", "grain") },
        { "pin_threads", QT_TRANSLATE_NOOP("ui::Labels", "pins threads to cores") },
        { "context_length", QT_TRANSLATE_NOOP("ui::Labels", "context length") },
        { "allow_context_overflow", QT_TRANSLATE_NOOP("ui::Labels", "allows context beyond the trained length") },
        { "trace", QT_TRANSLATE_NOOP("ui::Labels", "traced") },
    };
    const auto it = labels.find(key);
    return it != labels.end() ? tr(it->second)
                              : QString::fromStdString(key).replace(QLatin1Char('_'), QLatin1Char(' '));
}

} // namespace ui
